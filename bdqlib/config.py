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
    dataset: str = "synthetic"         # synthetic | kth | ixmas | sbu | ipn | weizmann
    data_dir: str = ""                 # dataset directory ("" = data/<dataset>); synthetic data is generated there
    split_dir: str = ""                # split / annotation files of SBU and IPN ("" = <data_dir>/splits)
    split: str = "video"               # how clips are split into train/val/test: video | clip | scenario (KTH,
                                       # bdqlib.data.kth; IXMAS: by take); SBU: authors | sppa | video; IPN: subject
                                       # (bdqlib.data.sbu, .ipn); Weizmann: kfold<k> (bdqlib.data.weizmann). (Called
                                       # `protocol` before; old run folders resume.)
    num_frames: int = 32               # t: consecutive frames per clip (paper: 32 for KTH and IPN, 16 for SBU)
    size: int = 224                    # S: crops are S x S
    crop: str = "square"               # square: S x S crops (the paper's); frame: the whole frame's aspect, short
                                       # side S (Weizmann's 48 x 60 frames: a 48 x 48 centre crop cuts off people
                                       # who cross the frame; docs/weizmann.md)
    cache_short_side: int = 120        # frames are cached with this short side (KTH is 160x120)
    mean: tuple = (0.45, 0.45, 0.45)   # input normalisation after /255 (Kinetics statistics)
    std: tuple = (0.225, 0.225, 0.225)
    short_clips: str = "skip"          # segments shorter than t: skip (counted) or loop
    missing: str = "error"             # KTH videos listed in 00sequences.txt but absent: error | skip (reported)
    crop_scales: tuple = (1.0, 0.8409, 0.5946, 0.5)  # multi-scale crop, fractions of the short side (paper §4.2)
    synthetic_subjects: int = 10       # synthetic data only: number of identities
    synthetic_seed: int = 0            # synthetic data only: the dataset's seed (independent of the run's seed)
    synthetic_avoid: tuple = ()        # synthetic data only: (seed, subjects) of a population to share nobody with
    synthetic_colour: bool = False     # synthetic data only: coloured people; False (default): grey, as KTH's camera
                                       # records -- colour is a cue BDQ's difference removes and ELR, SPPA and
                                       # masking keep, so coloured people flatter BDQ against them
    # --- encoder (paper §3.1)
    kernel_size: int = 5               # blur window
    sigma: float = 1.0                 # initial blur sigma (see bdqlib.core.encoder.DEFAULT_SIGMA)
    learn_sigma: bool = True
    num_bins: int = 15
    hardness: float = 5.0
    normalization: str = "clip"        # clip | batch (the authors' code)
    dead_zone: bool = False            # not in the paper: a learnable soft threshold on the frame difference
                                       # (BDQEncoder), trained at sigma_lr -- the encoder-capacity experiment
    encoder: str = "bdq"               # what the game trains: bdq | alf (Wu et al.'s comparator, bdqlib.methods.alf)
    alf_width: int = 32                # ALF: base channels of Johnson et al.'s network (32, 4 blocks: the paper's
    alf_blocks: int = 4                # Table 1 -- 1.38 M parameters, 173 GFLOPs on 16 x 224 x 224 by our count)
    alf_kernel: int = 9                # ALF: the first and last convolutions' kernel (Johnson et al.: 9)
    alf_restart_every: int = 200       # ALF's game: P restarted every N steps (Wu et al.; the paper: "after
                                       # certain iterations")
    # --- the seeds' other systems (notebook 05): SPPA, the masking baseline, RAPrivacy
    sppa_keys: str = "dino_vits8"      # SPPA's keys: dino_vits8 (the SPPA authors', via timm) | small2d (cpu)
    sppa_flow: str = "raft"            # SPPA's optical flow: raft (torchvision; the SPPA authors') | dis (OpenCV)
    sppa_templates: str = "torso,arm,leg,hair"  # selected body parts: the SPPA authors' choice for KTH and SBU
    sppa_template_file: str = ""       # JSON clicks on your own pictures (bdqlib.methods.sppa_templates); "": synthetic people
    mask_model: str = "deeplabv3"      # masking's person mask: deeplabv3 (torchvision, COCO) | background
    mask_threshold: float = 0.06       # background subtraction: grey-level change (0..1) that marks the person
    rap_encoder: str = "vgg19"         # RAPrivacy's frozen feature encoder: vgg19 (ImageNet; the paper) | small2d
    rap_epochs: int = 50               # RAPrivacy's training epochs (not stated in the paper: BDQ's 50)
    rap_lr: float = 1e-4               # its anonymiser's lr, Adam (AdaAttN's default)
    rap_lambda_global: float = 10.0    # lambda_g of Eq. 8-9 (AdaAttN's default)
    rap_lambda_local: float = 3.0      # lambda_l (AdaAttN's default)
    rap_lambda_action: float = 1.0     # lambda_a (not stated in the paper: 1)
    rap_lambda_privacy: float = 1.0    # lambda_p (not stated: 1)
    rap_margin: float = 1.0            # m of Eq. 7 on unit-length features (not stated: 1, half the largest distance)
    rap_styles: str = ""               # folder of depth images (SBU's depth_*.png); "": synthetic depth maps of the
                                       # pretraining population (bdqlib.data.scenes)
    rap_style_count: int = 64          # style images in the bank
    # --- models
    action_model: str = "i3d_r50"      # T: i3d_r50 | r3d_18 | small3d
    action_networks: str = "i3d_r50,r3d_18@scratch"  # the action networks validation trains on a frozen encoder
                                       # (one pretrained, one from random init); action = the one chosen on
                                       # validation ("": T alone)
    privacy_model: str = "resnet50"    # P: resnet50 | resnet18 | small2d
    action_width: int = 16             # base channels of small3d
    privacy_width: int = 32            # base channels of small2d
    weights: str = "pretrained"        # pretrained (Kinetics-400 / ImageNet; cpu: see bdqlib.train.pretrain) | none
    weights_dir: str = ""              # where weight files are found/cached ("" = $BDQ_WEIGHTS_DIR or torch's hub)
    pretrain_epochs: int = 60          # cpu profile: the most epochs of the small models' pretraining, which stops
                                       # when validation stops improving (bdqlib.train.pretrain); never binding
    # --- adversarial training (paper §3.2, §4.2)
    alpha: float = 1.0                 # entropy weight (paper: 1 KTH, 2 SBU, 8 IPN)
    epochs: int = 50
    batch_size: int = 16               # the effective batch of every optimizer step (the paper's 16)
    accum_steps: int = 1               # micro-batches per step, gradients summed (gradient accumulation), so the
                                       # effective batch fits a small GPU; 0: chosen per stage by the measured
                                       # plan on a GPU (bdqlib.experiments.plan), 1 on a CPU. BatchNorm sees each micro-batch
                                       # alone, as it sees each process's share under DDP
    optimizer: str = "sgd"             # sgd (paper) | adam; cosine annealing to 0 over the epochs either way
    lr: float = 1e-3                   # lr of T and P
    encoder_optimizer: str = "same"    # same (as T: the paper's single optimizer) | sgd (SGD with momentum for E)
    encoder_lr: float = 1e-3           # lr of the bins (paper: one optimizer, the same lr for everything)
    sigma_lr: float = 1e-3             # lr of log(sigma)
    momentum: float = 0.9              # SGD only; not in the paper, the authors' code default
    weight_decay: float = 1e-5         # not in the paper; the authors' code default
    warmup_epochs: int = 0             # first epochs with E frozen, so T and P are competent when the game starts
    privacy_frames: str | int = "all"  # frames P trains on per clip and step: all | one (authors' code) | k
    privacy_entropy: str = "frame"     # H in E's loss: frame (the paper: mean of per-frame entropies) | clip (the
                                       # entropy of the frame-averaged softmax, which the privacy score reads)
    privacy_steps: int = 1             # P's updates per E/T update on the same batch (the paper: 1)
    privacy_ensemble: str = ""         # not in the paper: more attackers trained in step 2 beside P, named as in
                                       # `attackers` (e.g. "small3d,res2d@scratch"; a 3-D one is temporal). Wu et
                                       # al. (ECCV 2018) train an ensemble of budget models; "": P alone (the paper)
    privacy_ensemble_mode: str = "worst"  # E's entropy term over P and the ensemble: worst (the most confident
                                       # attacker: Wu et al.'s worst case) | mean
    privacy_restart_every: int = 0     # re-initialise P (its initial weights, fresh optimizer state) every N game
                                       # steps; 0: never (the paper). Wu et al. (ECCV 2018) restart their budget
                                       # model so that E cannot overfit one attacker's blind spots
    # --- frozen-encoder validation (paper §4.2; bdqlib.train.probes): fresh networks trained to their best validation
    attackers: str = "resnet50,resnet18,mobilenet_v3_large,resnet50@scratch,i3d_r50"  # privacy = the max over
                                       # these (2-D on frames, 3-D on clips; @scratch = random init)
    val_epochs: int = 50               # most epochs a validation network trains (the paper: 50)
    val_patience: int = 8              # ... it stops after this many epochs without a better validation accuracy
    val_min_epochs: int = 10           # ... but not before this many epochs
    val_lr_patience: int = 3           # ... and its lr drops after this many
    val_lr_drop: float = 0.3           # ... by this factor
    val_lr: float = 1e-3
    val_views: int = 0                 # E's output cached in memory: augmented views per training clip (0: no cache)
    val_frames: str | int = "all"      # frames a frame-level validation network trains on per clip and step
    probe_weights: str = "raw"         # whose best weights a finished validation checkpoint keeps: raw (those the
                                       # frozen_clean protocol applies) | all | none; the others keep their result
                                       # and history only (disk: ~100 MB per ResNet-50, six networks per encoder)
    # --- run
    seed: int = 0
    num_workers: int = 0               # DataLoader worker processes
    device: str = "auto"               # auto | cpu | cuda
    amp: str = "auto"                  # mixed precision of T, P and the validation networks (E stays fp32): auto
                                       # (bf16 on a GPU that has it, fp16 + GradScaler otherwise; on a CPU with
                                       # AVX-512 BF16 or AMX bf16 for the validation networks only, else fp32)
                                       # | off | bf16 | fp16 (bdqlib.engine.precision)
    channels_last: bool = True         # channels-last memory format: T and P on a GPU (faster under amp), the
                                       # validation networks everywhere (on this 2-core CPU res2d's evaluation
                                       # ran 2.1x faster, its training step 1.2x; measured)
    activation_checkpointing: bool = False  # recompute P's activations in step 1's backward (memory for time)
    nproc: int = 1                     # processes (GPUs) for training and validation, launched with torchrun and
                                       # DistributedDataParallel (bdqlib.engine.distributed); the batch is the global one
    seed_workers: int = 0              # processes training independent seeds (and encoders) side by side: 0 = one
                                       # per core on a CPU, one on a GPU (bdqlib.experiments.parallel)
    sync_batchnorm: bool = True        # with nproc > 1 on CUDA: BatchNorm statistics over the global batch
    time_budget_h: float = 0.0         # stop cleanly after the epoch that would exceed it (0 = no budget)
    eval_every: int = 1                # evaluate on the validation split every N adversarial epochs

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        for key in ("mean", "std", "crop_scales", "synthetic_avoid"):
            d[key] = list(d[key])
        return d


