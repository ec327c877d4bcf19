"""Published numbers, each with its source: what the notebooks and the README compare our measurements with.

Every number here is copied from a paper in ../shared/seeds (the BDQ paper, SPPA, RAPrivacy) and says where. None is
ever computed here or written into a notebook: notebooks read them from this module.
Units are the papers' (percent); our runs report fractions.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Published:
    action: float | None       # top-1 action accuracy, %
    privacy: float | None      # top-1 privacy (identity) accuracy, %
    source: str                # paper, table or figure, and what it measured


SPPA_T2 = "SPPA (Hung et al., CVPR 2024; seed 003), Table 2, KTH"
SPPA_NAIVE = SPPA_T2 + " -- averaged over its recognition networks, each trained on raw video and applied frozen"
SPPA_SOTA = SPPA_T2 + " -- quoted by SPPA from those papers: I3D (action) and ResNet-50 (privacy)"

# KTH, by method (SPPA's Table 2; its own protocol is `frozen_clean`'s, the quoted SOTA rows are the papers' own).
KTH = {
    "raw": Published(90.15, 91.87, SPPA_NAIVE + " (\"Original\")"),
    "sppa": Published(88.67, 5.46, SPPA_NAIVE + " (\"Ours\")"),
    "masking": Published(37.54, 35.22, SPPA_NAIVE),
    "pixelate4": Published(83.64, 59.39, SPPA_NAIVE),
    "pixelate16": Published(38.33, 38.43, SPPA_NAIVE),
    "blur_weak": Published(44.59, 37.73, SPPA_NAIVE),
    "blur_strong": Published(30.38, 31.84, SPPA_NAIVE),
    "bdq": Published(91.11, 7.15, SPPA_SOTA),
    "alf": Published(85.89, 19.27, SPPA_SOTA),
    "elr16": Published(91.22, 88.86, SPPA_SOTA + " (s = 16)"),
}
# The raw networks behind the SOTA rows (SPPA Table 1, KTH): I3D action 89.67 %, ResNet-50 privacy 90.00 %.
KTH_RAW_I3D_ACTION, KTH_RAW_RESNET50_PRIVACY = 89.67, 90.00
KTH_PRIVACY_CHANCE = 4.0  # 25 people


def kth_anchor() -> dict:
    """The share of identity BDQ removes on KTH by SPPA's Table 2 (retrained I3D / ResNet-50 numbers quoted there, the
    epoch chosen as those papers chose it): (P_raw - P_bdq) / (P_raw - chance), about 96 %. The BDQ paper itself gives
    no KTH table."""
    p_raw, p, chance = KTH_RAW_RESNET50_PRIVACY, KTH["bdq"].privacy, KTH_PRIVACY_CHANCE
    return {"removed": (p_raw - p) / (p_raw - chance), "kept": KTH["bdq"].action / KTH_RAW_I3D_ACTION,
            "source": SPPA_SOTA + "; raw from SPPA Table 1 (I3D 89.67 %, ResNet-50 90.00 %), chance 4 %"}


# The BDQ paper (Kumawat & Nagahara, ECCV 2022; seed 002), on SBU.
BDQ_FIG5_ATTACKERS = (25.46, 34.18, 7.7, "BDQ paper Fig. 5, SBU: ten ImageNet attackers on BDQ's output, % (chance)")
BDQ_FIG6_ACTIONS = (81.91, 85.1, "BDQ paper Fig. 6, SBU: action networks on BDQ's output, % (each marginally below "
                                 "its raw-video baseline)")
BDQ_STUDY = {"all_correct": (8.65, 4.76), "at_least_one": (65.64, 52.38),
             "source": "BDQ paper §5.5, SBU, 26 participants, pick both actors among 7: % correct (chance %)"}
BDQ_TABLE1 = {"bdq_flops": 120.4e6, "bdq_size": "3.4 Kb", "alf_params": 1.3e6, "alf_flops": 166.4e9,
              "source": "BDQ paper Table 1, one 16 x 224 x 224 clip"}
