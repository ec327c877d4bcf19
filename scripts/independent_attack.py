"""An identity attacker written apart from bdqlib's data and training code, to check the project's privacy numbers.

    .venv/bin/python scripts/independent_attack.py --run outputs/<run_id> [--alphas 0,1] [--seed 0] [--epochs 120]

It reads the run's KTH-format videos itself (OpenCV, its own 00sequences.txt reading), makes its own video-level
split (per person, the videos shuffled with its own seed: half train, a quarter validation, a quarter test, so no
video is in two splits and the split differs from the project's), applies the run's frozen encoders (the object
under test: raw, and BDQ at each alpha, of the run's seed `--run-seed`), and trains three attackers of its own
design -- an early-fusion clip network (the frames stacked as channels: it sees motion), a wide residual frame
network and a wider one -- with its own loop and ordinary training practice: the encoded input standardised per
channel on its training split, random crops, horizontal flips and shifts, AdamW with a one-cycle schedule run to its
end (`--epochs`; no early stop), the best validation epoch's weights. It prints each attacker's test accuracy (with
a 95 % Wilson interval over its test clips) beside the project's reported privacy (results.csv, the attacker chosen
on validation). Where it finds materially more identity than the project reports, the project's attack suite is not
done yet.
"""
from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F

from bdqlib import BDQEncoder

MEAN, STD = 0.45, 0.225


def read_segments(data_dir: Path) -> list:
    """(video, person, start, end) for every annotated segment, parsed here with a plain regex."""
    out = []
    for line in (data_dir / "00sequences.txt").read_text(errors="replace").splitlines():
        m = re.match(r"\s*(person(\d+)_\w+_d\d)\s+frames\s+(.*)", line)
        if m:
            for a, b in re.findall(r"(\d+)\s*-\s*(\d+)", m.group(3)):
                out.append((m.group(1), int(m.group(2)), int(a), int(b)))
    return out


def load_video(path: Path, short: int) -> np.ndarray:
    cap, frames = cv2.VideoCapture(str(path)), []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        h, w = frame.shape[:2]
        frames.append(cv2.cvtColor(cv2.resize(frame, (round(w * short / h), short), interpolation=cv2.INTER_AREA),
                                   cv2.COLOR_BGR2RGB))
    cap.release()
    return np.stack(frames)


def clips_of(segments, videos, t: int, size: int, train: bool, rng) -> tuple:
    xs, ys = [], []
    for video, person, a, b in segments:
        frames = videos[video]
        b = min(b, len(frames))
        if b - a + 1 < t:
            continue
        first = rng.integers(a - 1, b - t + 1) if train else a - 1 + (b - a + 1 - t) // 2
        clip = frames[first:first + t]
        h, w = clip.shape[1:3]
        if train:  # random square crop of 84-100 % of the short side, resized
            c = int(rng.integers(int(0.84 * h), h + 1))
            y0, x0 = rng.integers(0, h - c + 1), rng.integers(0, w - c + 1)
            clip = np.stack([cv2.resize(f[y0:y0 + c, x0:x0 + c], (size, size), interpolation=cv2.INTER_AREA)
                             for f in clip])
        else:
            x0 = (w - h) // 2
            clip = np.stack([cv2.resize(f[:, x0:x0 + h], (size, size), interpolation=cv2.INTER_AREA) for f in clip])
        xs.append(clip)
        ys.append(person)
    x = torch.from_numpy(np.stack(xs)).float().div(255).sub(MEAN).div(STD).permute(0, 4, 1, 2, 3)  # B C T H W
    return x, torch.tensor(ys)


class EarlyFusion(nn.Module):
    """Frames stacked as channels: (B, C, T, H, W) -> (B, K)."""

    def __init__(self, channels: int, classes: int, w: int = 48):
        super().__init__()
        layers, ci = [], channels
        for co in (w, 2 * w, 4 * w, 4 * w):
            layers += [nn.Conv2d(ci, co, 3, 2, 1), nn.GroupNorm(8, co), nn.GELU()]
            ci = co
        self.body, self.head = nn.Sequential(*layers), nn.Linear(ci, classes)

    def forward(self, x):
        return self.head(self.body(x.flatten(1, 2)).mean((2, 3)))