# The cpu profile's pretraining population (bdqlib.train.pretrain) is synthetic_seed + this: other people, other videos.
POPULATION_SEED_OFFSET = 1000

# Fields that may differ when resuming a run directory (they do not change what is computed).
RESUME_IGNORES = ("num_workers", "device", "time_budget_h", "eval_every", "data_dir", "weights_dir", "missing",
                  "split_dir", "probe_weights", "nproc", "accum_steps", "seed_workers")

# Per dataset, on top of the profile (paper §4.1-4.2): SBU t = 16 and alpha = 2 with the BDQ authors' split; IPN
# t = 32 and alpha = 8 with its own subject split. Frames of both are 640x480: cached with short side 224 for
# S = 224 (the cpu profile keeps its 48 px). Weizmann (not in the paper): its video-level k-fold split, the seed picking
# the fold (bdqlib.data.weizmann). Explicit fields win over these.
DATASET_DEFAULTS = {
    "paper": {"sbu": dict(num_frames=16, alpha=2.0, split="authors", cache_short_side=224),
              "ipn": dict(alpha=8.0, split="subject", cache_short_side=224),
              "weizmann": dict(split="kfold5", cache_short_side=144)},  # 180 x 144: kept at its size
    "cpu": {"sbu": dict(alpha=2.0, split="authors"), "ipn": dict(alpha=8.0, split="subject"),
            # Weizmann has ~17 probe steps per epoch (259 training clips) where the synthetic default has 30: the
            # probes' floor and cap are set in steps like the synthetic default's (20 x 17 = 340 >= 10 x 30; 210 x
            # 17 = 3570 ~ 120 x 30, the one-cycle's length), so a small dataset does not train its attackers less.
            "weizmann": dict(split="kfold5", val_min_epochs=20, val_epochs=210)},
}

