"""Run configuration: one flat dataclass, two visible profiles, overridable per field.

    cfg = make_config("cpu", alpha=2.0, epochs=4)   # the cpu profile with two fields changed

"paper" is the paper's setup (§4.2); "cpu" is sized so the embedded synthetic dataset shows the trade-off within
minutes on 2 CPU cores. Every run directory stores its config as config.json beside its results.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass
class Config:
    # --- data
    dataset: str = "synthetic"         # synthetic | kth | ixmas
    data_dir: str = ""                 # dataset directory ("" = data/<dataset>); synthetic data is generated there
    protocol: str = "clip"             # privacy split: clip | scenario (KTH-format data; see bdqlib.data.kth)
    num_frames: int = 32               # t: consecutive frames per clip (paper: 32 for KTH and IPN, 16 for SBU)
    size: int = 224                    # S: crops are S x S
    cache_short_side: int = 120        # frames are cached with this short side (KTH is 160x120)
    mean: tuple = (0.45, 0.45, 0.45)   # input normalisation after /255 (Kinetics statistics)
    std: tuple = (0.225, 0.225, 0.225)
    short_clips: str = "skip"          # segments shorter than t: skip (counted) or loop
    crop_scales: tuple = (1.0, 0.8409, 0.5946, 0.5)  # multi-scale crop, fractions of the short side (paper §4.2)
    synthetic_subjects: int = 10       # synthetic data only: number of identities
    synthetic_seed: int = 0            # synthetic data only: the dataset's seed (independent of the run's seed)
    # --- encoder (paper §3.1)
    kernel_size: int = 5               # blur window
    sigma: float = 1.0                 # initial blur sigma (see bdqlib.encoder.DEFAULT_SIGMA)
    learn_sigma: bool = True
    num_bins: int = 15
    hardness: float = 5.0
    normalization: str = "clip"        # clip | batch (the authors' code)
    # --- models
    action_model: str = "i3d_r50"      # T: i3d_r50 | r3d_18 | small3d
    privacy_model: str = "resnet50"    # P: resnet50 | resnet18 | small2d
    action_width: int = 16             # base channels of small3d
    privacy_width: int = 32            # base channels of small2d
    weights: str = "pretrained"        # pretrained (Kinetics-400 / ImageNet; cpu: see bdqlib.pretrain) | none
    weights_dir: str = ""              # where weight files are found/cached ("" = $BDQ_WEIGHTS_DIR or torch's hub)
    pretrain_epochs: int = 10          # cpu profile: epochs of the small models' pretraining (bdqlib.pretrain)
    # --- adversarial training (paper §3.2, §4.2)
    alpha: float = 1.0                 # entropy weight (paper: 1 KTH, 2 SBU, 8 IPN)
    epochs: int = 50
    batch_size: int = 16
    optimizer: str = "sgd"             # sgd (paper) | adam; cosine annealing to 0 over the epochs either way
    lr: float = 1e-3                   # lr of T and P
    encoder_optimizer: str = "same"    # same (as T: the paper's single optimizer) | sgd (SGD with momentum for E)
    encoder_lr: float = 1e-3           # lr of the bins (paper: one optimizer, the same lr for everything)
    sigma_lr: float = 1e-3             # lr of log(sigma)
    momentum: float = 0.9              # SGD only; not in the paper, the authors' code default
    weight_decay: float = 1e-5         # not in the paper; the authors' code default
    warmup_epochs: int = 0             # first epochs with E frozen, so T and P are competent when the game starts
    privacy_frames: str | int = "all"  # frames P trains on per clip and step: all | one (authors' code) | k
    # --- frozen-encoder validation (paper §4.2)
    val_epochs: int = 50
    val_lr: float = 1e-3
    # --- run
    seed: int = 0
    num_workers: int = 0               # DataLoader worker processes
    device: str = "auto"               # auto | cpu | cuda
    time_budget_h: float = 0.0         # stop cleanly after the epoch that would exceed it (0 = no budget)
    eval_every: int = 1                # evaluate on the validation split every N adversarial epochs

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["mean"], d["std"], d["crop_scales"] = list(d["mean"]), list(d["std"]), list(d["crop_scales"])
        return d


# Fields that may differ when resuming a run directory (they do not change what is computed).
RESUME_IGNORES = ("num_workers", "device", "time_budget_h", "eval_every", "data_dir", "weights_dir")

PROFILES = {
    "paper": {},  # the dataclass defaults are the paper's
    "cpu": dict(
        # Sized so the synthetic default shows the trade-off in minutes on 2 CPU cores; each departure from the
        # paper is a measured necessity (README, "The cpu profile"):
        num_frames=8, size=48, cache_short_side=48,       # 64x48 frames, 48x48 crops, 8 frames
        crop_scales=(1.0, 0.8409),                        # the two largest scales: at 48 px a half-size crop
                                                          # loses the person, and T's noisy gradient drowns E's
        action_model="small3d", privacy_model="small2d",  # pretrained on another synthetic population
        pretrain_epochs=10,                               # (bdqlib.pretrain: our Kinetics / ImageNet)
        optimizer="adam", lr=2e-3, val_lr=2e-3,           # tiny nets: Adam learns in the few steps we have
        encoder_optimizer="sgd", encoder_lr=0.15, sigma_lr=0.06,  # E follows the mean gradient (SGD), fast
        epochs=20, warmup_epochs=4, val_epochs=8,         # 4 epochs with E frozen: competent T and P first;
                                                          # 16 of play: 8 left the attacker able to re-learn
        eval_every=4,                                     # the game's val accuracies: every 4th epoch (time)
        privacy_frames=4,                                 # P trains on 4 random frames of each clip per step
    ),
}


def make_config(profile: str = "cpu", **overrides) -> Config:
    """The named profile with `overrides` applied; unknown fields are an error naming them."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose from {sorted(PROFILES)}")
    fields = {f.name for f in dataclasses.fields(Config)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(f"unknown config field(s) {unknown}; valid: {sorted(fields)}")
    values = {**PROFILES[profile], **{k: v for k, v in overrides.items() if v is not None}}
    for key in ("mean", "std", "crop_scales"):
        if key in values:
            values[key] = tuple(values[key])
    return Config(**values)
