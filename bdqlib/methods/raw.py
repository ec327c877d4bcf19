"""The raw video: the identity encoder, every experiment's reference (privacy removed 0 %, action kept 1)."""
from __future__ import annotations

from ..core.encoder import raw_encoder
from .registry import Method, register

register(Method("raw", family="raw", colour="black", description="the raw video (no encoder)", build=lambda run, alpha, arg: raw_encoder()))
