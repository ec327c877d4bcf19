"""What is trained: the adversarial game, the probes (attackers, action networks), pretraining, the U-Net."""
