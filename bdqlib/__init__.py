"""bdqlib: the BDQ privacy-preserving encoder and its training/validation harness.

Video tensors are (B, C, T, H, W) float everywhere; a single clip is (C, T, H, W).
"""
from .platform import apply_deterministic_mode

apply_deterministic_mode()  # BDQ_DETERMINISTIC: before torch is imported, so its CPU kernels are the capped ones

from .core.encoder import BDQEncoder  # noqa: E402

__all__ = ["BDQEncoder"]
__version__ = "0.1.0"