class WideFrames(nn.Module):
    """A residual 2-D network on every frame, logits averaged over the frames: (B, C, T, H, W) -> (B, K)."""

    def __init__(self, classes: int, w: int = 24, train_frames: int = 3):
        super().__init__()
        self.train_frames = train_frames  # frames per clip seen in a training step (all in evaluation)
        self.stem = nn.Sequential(nn.Conv2d(3, w, 3, 1, 1), nn.BatchNorm2d(w), nn.ReLU())
        blocks, ci = [], w
        for co in (w, 2 * w, 3 * w):
            blocks += [nn.Sequential(nn.Conv2d(ci, co, 3, 2, 1), nn.BatchNorm2d(co), nn.ReLU(),
                                     nn.Conv2d(co, co, 3, 1, 1), nn.BatchNorm2d(co), nn.ReLU())]
            ci = co
        self.blocks, self.head = nn.Sequential(*blocks), nn.Linear(ci, classes)

    def forward(self, x):
        if self.training:
            x = x[:, :, torch.randperm(x.shape[2])[:self.train_frames]]
        b, c, t, h, w = x.shape
        frames = x.transpose(1, 2).reshape(b * t, c, h, w)
        return self.head(self.blocks(self.stem(frames)).mean((2, 3))).view(b, t, -1).mean(1)


def flip_shift(x: torch.Tensor, k: int = 2) -> torch.Tensor:
    """Random horizontal flips and shifts by up to k px of a batch (B, C, T, H, W)."""
    x = torch.where((torch.rand(len(x)) < 0.5).view(-1, 1, 1, 1, 1), x.flip(-1), x)
    dy, dx = (int(v) for v in torch.randint(-k, k + 1, (2,)))
    return torch.roll(x, shifts=(dy, dx), dims=(-2, -1))


