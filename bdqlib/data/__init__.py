"""Datasets: the synthetic KTH-format default, KTH, IXMAS; a decode-once cache; clip sampling.

`prepare_data(cfg)` is the one call the notebooks make: it finds (or generates) the data, builds the labelled
manifest with its splits, fills the frame cache and returns the train/val/test datasets.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .cache import FrameCache, build_cache
from .dataset import CachedFrames, DecodedFrames, VideoClipDataset, add_labels
from .ixmas import STUDENT_ACTIONS, ixmas_manifest
from .kth import ACTIONS, kth_manifest, parse_sequences
from .synthetic import make_kth_like
from .video import VideoReadError, read_frames

__all__ = ["DataBundle", "prepare_data", "make_kth_like", "parse_sequences", "kth_manifest", "ixmas_manifest",
           "read_frames", "VideoReadError", "VideoClipDataset", "build_cache", "FrameCache", "CachedFrames",
           "DecodedFrames", "add_labels"]


@dataclass
class DataBundle:
    manifest: pd.DataFrame      # every clip: labels, split, video path, segment
    actions: tuple              # class names, in label order
    subjects: list              # identities, in label order
    cache: FrameCache
    train: VideoClipDataset
    val: VideoClipDataset
    test: VideoClipDataset

    @property
    def num_actions(self) -> int:
        return len(self.actions)

    @property
    def num_subjects(self) -> int:
        return len(self.subjects)

    def summary(self) -> str:
        skipped = {s: getattr(self, s).skipped for s in ("train", "val", "test")}
        return (f"{len(self.manifest)} clips of {self.manifest['video'].nunique()} videos; "
                f"{self.num_actions} actions, {self.num_subjects} identities; "
                f"train/val/test = {len(self.train)}/{len(self.val)}/{len(self.test)} clips"
                + (f" (skipped as shorter than t: {skipped})" if any(skipped.values()) else ""))


def default_data_dir(dataset: str, root="data") -> Path:
    return Path(root) / dataset


def cache_dir_for(data_dir: Path, short_side, cache_root) -> Path:
    key = hashlib.sha1(str(Path(data_dir).resolve()).encode()).hexdigest()[:8]
    return Path(cache_root) / f"{Path(data_dir).name}-{key}-{short_side or 'native'}px"


def load_manifest(cfg, *, root="data", log=print) -> tuple[pd.DataFrame, tuple]:
    """The labelled manifest of cfg.dataset (generating the synthetic data if needed) and its action names."""
    data_dir = Path(cfg.data_dir) if cfg.data_dir else default_data_dir(cfg.dataset, root)
    if cfg.dataset == "synthetic":
        make_kth_like(data_dir, subjects=cfg.synthetic_subjects, seed=cfg.synthetic_seed, log=log)
        manifest, actions = kth_manifest(data_dir, protocol=cfg.protocol, log=log), ACTIONS
    elif cfg.dataset == "kth":
        manifest, actions = kth_manifest(data_dir, protocol=cfg.protocol, log=log), ACTIONS
    elif cfg.dataset == "ixmas":
        manifest, actions = ixmas_manifest(data_dir, log=log), STUDENT_ACTIONS
    else:
        raise ValueError(f"unknown dataset {cfg.dataset!r}; choose synthetic, kth or ixmas")
    return add_labels(manifest, actions), actions


def prepare_data(cfg, *, root="data", cache_root=None, log=print) -> DataBundle:
    """Manifest, frame cache and the three split datasets for `cfg` (see bdqlib.config.Config)."""
    manifest, actions = load_manifest(cfg, root=root, log=log)
    data_dir = Path(cfg.data_dir) if cfg.data_dir else default_data_dir(cfg.dataset, root)
    cache = build_cache(manifest, cache_dir_for(data_dir, cfg.cache_short_side, cache_root or Path(root) / "cache"),
                        short_side=cfg.cache_short_side, log=log)
    # Annotations past a video's last decodable frame are cut to what the file holds.
    frames = manifest["video"].map(cache.num_frames)
    manifest["end"] = manifest["end"].clip(upper=frames)
    manifest = manifest[manifest["start"] <= manifest["end"]].reset_index(drop=True)
    source = CachedFrames(cache)
    common = dict(num_frames=cfg.num_frames, size=cfg.size, mean=cfg.mean, std=cfg.std, short_clips=cfg.short_clips,
                  scales=cfg.crop_scales)
    splits = {s: VideoClipDataset(manifest[manifest["split"] == s], source, train=(s == "train"), **common)
              for s in ("train", "val", "test")}
    subjects = sorted(manifest["subject"].unique())
    return DataBundle(manifest, tuple(actions), subjects, cache, **splits)
