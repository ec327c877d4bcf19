"""Datasets: the synthetic KTH-format default, KTH, IXMAS, SBU, IPN Hand, Weizmann; a decode-once cache; clip sampling.

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
from .ipn import IPN_GESTURES, ipn_manifest
from .ixmas import STUDENT_ACTIONS, ixmas_manifest
from .kth import ACTIONS, kth_manifest, parse_sequences
from .sbu import SBU_ACTIONS, sbu_manifest, short_sequences
from .synthetic import make_kth_like
from .video import VideoReadError, read_frames
from .weizmann import WEIZMANN_ACTIONS, weizmann_manifest

# Datasets whose split depends on the run's seed (SBU's and IPN's validation carving, Weizmann's fold): loaded again
# for each seed.
SPLIT_BY_SEED = ("sbu", "ipn", "weizmann")

__all__ = ["DataBundle", "SPLIT_BY_SEED", "prepare_data", "check_splits", "make_kth_like", "parse_sequences", "kth_manifest", "ixmas_manifest",
           "read_frames", "VideoReadError", "VideoClipDataset", "build_cache", "FrameCache", "CachedFrames",
           "DecodedFrames", "add_labels"]


@dataclass
class DataBundle:
    manifest: pd.DataFrame      # every clip: labels, split, video path, segment (attrs["missing_videos"]: skipped)
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
        missing = self.manifest.attrs.get("missing_videos", [])
        return (f"{len(self.manifest)} clips of {self.manifest['video'].nunique()} videos"
                + (f" ({len(missing)} listed videos missing, skipped)" if missing else "") + "; "
                f"{self.num_actions} actions, {self.num_subjects} identities; "
                f"train/val/test = {len(self.train)}/{len(self.val)}/{len(self.test)} clips"
                + (f" (skipped as shorter than t: {skipped})" if any(skipped.values()) else ""))


def default_data_dir(dataset: str, root="data") -> Path:
    return Path(root) / dataset


def data_dir_of(cfg, root="data") -> Path:
    """The folder of cfg's data: DATA_DIR, else root/<dataset> -- root/synthetic-colour for coloured synthetic
    people, so that grey and coloured runs never rewrite each other's videos."""
    if cfg.data_dir:
        return Path(cfg.data_dir)
    return default_data_dir("synthetic-colour" if cfg.dataset == "synthetic" and cfg.synthetic_colour else cfg.dataset,
                            root)


def cache_dir_for(data_dir: Path, short_side, cache_root) -> Path:
    key = hashlib.sha1(str(Path(data_dir).resolve()).encode()).hexdigest()[:8]
    return Path(cache_root) / f"{Path(data_dir).name}-{key}-{short_side or 'native'}px"


def load_manifest(cfg, *, root="data", log=print) -> tuple[pd.DataFrame, tuple]:
    """The labelled manifest of cfg.dataset (generating the synthetic data if needed) and its action names."""
    data_dir = data_dir_of(cfg, root)
    if cfg.dataset == "synthetic":
        make_kth_like(data_dir, subjects=cfg.synthetic_subjects, seed=cfg.synthetic_seed,
                      avoid=tuple(cfg.synthetic_avoid) or None, colour=cfg.synthetic_colour, log=log)
        manifest, actions = kth_manifest(data_dir, protocol=cfg.split, log=log), ACTIONS
    elif cfg.dataset == "kth":
        manifest, actions = kth_manifest(data_dir, protocol=cfg.split, missing=cfg.missing, log=log), ACTIONS
    elif cfg.dataset == "ixmas":
        split = {"video": "take", "clip": "student"}.get(cfg.split, cfg.split)  # no take in two splits
        manifest, actions = ixmas_manifest(data_dir, protocol=split, log=log), STUDENT_ACTIONS
    elif cfg.dataset == "sbu":
        manifest = sbu_manifest(data_dir, protocol=cfg.split, split_dir=cfg.split_dir or None,
                                missing=cfg.missing, seed=cfg.seed, log=log)
        actions = SBU_ACTIONS
        if log:
            short = short_sequences(manifest[manifest["split"] != "unused"], cfg.num_frames)
            done = {"skip": "skipped", "loop": "looped"}.get(cfg.short_clips, cfg.short_clips)
            log(f"[sbu] {short} sequence(s) shorter than t={cfg.num_frames}: {done} (short_clips)")
    elif cfg.dataset == "ipn":
        if cfg.split != "subject":
            raise ValueError(f"IPN Hand has one split, its own by subject (SPLIT='subject'), got {cfg.split!r}")
        manifest = ipn_manifest(data_dir, split_dir=cfg.split_dir or data_dir / "splits", missing=cfg.missing,
                                seed=cfg.seed, log=log)
        actions = IPN_GESTURES
    elif cfg.dataset == "weizmann":
        manifest = weizmann_manifest(data_dir, split=cfg.split, seed=cfg.seed, log=log)
        actions = WEIZMANN_ACTIONS
    else:
        raise ValueError(f"unknown dataset {cfg.dataset!r}; choose synthetic, kth, ixmas, sbu, ipn or weizmann")
    return add_labels(manifest, actions), actions


