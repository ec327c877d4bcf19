"""SBU Kinect Interaction 2.0 (Yun et al., 2012): two people interacting; action = interaction, privacy = actor pair.

Layout as distributed: one folder per set `sXXsYY` (actor XX acts, YY reacts; some zips unpack to a doubled
`sXXsYY/sXXsYY/`, as in the BDQ authors' split file, and both are read), then `<action 01-08>/<take 001..>/`
holding `rgb_NNNNNN.png` (640x480, 15 fps), `depth_NNNNNN.png` and `skeleton_pos.txt` (the depth and skeleton
files are left where they are, for later use). A take folder is one sequence; a whole sequence is one clip.

Privacy label (paper §4.1, as Wu et al.): the actor **pair**, mirrored sets merged (s01s02 and s02s01 are the same
two people), written "s01+s02": 21 sets -> 13 classes. `bdqlib.study.design` reads the two people from that label.

Splits (`protocol`):
* "authors" (default): the BDQ authors' `bdq-authors/sbu/{train,val}.txt` (188/94 sequences; lines
  `SBU/sXXsYY/sXXsYY/<action>/<take>,1,<frames>,<pair>,<action>`); their "val" list is what the paper tests on,
  so it is our test split, and validation is carved from their train list: one seeded sequence per actor pair.
* "sppa": SPPA's `sppa/sbu/{train,test}.txt` (`name,t_start,t_end,person,action`), validation carved the same way.
* "video": no split file needed -- per actor pair, the sequences shuffled (seeded): a third test, one validates,
  the rest train. A sequence is a video, so no video is in two splits in any protocol.
The split files are looked for in `split_dir` (see `bdqlib.data.split_files`). Sequences shorter than t (SBU has
takes of 10-15 frames) are counted here and skipped or looped by the clip sampler (`short_clips`).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

# Interaction folders 01-08 as the dataset's readme numbers them; the paper lists the same eight.
SBU_ACTIONS = ("approaching", "departing", "kicking", "punching", "pushing", "hugging", "shaking_hands",
               "exchanging")
_SET = re.compile(r"^s(\d{2})s(\d{2})$")
_AUTHORS = re.compile(r"^(?:SBU/)?(?P<set>s\d{2}s\d{2})/(?:s\d{2}s\d{2}/)?(?P<action>\d{2})/(?P<take>\d{3}),"
                      r"(?P<start>\d+),(?P<end>\d+),(?P<pair>\d+),(?P<label>\d+)$")
SPLIT_FILES = {"authors": ("bdq-authors/sbu/train.txt", "bdq-authors/sbu/val.txt"),
               "sppa": ("sppa/sbu/train.txt", "sppa/sbu/test.txt")}


def pair_label(set_name: str) -> str:
    """"s02s01" -> "s01+s02": the pair, whoever acts."""
    m = _SET.match(set_name)
    if not m:
        raise ValueError(f"not an SBU set name (sXXsYY): {set_name!r}")
    return "+".join(f"s{x}" for x in sorted((m[1], m[2])))


def sequence_name(set_name: str, action: int, take: int) -> str:
    return f"{set_name}_{action:02d}_{take:03d}"


def find_sequences(data_dir) -> pd.DataFrame:
    """Every take folder with RGB frames under `data_dir`: video, set, subject (pair), action, take, path, frames."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"SBU data directory not found: {data_dir}")
    rows = []
    for take_dir in sorted(data_dir.glob("s[0-9][0-9]s[0-9][0-9]/**/[0-9][0-9]/[0-9][0-9][0-9]")):
        set_name, action, take = take_dir.parent.parent.name, int(take_dir.parent.name), int(take_dir.name)
        if not _SET.match(set_name):
            continue
        if not 1 <= action <= len(SBU_ACTIONS):
            raise ValueError(f"{take_dir}: interaction folder {action:02d} is not among 01-{len(SBU_ACTIONS):02d}")
        frames = len(list(take_dir.glob("rgb_*.png")))
        if frames == 0:
            raise FileNotFoundError(f"{take_dir}: no rgb_*.png frames in this take folder")
        rows.append({"video": sequence_name(set_name, action, take), "set": set_name, "subject": pair_label(set_name),
                     "action": SBU_ACTIONS[action - 1], "take": take, "path": str(take_dir / "rgb_*.png"),
                     "start": 1, "end": frames})
    if not rows:
        raise FileNotFoundError(f"no SBU take folders (sXXsYY/<01-08>/<001..>/rgb_*.png) under {data_dir}")
    df = pd.DataFrame(rows)
    dupes = df["video"][df["video"].duplicated()]
    if len(dupes):
        raise ValueError(f"SBU sequence {dupes.iloc[0]} found twice under {data_dir} (both a single and a doubled "
                         f"set folder?)")
    return df