def attack(make, train_views, val, test, *, epochs=120, seed=0) -> tuple:
    """Train to the end of one one-cycle of `epochs` (no early stop: it would stop near the peak learning rate),
    test the best validation epoch's weights. Returns (test accuracy, best validation accuracy, its epoch)."""
    torch.manual_seed(seed)
    model = make()
    opt = torch.optim.AdamW(model.parameters(), 2e-3, weight_decay=5e-4)
    steps = (len(train_views[0][1]) + 23) // 24
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, epochs=epochs, steps_per_epoch=steps)
    best, best_state, best_epoch = -1.0, None, 0
    for epoch in range(1, epochs + 1):
        x, y = train_views[(epoch - 1) % len(train_views)]
        model.train()
        for idx in torch.randperm(len(y)).split(24):
            loss = F.cross_entropy(model(flip_shift(x[idx])), y[idx], label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        model.eval()
        with torch.no_grad():
            acc = float((torch.cat([model(c) for c in val[0].split(64)]).argmax(1) == val[1]).float().mean())
        if acc > best:
            best, best_epoch, best_state = acc, epoch, {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    with torch.no_grad():
        test_acc = float((torch.cat([model(c) for c in test[0].split(64)]).argmax(1) == test[1]).float().mean())
    return test_acc, best, best_epoch


def wilson(p: float, n: int, z: float = 1.96) -> tuple:
    """The 95 % Wilson score interval of a proportion p over n clips (clips of one video are not independent: this
    is narrower than the truth; the project's own intervals resample videos)."""
    if n == 0:
        return float("nan"), float("nan")
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, help="a run folder of ./run_all.sh")
    parser.add_argument("--alphas", default="0,1")
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--data", default="", help="the run's data folder (default: from run.json / BDQ_DATA_ROOT)")
    parser.add_argument("--no-raw", action="store_true", help="skip the raw (identity) encoder")
    parser.add_argument("--run-seed", type=int, default=0, help="which seed's encoders of the run to attack")
    parser.add_argument("--csv", default="", help="write the table here too")
    parser.add_argument("--epochs", type=int, default=120, help="the length of each attacker's one-cycle")
    parser.add_argument("--attackers", default="early,wide,wider", help="of: early, wide, wider")
    args = parser.parse_args()
    run = Path(args.run)
    cfg = json.loads((run / "run.json").read_text())
    data_dir = Path(args.data or cfg["data_dir"] or Path(os.environ.get("BDQ_DATA_ROOT", "data")) / cfg["dataset"])
    t, size, short = cfg["num_frames"], cfg["size"], cfg["cache_short_side"]
    segments = read_segments(data_dir)
    names = sorted({s[0] for s in segments})
    videos = {v: load_video(data_dir / f"{v}_uncomp.avi", short) for v in names}
    rng = np.random.default_rng(args.seed)
    split = {}
    for person in sorted({s[1] for s in segments}):  # own video-level split, per person
        mine = [v for v in names if int(v[6:8]) == person]
        rng.shuffle(mine)
        n = len(mine)
        for i, v in enumerate(mine):
            split[v] = "test" if i < n // 4 else "val" if i < n // 2 else "train"
    part = {s: [g for g in segments if split[g[0]] == s] for s in ("train", "val", "test")}
    people = sorted({s[1] for s in segments})
    relabel = {p: i for i, p in enumerate(people)}
    part = {s: [(v, relabel[p], a, b) for v, p, a, b in g] for s, g in part.items()}
    train_raw = [clips_of(part["train"], videos, t, size, True, rng) for _ in range(4)]
    val_raw = clips_of(part["val"], videos, t, size, False, rng)
    test_raw = clips_of(part["test"], videos, t, size, False, rng)
    encoders = {} if args.no_raw else {"raw": BDQEncoder(False, False, False)}
    for a in [float(x) for x in args.alphas.split(",")]:
        enc = BDQEncoder()
        folder = run / "adversarial" if args.run_seed == 0 else run / "adversarial" / f"seed{args.run_seed}"
        enc.load_state_dict(torch.load(folder / f"alpha_{a:g}" / "encoder.pt", map_location="cpu"))
        encoders[f"bdq alpha={a:g}"] = enc
    reported = pd.read_csv(run / "results.csv")
    reported = reported[(reported["protocol"] == "retrain") & (reported["attacker"] == "strongest")
                        & (reported["seed"] == args.run_seed)]
    rows = []
    for name, enc in encoders.items():
        enc.eval()
        with torch.no_grad():
            def e(xy):
                return torch.cat([enc(c) for c in xy[0].split(32)]), xy[1]
            train, val, test = [e(v) for v in train_raw], e(val_raw), e(test_raw)
            stacked = torch.cat([v[0] for v in train])  # standardise per channel with the training split's numbers
            dims = [0, 2, 3, 4]
            mu, sd = stacked.mean(dims, keepdim=True), stacked.std(dims, keepdim=True).clamp(min=1e-6)
            train = [((x - mu) / sd, y) for x, y in train]
            val, test = ((val[0] - mu) / sd, val[1]), ((test[0] - mu) / sd, test[1])
        k, c, frames = len(people), train[0][0].shape[1], train[0][0].shape[2]
        makers = {"early": ("early-fusion clip CNN", lambda: EarlyFusion(c * frames, k)),
                  "wide": ("wide residual frame CNN", lambda: WideFrames(k)),
                  "wider": ("wider residual frame CNN (~1 M)", lambda: WideFrames(k, w=64))}
        for label, make in (makers[a.strip()] for a in args.attackers.split(",")):
            acc, val_acc, epoch = attack(make, train, val, test, epochs=args.epochs, seed=args.seed)
            method, _, alpha = name.partition(" alpha=")
            mine = reported[(reported["method"] == method) &
                            ((reported["alpha"].isna()) if not alpha else (reported["alpha"] == float(alpha)))]
            n = len(test[1])
            low, high = wilson(acc, n)
            rows.append({"encoder": name, "run_seed": args.run_seed, "attacker": label, "test_top1": round(acc, 3),
                         "test_low": round(low, 3), "test_high": round(high, 3), "val_top1": round(val_acc, 3),
                         "best_epoch": epoch, "project_reports": float(mine["privacy_top1"].iloc[0]) if len(mine)
                         else float("nan")})
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    if args.csv:
        table.to_csv(args.csv, index=False)
    print(f"chance {1 / len(people):.3f}; train/val/test clips {len(train_raw[0][1])}/{len(val_raw[1])}/"
          f"{len(test_raw[1])}")


if __name__ == "__main__":
    main()