def check_splits(manifest: pd.DataFrame, *, shared_videos: bool = False) -> str:
    """Raise ValueError unless every identity is in train, val and test and (unless `shared_videos`, the clip
    split's known leak) no video is in two splits; returns a one-line summary."""
    used = manifest[manifest["split"].isin(["train", "val", "test"])]
    # IPN: several segments (cache entries, `video`) of one recording; the recording must not be split either
    for unit in ("video", "recording") if "recording" in used else ("video",):
        splits_of = used.groupby(unit)["split"].nunique()
        if not shared_videos and (splits_of > 1).any():
            video = splits_of.index[splits_of > 1][0]
            raise ValueError(f"{unit} {video} is in {sorted(used.loc[used[unit] == video, 'split'].unique())}: "
                             f"{int((splits_of > 1).sum())} {unit}(s) in two splits")
    for split in ("train", "val", "test"):
        missing = sorted(set(used["subject"]) - set(used.loc[used["split"] == split, "subject"]))
        if missing:
            raise ValueError(f"identities {missing[:5]} have no clip in the {split} split")
    counts = used.groupby("split")["video"].nunique()
    return (f"{used['subject'].nunique()} identities in every split; videos train/val/test = "
            f"{counts.get('train', 0)}/{counts.get('val', 0)}/{counts.get('test', 0)}"
            + (" (clips of one video are in several splits)" if shared_videos else ", none in two splits"))


def prepare_data(cfg, *, root="data", cache_root=None, log=print) -> DataBundle:
    """Manifest, frame cache and the three split datasets for `cfg` (see bdqlib.config.Config)."""
    manifest, actions = load_manifest(cfg, root=root, log=log)
    data_dir = data_dir_of(cfg, root)
    cache = build_cache(manifest, cache_dir_for(data_dir, cfg.cache_short_side, cache_root or Path(root) / "cache"),
                        short_side=cfg.cache_short_side, log=log)
    # Annotations past a video's last decodable frame are cut to what the file holds.
    frames = manifest["video"].map(cache.num_frames)
    manifest["end"] = manifest["end"].clip(upper=frames)
    manifest = manifest[manifest["start"] <= manifest["end"]].reset_index(drop=True)
    check_splits(manifest, shared_videos=cfg.split == "clip")
    source = CachedFrames(cache)
    common = dict(num_frames=cfg.num_frames, size=cfg.size, mean=cfg.mean, std=cfg.std, short_clips=cfg.short_clips,
                  scales=cfg.crop_scales, crop=cfg.crop)
    splits = {s: VideoClipDataset(manifest[manifest["split"] == s], source, train=(s == "train"), **common)
              for s in ("train", "val", "test")}
    subjects = sorted(manifest["subject"].unique())
    return DataBundle(manifest, tuple(actions), subjects, cache, **splits)