def read_split_file(path) -> list:
    """Sequence names listed in a BDQ-authors or SPPA SBU split file, in order; errors name the file and line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"SBU split file not found: {path}")
    names = []
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("name,"):
            continue
        m = _AUTHORS.match(line)  # the authors' "SBU/s01s02/s01s02/01/001,..." and SPPA's "s01s02/01/001,..."
        if not m:
            raise ValueError(f"{path}, line {number}: not '<set>/<action>/<take>,<start>,<end>,<pair>,<action>': "
                             f"{raw!r}")
        names.append(sequence_name(m["set"], int(m["action"]), int(m["take"])))
    if not names:
        raise ValueError(f"{path}: no sequences listed")
    return names


def carve_validation(split: pd.Series, subject: pd.Series, seed: int) -> pd.Series:
    """One training sequence per identity (seeded) becomes validation, if the identity has two or more."""
    rng = np.random.default_rng(seed)
    out = split.copy()
    for _, idx in subject[split == "train"].groupby(subject[split == "train"]).groups.items():
        if len(idx) > 1:
            out[rng.choice(sorted(idx))] = "val"
    return out


def sbu_manifest(data_dir, *, protocol: str = "authors", split_dir=None, missing: str = "error", seed: int = 0,
                 log=print) -> pd.DataFrame:
    """Sequences of an SBU folder with their `split` (see the module docstring)."""
    seqs = find_sequences(data_dir)
    if protocol == "video":
        rng = np.random.default_rng(seed)
        seqs["split"] = "train"
        for _, idx in seqs.groupby("subject").groups.items():
            order = rng.permutation(sorted(idx))
            n_test = max(1, len(order) // 3)
            seqs.loc[order[:n_test], "split"] = "test"
            seqs.loc[order[n_test:n_test + 1], "split"] = "val"
    elif protocol in SPLIT_FILES:
        split_dir = Path(split_dir) if split_dir else Path(data_dir) / "splits"
        train_file, test_file = (split_dir / f for f in SPLIT_FILES[protocol])
        listed = {**{n: "train" for n in read_split_file(train_file)}, **{n: "test" for n in read_split_file(test_file)}}
        absent = sorted(set(listed) - set(seqs["video"]))
        if absent and missing == "error":
            raise FileNotFoundError(f"{len(absent)} sequence(s) listed in {train_file.name}/{test_file.name} are not "
                                    f"under {data_dir}, e.g. {absent[0]} (MISSING='skip' uses the rest)")
        if absent and log:
            log(f"[sbu] {len(absent)} listed sequence(s) not found: skipped ({', '.join(absent[:5])} ...)")
        seqs["split"] = seqs["video"].map(listed).fillna("unused")
        seqs["split"] = carve_validation(seqs["split"], seqs["subject"], seed)
    else:
        raise ValueError(f"SBU split must be 'authors', 'sppa' or 'video', got {protocol!r}")
    if log:
        used = seqs[seqs["split"] != "unused"]
        log(f"[sbu] {len(used)} sequences of {used['set'].nunique()} sets, {used['subject'].nunique()} actor pairs; "
            f"train/val/test = {' / '.join(str(int((used['split'] == s).sum())) for s in ('train', 'val', 'test'))}; "
            f"frames per sequence {used['end'].min()}-{used['end'].max()}")
    return seqs.reset_index(drop=True)


def short_sequences(manifest: pd.DataFrame, t: int) -> int:
    """How many sequences have fewer than t frames (skipped or looped by the clip sampler)."""
    return int(((manifest["end"] - manifest["start"] + 1) < t).sum())