PROFILES = {
    "paper": dict(accum_steps=0),  # the dataclass defaults are the paper's; gradient accumulation as the device needs
    "cpu": dict(  # the synthetic default on 2 CPU cores; every schedule chosen on the validation split
                  # (docs/profiles.md says how and with what measurements)
        num_frames=8, size=48, cache_short_side=48,       # 64x48 frames, 48x48 crops, 8 frames
        crop_scales=(1.0, 0.8409),                        # at 48 px a half-size crop loses the person
        action_model="small3d", privacy_model="small2d",  # pretrained on another synthetic population
        action_networks="small3d,small2plus1d@scratch",   # validation's action side: pretrained and from scratch
        pretrain_epochs=60,                               # a cap; pretraining stops at its best validation epoch
        optimizer="adam", lr=2e-3, val_lr=2e-3,           # tiny nets: Adam learns in the few steps there are
        encoder_optimizer="sgd", encoder_lr=0.15, sigma_lr=0.06,  # E follows the mean gradient (SGD), fast
        epochs=20, warmup_epochs=4,                       # 4 epochs with E frozen (competent T and P first)
        attackers="small2d,res2d@scratch:strong,small3d",  # frame-level pretrained (the paper's P), a residual
                                                          # frame CNN from random init trained by a one-cycle of
                                                          # val_epochs (the search's best on validation, docs/
                                                          # studies/attack_search.md), a clip-level one
        val_epochs=120, val_patience=5, val_lr_patience=1,  # plateau recipes: each to its best validation epoch
        val_min_epochs=10,                                # ... never before 10 (random init starts slowly); the
                                                          # one-cycle runs all 120 (0.59 in 60 on BDQ, 0.70 in 120)
        val_views=4, val_frames=2,                        # E's output cached: 4 augmented views per clip;
                                                          # 2 random frames per clip and step
        eval_every=4,                                     # the game's val accuracies: every 4th epoch (time)
        privacy_frames=4,                                 # P trains on 4 random frames of each clip per step
        alf_width=8, alf_blocks=2, alf_restart_every=90,  # ALF sized for the CPU (53 k parameters)
        sppa_keys="small2d", sppa_flow="dis",             # SPPA sized for the CPU (labelled in 05)
        mask_model="background",                          # a static camera: background subtraction
        rap_encoder="small2d", rap_epochs=4, rap_lr=1e-3,  # RAPrivacy sized for the CPU (labelled in 05)
    ),
}


