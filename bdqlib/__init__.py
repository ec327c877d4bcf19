"""bdqlib: the BDQ privacy-preserving encoder and its training/validation harness.

Video tensors are (B, C, T, H, W) float everywhere; a single clip is (C, T, H, W).
"""
from .core.encoder import BDQEncoder

__all__ = ["BDQEncoder"]
__version__ = "0.1.0"
