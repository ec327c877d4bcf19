"""The privacy methods, one module each, registered by name in bdqlib.methods.registry (raw, BDQ and its ablations,
the hardened game, ALF, ELR, the naive baselines, the event camera, SPPA, masking, RAPrivacy).

Importing this package registers every method. Adding one: a module here that calls `register`, imported below.
"""
from . import alf, bdq, dvs, elr, masking, naive, raprivacy, raw, sppa  # noqa: F401  (each registers itself)
from .registry import REGISTRY, Method, build_fixed, check_crop, colour, family, games, is_method, known, register, resolve

__all__ = ["REGISTRY", "Method", "build_fixed", "colour", "family", "games", "is_method", "known", "register", "resolve"]
