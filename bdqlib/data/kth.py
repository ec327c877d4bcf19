"""The KTH action dataset (Schuldt, Laptev & Caputo, ICPR 2004): 00sequences.txt, file layout, privacy splits.

Files: `personNN_<action>_dK_uncomp.avi` (160x120, 25 fps) beside the official `00sequences.txt`, which lists for
each video the start-end frames (1-based, inclusive) of its four action segments ("clips"). The official file has
CRLF endings, tabs and spaces mixed, one `*missing*` entry (person13_handclapping_d3), five entries with three
segments and two with segments out of order; it parses to 2391 clips from 599 videos.

Privacy splits must put every identity in train, validation and test, so they cannot split by subject (KTH's own
split is by subject, made for action recognition only). Choices (`protocol`):
* "video" (default): no video in two splits. For each person x action, one scenario's video tests, another's
  validates and the other two train, rotating with person and action (test scenario = d[(person + action) mod 4],
  validation the next one), so every scenario is tested and every person appears in all three splits -- the
  way SPPA's released code holds out one scenario per person x action, plus a validation video. Clips of one
  video share its background, lighting and camera position: with this split an attacker must recognise the
  person, not the video.
* "clip": clips 1-2 of every video train, clip 3 validates, clip 4 tests (the student reproduction used 2/3/4).
  Kept for comparison only: the same videos are in every split, so P can re-identify the *video* (background,
  position, lighting) instead of the person, which inflates raw privacy and lets an attacker recover "identity"
  from whatever an encoder keeps of the scene.
* "scenario" (SPPA, seed 003 §4.1): train d1+d4, validate d2, test d3 (different clothes: identity must then come
  from body and motion).
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

ACTIONS = ("boxing", "handclapping", "handwaving", "jogging", "running", "walking")
SCENARIOS = ("d1", "d2", "d3", "d4")
SCENARIO_NAMES = {"d1": "outdoors", "d2": "outdoors, scale variation", "d3": "outdoors, different clothes",
                  "d4": "indoors"}
COLUMNS = ["video", "subject", "action", "scenario", "clip", "start", "end"]

_ENTRY = re.compile(r"^(?P<video>person(?P<subject>\d{2})_(?P<action>[a-z]+)_(?P<scenario>d\d))"
                    r"\s+(?:frames\s+(?P<segments>.*?)|(?P<missing>\*missing\*))\s*$")
_SEGMENT = re.compile(r"^(\d+)\s*-\s*(\d+)$")


class SequencesFormatError(ValueError):
    """A line of 00sequences.txt that is not a valid entry; the message names the file, line number and text."""


def parse_sequences(path) -> pd.DataFrame:
    """Parse 00sequences.txt into one row per clip: video, subject, action, scenario, clip, start, end.

    `clip` is the segment's 1-based position on its line (as written, even where segments are out of order);
    `start`/`end` are the 1-based inclusive frame numbers as written. `*missing*` entries give no rows.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"KTH sequences file not found: {path}")
    rows, seen = [], {}
    for number, raw in enumerate(path.read_bytes().decode("latin-1").splitlines(), 1):
        line = raw.strip()
        # Data lines start with "person" or have "frames" as second word; the rest is the file's prose header.
        if not (line.startswith("person") or re.match(r"^\S+\s+frames\b", line)):
            continue

        def fail(why):
            raise SequencesFormatError(f"{path}, line {number}: {why}: {raw.rstrip()!r}")

        m = _ENTRY.match(line)
        if not m:
            fail("not a '<personNN_action_dK> frames <start-end>, ...' entry")
        video = m["video"]
        if m["action"] not in ACTIONS:
            fail(f"unknown action {m['action']!r}")
        if m["scenario"] not in SCENARIOS:
            fail(f"unknown scenario {m['scenario']!r}")
        if video in seen:
            fail(f"{video} already listed on line {seen[video]}")
        seen[video] = number
        if m["missing"]:
            continue
        pieces = [p.strip() for p in m["segments"].split(",")]
        for clip, piece in enumerate(pieces, 1):
            seg = _SEGMENT.match(piece)
            if not seg:
                fail(f"segment {clip} ({piece!r}) is not 'start-end'")
            start, end = int(seg[1]), int(seg[2])
            if not 1 <= start <= end:
                fail(f"segment {clip} ({piece!r}) must satisfy 1 <= start <= end")
            rows.append((video, int(m["subject"]), m["action"], m["scenario"], clip, start, end))
    if not rows:
        raise SequencesFormatError(f"{path}: no clip entries found")
    return pd.DataFrame(rows, columns=COLUMNS)


def assign_split(clips: pd.DataFrame, protocol: str = "video", *, train_clips=(1, 2), val_clips=(3,),
                 test_clips=(4,), train_scenarios=("d1", "d4"), val_scenarios=("d2",),
                 test_scenarios=("d3",)) -> pd.DataFrame:
    """A copy of `clips` with a `split` column: train / val / test, or unused (see the module docstring)."""
    if protocol == "video":
        turn = (clips["subject"].astype(int) + clips["action"].map(ACTIONS.index)) % len(SCENARIOS)
        slot = (clips["scenario"].map(SCENARIOS.index) - turn) % len(SCENARIOS)  # 0 test, 1 val, 2-3 train
        out = clips.copy()
        out["split"] = slot.map({0: "test", 1: "val", 2: "train", 3: "train"})
        return out
    if protocol == "clip":
        key, groups = clips["clip"], (train_clips, val_clips, test_clips)
    elif protocol == "scenario":
        key, groups = clips["scenario"], (train_scenarios, val_scenarios, test_scenarios)
    else:
        raise ValueError(f"split protocol must be 'video', 'clip' or 'scenario', got {protocol!r}")
    out = clips.copy()
    out["split"] = "unused"
    for name, values in zip(("train", "val", "test"), groups):
        out.loc[key.isin(list(values)), "split"] = name
    return out


def kth_manifest(data_dir, *, sequences=None, protocol: str = "video", missing: str = "error", log=print,
                 **split_args) -> pd.DataFrame:
    """Clips of a KTH-format directory with their video `path` and `split`.

    missing: what to do with videos listed in 00sequences.txt but absent from `data_dir`: "error" (default)
    or "skip" (dropped, with a count in the log).
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"KTH data directory not found: {data_dir}")
    clips = parse_sequences(sequences or data_dir / "00sequences.txt")
    clips["path"] = [str(data_dir / f"{v}_uncomp.avi") for v in clips["video"]]
    present = clips["path"].map(lambda p: Path(p).is_file())
    if not present.all():
        absent = sorted(clips.loc[~present, "video"].unique())
        if missing == "error":
            raise FileNotFoundError(f"{len(absent)} video(s) listed in 00sequences.txt are missing from {data_dir}, "
                                    f"e.g. {absent[0]}_uncomp.avi (set MISSING='skip' -- missing='skip' in Python -- to use the rest)")
        if missing != "skip":
            raise ValueError(f"missing must be 'error' or 'skip', got {missing!r}")
        if log:
            log(f"[kth] {len(absent)} listed video(s) not in {data_dir}: skipped ({', '.join(absent[:10])}"
                f"{', ...' if len(absent) > 10 else ''})")
        clips = clips[present].reset_index(drop=True)
        clips.attrs["missing_videos"] = absent
    return assign_split(clips, protocol, **split_args)
