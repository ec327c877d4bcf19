"""Clip loading: the decode-once cache against decoding each clip from its .avi per sample, and data wait in training.

    .venv/bin/python bench/bench_loading.py [--data-dir DIR] [--clips 60]

Part 1 reads the same training clips (t frames, random start, the cpu profile's crops) through `VideoClipDataset`
twice: from the memory-mapped cache, and decoding the frames from the video file for every sample (how the
student reproduction read clips). Videos are KTH's size (160x120): ../shared/data/kth-sample when present (real
KTH), else a synthetic KTH-format set. Both sources resize to the same short side, so the clips are identical
(checked).

Part 2 runs adversarial training steps of the cpu profile on the cached synthetic data and reports the fraction of
each step spent waiting for the next batch (DataLoader with the profile's num_workers).
"""
from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from bdqlib.config import make_config
from bdqlib.data import (
    CachedFrames,
    DecodedFrames,
    VideoClipDataset,
    add_labels,
    build_cache,
    kth_manifest,
    make_kth_like,
)
from bdqlib.data.kth import ACTIONS
from bdqlib.engine.precision import make_precision
from bdqlib.engine.steps import resolve_device
from bdqlib.core.encoder import bdq_encoder as make_encoder
from bdqlib.train.game import adversarial_step, make_models, make_optimizer

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "kth-sample"


def clip_rate(dataset, order, seed=0):
    torch.manual_seed(seed)  # the same random windows and crops for both sources
    start = time.perf_counter()
    clips = [dataset[i][0] for i in order]
    return len(order) / (time.perf_counter() - start), clips


def loading(data_dir: Path, cache_dir: Path, n: int, cfg):
    manifest = add_labels(kth_manifest(data_dir, missing="skip", log=None), ACTIONS)
    manifest = manifest[manifest["video"].isin(manifest["video"].unique())].reset_index(drop=True)
    cache = build_cache(manifest, cache_dir, short_side=cfg.cache_short_side, log=None)
    common = dict(num_frames=cfg.num_frames, size=cfg.size, train=True, scales=cfg.crop_scales)
    cached = VideoClipDataset(manifest, CachedFrames(cache), **common)
    decoded = VideoClipDataset(manifest, DecodedFrames(dict(zip(manifest["video"], manifest["path"])),
                                                       cfg.cache_short_side), **common)
    order = np.random.default_rng(0).integers(0, len(cached), n).tolist()
    clip_rate(cached, order[:5])  # warm the page cache and the memmaps
    rate_decoded, clips_decoded = clip_rate(decoded, order)
    rate_cached, clips_cached = clip_rate(cached, order)
    same = all(torch.equal(a, b) for a, b in zip(clips_decoded, clips_cached))
    return rate_cached, rate_decoded, same, manifest["video"].nunique()


def data_wait(data_dir: Path, cache_dir: Path, steps: int, cfg):
    from bdqlib.data import prepare_data
    data = prepare_data(cfg, root=data_dir.parent, cache_root=cache_dir.parent / "wait-cache", log=None)
    torch.manual_seed(0)
    device = resolve_device(cfg.device)
    encoder = make_encoder(cfg).to(device)
    action, privacy = make_models(cfg, data.num_actions, data.num_subjects, device)
    params = list(encoder.parameters()) + list(action.parameters())
    opt_et, opt_p = make_optimizer(params, cfg.lr, cfg), make_optimizer(privacy.parameters(), cfg.lr, cfg)
    loader = torch.utils.data.DataLoader(data.train, batch_size=cfg.batch_size, shuffle=True, drop_last=True,
                                         num_workers=cfg.num_workers, persistent_workers=cfg.num_workers > 0,
                                         pin_memory=device.type == "cuda")
    precision = make_precision(cfg.amp, device)
    waits, computes = [], []
    it = iter(loader)
    for step in range(steps + 1):
        t0 = time.perf_counter()
        try:
            batch = next(it)
        except StopIteration:
            it = iter(loader)
            batch = next(it)
        batch = [t.to(device, non_blocking=True) for t in batch]
        t1 = time.perf_counter()
        adversarial_step(batch, encoder, action, privacy, opt_et, opt_p, alpha=cfg.alpha,
                         privacy_frames=cfg.privacy_frames, precision=precision)
        if device.type == "cuda":
            torch.cuda.synchronize()
        t2 = time.perf_counter()
        if step:  # the first batch includes the loader's start-up
            waits.append(t1 - t0)
            computes.append(t2 - t1)
    return sum(waits) / (sum(waits) + sum(computes)), np.mean(computes)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="a KTH-format folder (default: kth-sample or synthetic)")
    parser.add_argument("--clips", type=int, default=60, help="clips read per source")
    parser.add_argument("--steps", type=int, default=20, help="training steps for the data-wait measurement")
    parser.add_argument("--workers", type=int, nargs="*", default=[0, 1], help="DataLoader workers to compare")
    parser.add_argument("--profile", default="cpu", choices=("cpu", "paper"),
                        help="shapes and models of the data-wait measurement (paper: t=32, 224 px, i3d_r50 + resnet50)")
    parser.add_argument("--batch", type=int, help="batch of the data-wait measurement (default: the profile's)")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    torch.set_num_threads(2)
    cfg = make_config("cpu", synthetic_subjects=3, weights="none")
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; clips of t={cfg.num_frames} at {cfg.size}px from frames cached at "
          f"short side {cfg.cache_short_side}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        synthetic = make_kth_like(tmp / "synthetic", subjects=3, scenarios=("d1", "d4"), log=None)
        data_dir = args.data_dir or (SAMPLE if (SAMPLE / "00sequences.txt").is_file() else synthetic)
        cached, decoded, same, videos = loading(data_dir, tmp / "cache", args.clips, cfg)
        print(f"\nclip loading ({data_dir.name}, {videos} videos, {args.clips} random training clips, one process)")
        print(f"  decode per sample  {decoded:8.1f} clips/s")
        print(f"  cached (memmap)    {cached:8.1f} clips/s   speed-up {cached / decoded:.1f}x  (target 20x); "
              f"identical clips: {same}")
        shapes = {} if args.batch is None else {"batch_size": args.batch}
        print(f"\ndata wait in training ({args.profile} profile, {args.device} device, batch "
              f"{shapes.get('batch_size', make_config(args.profile).batch_size)}; goal < 5% of step time)")
        for workers in args.workers:
            cfg_wait = make_config(args.profile, data_dir=str(synthetic), dataset="kth", weights="none",
                                   num_workers=workers, device=args.device, **shapes)
            fraction, step = data_wait(synthetic, tmp / "cache", args.steps, cfg_wait)
            print(f"  num_workers {workers}: waiting {fraction:5.1%} of step time; compute {step * 1e3:.0f} ms/step"
                  + ("  (the cpu profile's setting)" if args.profile == "cpu" and workers == 0 else ""))


if __name__ == "__main__":
    main()