# Config fields renamed since run folders were written: old name -> new name. An old run folder's config reads as the
# new one (config_changes, bdqlib.experiments.run.open_run), so it resumes.
RENAMED = {"protocol": "split"}


def renamed(fields: dict) -> dict:
    """A saved config's fields under their current names (RENAMED)."""
    return {RENAMED.get(k, k): v for k, v in fields.items()}


def config_changes(saved: dict, now: dict, *, ignore=()) -> list:
    """The keys whose values differ between a saved config (a run folder's, a checkpoint's) and the current one:
    the one rule every resume check uses. A Config field missing on one side counts as its default there (a field
    added after the run folder was written takes its default in it); fields that do not change what is computed
    (RESUME_IGNORES) and `ignore` may differ. Values compare as JSON stores them (tuples as lists)."""
    default = Config().to_dict()
    skip = set(RESUME_IGNORES) | set(ignore)
    saved, now = renamed(saved), renamed(now)

    def value(d, k):
        v = d.get(k, default.get(k))
        return list(v) if isinstance(v, tuple) else v

    return sorted(k for k in set(saved) | set(now) if k not in skip and value(saved, k) != value(now, k))


# What the notebooks run when a parameter of theirs is left at None, per profile: which methods, alphas, sweeps.
# The paper profile: everything the paper shows; the cpu profile: what fits the default run's time on 2 cores
# (bdqlib.config is the one place for every profile default; docs/profiles.md says why each is what it is).
RUN_DEFAULTS = {
    "paper": dict(
        SEEDS="0,1,2",  # every training repeated per seed (the game, validation, pretraining); -p SEEDS 0: one
        STUDY_SEEDS="0,1,2",  # the seeds of 04-06 (ablation, comparators, robustness) when SEEDS is left unset
        ALPHAS="0,1", GAMES="bdq", MODULES="B,D,Q,B+D,B+Q,D+Q,B+D+Q",                                        # 04
        BASELINES="pixelate4,pixelate16,blur_weak,blur_strong,downsample56,downsample28,downsample14",
        ALF_ALPHAS="{alpha}", ELR="elr112,elr56,elr28,elr14,elr7,elr4", SYSTEMS="sppa,sppa_iid,masking,raprivacy",  # 05
        ATTACKER_SWEEP="resnet50,resnet18,resnet101,mobilenet_v3_large,efficientnet_b0,vit_b_16,densenet121,"  # 06
                       "shufflenet_v2_x1_0,regnet_y_800mf,convnext_tiny",                      # ten, as Fig. 5
        ACTION_SWEEP="i3d_r50,x3d_m,slow_r50,r2plus1d_r50,csn_r101,r3d_18,mc3_18",             # as Fig. 6
        SWEEP_ENCODERS="raw,bdq", DVS_THRESHOLDS="0.1,0.2,0.4,0.8,1.6,2.4", RECON_ALPHAS="{alpha},0",
        RECON_EPOCHS=200, UNET=dict(width=32, depth=3, patience=200)),  # the paper's U-Net: 200 epochs
    "cpu": dict(
        SEEDS="0",        # one seed: three on the headline alone took 26 min 47 s on 2 cores (run 20261207-075820),
        STUDY_SEEDS="0",  # past the 25-minute limit; -p SEEDS 0,1,2 runs three everywhere (docs/profiles.md)
        ALPHAS="0,1", GAMES="bdq", MODULES="B+D+Q", BASELINES="",
        ALF_ALPHAS="", ELR="", SYSTEMS="raprivacy,sppa,masking",  # the longest job first
        ATTACKER_SWEEP="small2d,res2d@scratch:strong,small3d,vit2d@scratch",  # the suite (reused) and a ViT
        ACTION_SWEEP="small3d,small2plus1d@scratch",
        SWEEP_ENCODERS="bdq", DVS_THRESHOLDS="",
        RECON_ALPHAS="",  # the reconstruction attack (Fig. 7) is -p RECON_ALPHAS 1: its attacker, the suite's
                          # strongest from scratch, costs ~3 min of 2 cores, which the default no longer has
        RECON_EPOCHS=6, UNET=dict(width=8, depth=2, patience=2)),
}


