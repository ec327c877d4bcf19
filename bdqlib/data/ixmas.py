"""IXMAS (Weinland et al., 2006) as the student reproduction prepared it: one .avi per action instance and camera.

File names: `<name><take>_<action number>_<action>_cam<k>_frames_<first>_<last>.avi`, e.g.
`alba1_01_check-watch_cam1_frames_0053_0097.avi`: actor "alba", take 1 of 3, action 1 "check-watch", camera 1,
cut from frames 53-97 of the take. Each file is one whole clip. The actor name is the privacy label (mapped to an
index in sorted order); the action is the target.

Default selection (student report §3.2): six actions (check watch, point, kick, sit down, get up, walk), two views
per actor and take, all three takes. The students chose the two most frontal cameras by hand, so their released
folder holds exactly two cameras per take; if a directory holds more, we keep the two lowest-numbered cameras of
each (actor, take, action) unless `cameras` names them.

Splits (`protocol`):
* "take" (default): no take in two splits. Within each (actor, action), one take tests, the next validates and
  the third trains, rotating with actor and action (test take = takes[(actor + action) mod 3]); both camera views
  of a take stay together, since they film the same performance at the same moment.
* "student": the student reproduction's rule -- clips sorted by (take, camera), the first three train, the
  fourth validates, the last two test -- which puts the two views of the second take in train and validation.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from .video import video_info

IXMAS_ACTIONS = ("check-watch", "cross-arms", "scratch-head", "sit-down", "get-up", "turn-around", "walk", "wave",
                 "punch", "kick", "point", "pick-up")
STUDENT_ACTIONS = ("check-watch", "point", "kick", "sit-down", "get-up", "walk")

_NAME = re.compile(r"^(?P<actor>[a-z]+)(?P<take>\d)_(?P<number>\d{2})_(?P<action>[a-z][a-z_\-]*)_cam(?P<camera>\d+)"
                   r"_frames_(?P<first>\d+)_(?P<last>\d+)\.avi$")


def parse_ixmas_name(name: str) -> dict:
    """Actor, take, action (hyphenated), camera and source frame range from one IXMAS clip file name."""
    m = _NAME.match(name)
    if not m:
        raise ValueError(f"not an IXMAS clip file name "
                         f"('<actor><take>_<NN>_<action>_cam<k>_frames_<first>_<last>.avi'): {name!r}")
    action = m["action"].replace("_", "-")
    if action not in IXMAS_ACTIONS:
        raise ValueError(f"unknown IXMAS action {action!r} in file name {name!r}")
    return {"video": name[:-4], "actor": m["actor"], "take": int(m["take"]), "action": action,
            "camera": int(m["camera"]), "source_first": int(m["first"]), "source_last": int(m["last"])}


def ixmas_manifest(data_dir, *, actions=STUDENT_ACTIONS, views: int = 2, cameras=None, strict: bool = True,
                   protocol: str = "take", log=print) -> pd.DataFrame:
    """Clips of an IXMAS directory with `path`, `subject` (= actor), `start`/`end` (whole file) and `split`.

    strict: raise if an (actor, action) group does not have 3 takes x `views` cameras (the student's check).
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"IXMAS data directory not found: {data_dir}")
    actions = tuple(a.replace("_", "-") for a in actions)
    rows = [dict(parse_ixmas_name(p.name), path=str(p)) for p in sorted(data_dir.glob("*.avi"))]
    if not rows:
        raise FileNotFoundError(f"no IXMAS .avi files in {data_dir}")
    df = pd.DataFrame(rows)
    df = df[df["action"].isin(actions)]
    if cameras is not None:
        df = df[df["camera"].isin(list(cameras))]
    else:
        df = df.sort_values("camera").groupby(["actor", "take", "action"], sort=False).head(views)
    df = df.sort_values(["actor", "action", "take", "camera"]).reset_index(drop=True)
    sizes = df.groupby(["actor", "action"])["video"].transform("size")
    bad = df.index[sizes != 3 * views]
    if strict and len(bad):
        actor, action = df.loc[bad[0], "actor"], df.loc[bad[0], "action"]
        raise ValueError(f"IXMAS: expected {3 * views} clips (3 takes x {views} views) for actor {actor!r}, "
                         f"action {action!r} in {data_dir}, found {int(sizes[bad[0]])} (pass strict=False to accept)")
    if protocol == "take":
        actors = {a: i for i, a in enumerate(sorted(df["actor"].unique()))}
        takes = df.groupby(["actor", "action"])["take"].transform(lambda t: t.rank(method="dense").astype(int) - 1)
        turn = df["actor"].map(actors) + df["action"].map(actions.index)
        df["split"] = ((takes - turn) % 3).map({0: "test", 1: "val", 2: "train"})
    elif protocol == "student":
        position = df.groupby(["actor", "action"]).cumcount()
        df["split"] = ["train" if i < 3 else "val" if i == 3 else "test" for i in position]
    else:
        raise ValueError(f"IXMAS split protocol must be 'take' or 'student', got {protocol!r}")
    df["subject"] = df["actor"]
    df["start"] = 1
    df["end"] = [video_info(p)["frames"] for p in df["path"]]
    if log:
        log(f"[ixmas] {len(df)} clips, {df['actor'].nunique()} actors, {len(actions)} actions from {data_dir}")
    return df
