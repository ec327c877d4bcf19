"""The privacy methods, one module each, registered by name (raw, BDQ, ALF, ELR, naive baselines, the event camera, SPPA, masking, RAPrivacy)."""