def run_default(profile: str, name: str, value=None, *, alpha: float | None = None):
    """A notebook parameter's value: `value` unless it is None, else the profile's (RUN_DEFAULTS), with "{alpha}"
    filled in."""
    if value is None:
        if profile not in RUN_DEFAULTS:
            raise ValueError(f"unknown profile {profile!r}; choose from {sorted(RUN_DEFAULTS)}")
        value = RUN_DEFAULTS[profile][name]
    if isinstance(value, str) and "{alpha}" in value:
        value = value.format(alpha=f"{alpha:g}")
    return value


def parse_names(text) -> list:
    """A notebook parameter or option of comma-separated names ("small2d, small3d,") as stripped, non-empty
    strings ("" -> [])."""
    return [n.strip() for n in str(text).split(",") if n.strip()]


def parse_numbers(text, name: str) -> list:
    """A notebook parameter of comma-separated numbers ("1,0") as floats ("" -> []); an error naming `name`."""
    try:
        return [float(v) for v in parse_names(text)]
    except ValueError:
        raise ValueError(f"{name} must be comma-separated numbers, got {text!r}") from None


def make_config(profile: str = "cpu", **overrides) -> Config:
    """The named profile with `overrides` applied; unknown fields are an error naming them."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose from {sorted(PROFILES)}")
    fields = {f.name for f in dataclasses.fields(Config)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(f"unknown config field(s) {unknown}; valid: {sorted(fields)}")
    dataset = overrides.get("dataset") or Config.dataset
    values = {**PROFILES[profile], **DATASET_DEFAULTS[profile].get(dataset, {}),
              **{k: v for k, v in overrides.items() if v is not None}}
    for key in ("mean", "std", "crop_scales", "synthetic_avoid"):
        if key in values:
            values[key] = tuple(values[key])
    return Config(**values)
