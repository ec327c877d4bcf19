"""Tiny datasets in SBU's, IPN Hand's and Weizmann's real on-disk layouts, drawn by the synthetic renderer.

For tests, the SMOKE chain and a newcomer without the datasets: the readers (`bdqlib.data.sbu`, `.ipn`) read these
folders exactly as they read the real ones, split files and annotation files included. People and motions come
from `bdqlib.data.synthetic` (an SBU frame puts two rendered people side by side; an IPN video strings gestures
together with non-gesture stretches between them). They are far too small to show a trade-off.
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from ..atomic import atomic_path, write_text_atomic
from .ipn import IPN_GESTURES, NON_GESTURE
from .kth import ACTIONS
from .sbu import SBU_ACTIONS
from .silhouettes import write_silhouette_masks
from .synthetic import draw_population, render_video

# Which synthetic motion stands in for each interaction / gesture (the renderer knows KTH's six actions).
SBU_MOTION = dict(zip(SBU_ACTIONS, ("walking", "walking", "boxing", "boxing", "handwaving", "handclapping",
                                    "handwaving", "handclapping")))
IPN_MOTION = {g: ACTIONS[i % len(ACTIONS)] for i, g in enumerate(IPN_GESTURES)}


def _done(root: Path, params: dict) -> bool:
    stamp = root / "layout.json"
    return stamp.is_file() and json.loads(stamp.read_text()) == params


def _write_image(path: Path, frame: np.ndarray) -> None:
    with atomic_path(path, suffix=path.suffix) as tmp:
        if not cv2.imwrite(str(tmp), np.ascontiguousarray(frame[..., ::-1])):
            raise IOError(f"OpenCV cannot write {path}")


def _motion(seed: int, person: int, motion: str, frames: int, size, people) -> np.ndarray:
    video, segs = render_video(seed, person, motion, "d1", clips=1, clip_frames=frames + 3, size=size,
                               subject=people[person - 1])  # a segment is clip_frames +- 3 long: cut to `frames`
    a, b = segs[0]
    return video[a - 1:b][:frames]


def write_sbu_like(root, *, sets=("s01s02", "s02s01", "s01s03", "s03s04", "s04s02"), takes: int = 1,
                   frames: int = 12, short: int = 1, seed: int = 0, size=(96, 72), log=print) -> Path:
    """SBU's layout under `root`: sXXsYY/<01-08>/<take>/rgb_NNNNNN.png (+ depth_*.png, skeleton_pos.txt), and the
    BDQ authors' and SPPA's split files (in their formats) under root/splits/. Every set records all eight
    interactions `takes` times; `short` takes per set are shorter (frames - 4), as SBU's 10-15-frame takes."""
    root = Path(root)
    params = {"kind": "sbu", "sets": list(sets), "takes": takes, "frames": frames, "short": short, "seed": seed,
              "size": list(size)}
    if _done(root, params):
        return root
    actors = sorted({int(s[i:i + 2]) for s in sets for i in (1, 4)})
    people = draw_population(seed, max(actors))
    w, h = size
    names = []
    for set_name in sets:
        left, right = int(set_name[1:3]), int(set_name[4:6])
        for a, action in enumerate(SBU_ACTIONS, 1):
            for take in range(1, takes + 1):
                n = frames - 4 if (a - 1) * takes + take <= short else frames  # the first `short` takes
                one = _motion(seed, left, SBU_MOTION[action], n, size, people)
                two = _motion(seed + 1, right, SBU_MOTION[action], n, size, people)[:, :, ::-1]  # facing the other
                pair = np.concatenate([one[:, :, w // 4:w // 4 + w // 2], two[:, :, w // 4:w // 4 + w // 2]], axis=2)
                folder = root / set_name / f"{a:02d}" / f"{take:03d}"
                for t, frame in enumerate(pair, 1):
                    _write_image(folder / f"rgb_{t:06d}.png", frame)
                    _write_image(folder / f"depth_{t:06d}.png", np.repeat(frame.mean(-1, keepdims=True), 3, -1)
                                 .astype(np.uint8))
                write_text_atomic(folder / "skeleton_pos.txt", "".join(f"{t}," + ",".join(["0.5"] * 45) + "\n"
                                                                       for t in range(1, len(pair) + 1)))
                names.append((set_name, a, take, len(pair)))
    test = {i for i in range(len(names)) if i % 3 == 0}  # every set's 8+ sequences: some in each split
    pair_ids = {p: i for i, p in enumerate(sorted({"+".join(sorted((s[:3], s[3:]))) for s in sets}))}
    for split, chosen in (("train", [i for i in range(len(names)) if i not in test]), ("val", sorted(test))):
        authors = [f"SBU/{s}/{s}/{a:02d}/{t:03d},1,{n},{pair_ids['+'.join(sorted((s[:3], s[3:])))]},{a - 1}"
                   for s, a, t, n in (names[i] for i in chosen)]
        write_text_atomic(root / "splits" / "bdq-authors" / "sbu" / f"{split}.txt", "\n".join(authors) + "\n")
        sppa = ["name,t_start,t_end,person,action"] + [line[4:].replace(f"{line[4:10]}/", "", 1) for line in authors]
        write_text_atomic(root / "splits" / "sppa" / "sbu" / f"{'test' if split == 'val' else split}.txt",
                          "\n".join(sppa) + "\n")
    write_text_atomic(root / "layout.json", json.dumps(params))
    if log:
        log(f"[layout] SBU-format folder with {len(names)} sequences of {len(sets)} sets written to {root}")
    return root


def write_ipn_like(root, *, women: int = 3, men: int = 3, test_people: int = 2, videos_per_person: int = 1,
                   gesture_frames: int = 10, gap: int = 4, seed: int = 0, size=(80, 60), log=print) -> Path:
    """IPN Hand's layout under `root`: frames/<video>/<video>_NNNNNN.jpg, annotations/Annot_List.txt (every
    gesture once per video, non-gesture D0X stretches between), annotations/metadata_{train,test}.csv (gender in
    `label`), Video_{Train,Test}List.txt, classIdx.txt. The last `test_people` of each gender are test subjects."""
    root = Path(root)
    params = {"kind": "ipn", "women": women, "men": men, "test_people": test_people,
              "videos_per_person": videos_per_person, "gesture_frames": gesture_frames, "gap": gap, "seed": seed,
              "size": list(size)}
    if _done(root, params):
        return root
    people = draw_population(seed, women + men)
    genders = ["W"] * women + ["M"] * men
    annot, meta, number = ["video,label,id,t_start,t_end,frames"], {"train": [], "test": []}, 100
    for p, gender in enumerate(genders, 1):
        rank = (p - 1) if gender == "W" else (p - 1 - women)
        part = "test" if rank >= (women if gender == "W" else men) - test_people // 2 else "train"
        for _ in range(videos_per_person):
            number += 1
            video = f"1CM1_{p}_R_#{number}"
            frames, cursor = [], 1
            for g, gesture in enumerate(IPN_GESTURES):
                still = _motion(seed, p, "handclapping", gap, size, people)
                annot.append(f"{video},{NON_GESTURE},1,{cursor},{cursor + gap - 1},{gap}")
                frames.append(still)
                cursor += gap
                clip = _motion(seed + g, p, IPN_MOTION[gesture], gesture_frames, size, people)
                annot.append(f"{video},{gesture},{g + 2},{cursor},{cursor + len(clip) - 1},{len(clip)}")
                frames.append(clip)
                cursor += len(clip)
            video_frames = np.concatenate(frames)
            for t, frame in enumerate(video_frames, 1):
                _write_image(root / "frames" / video / f"{video}_{t:06d}.jpg", frame)
            meta[part].append(f"{video},{len(video_frames)},{gender},Right,Clutter,Stable,Single,Static,{part}")
    header = "video,frames,label,Hand,Background,Illumination,People in Scene,Background Motion,Set"
    for part, rows in meta.items():
        write_text_atomic(root / "annotations" / f"metadata_{part}.csv", "\n".join([header] + rows) + "\n")
        write_text_atomic(root / "annotations" / f"Video_{part.capitalize()}List.txt",
                          "\n".join(f"{r.split(',')[0]}\t{r.split(',')[1]}" for r in rows) + "\n")
    write_text_atomic(root / "annotations" / "Annot_List.txt", "\n".join(annot) + "\n")
    write_text_atomic(root / "annotations" / "classIdx.txt", "id,label\n" + "\n".join(
        f"{i},{c}" for i, c in enumerate((NON_GESTURE,) + IPN_GESTURES, 1)) + "\n")
    write_text_atomic(root / "layout.json", json.dumps(params))
    if log:
        log(f"[layout] IPN-format folder with {number - 100} videos of {women + men} subjects written to {root}")
    return root


def write_weizmann_like(root, *, people: int = 3, frames: int = 16, seed: int = 0, size=(180, 144), log=print) -> Path:
    """Weizmann's masks file under `root`: classification_masks.mat with both structs (`original_masks`,
    `aligned_masks`; H x W x T uint8 in {0, 1}), one field `<person>_<action>` per video for the first `people` of
    the dataset's names x its ten actions, plus lena's second takes when lena is among them. The silhouettes are
    synthetic people, every video `frames` long, centred (bdqlib.data.silhouettes with its default cues). Returns
    the file's path (DATA_DIR of a Weizmann run)."""
    return write_silhouette_masks(root, people=people, lengths=frames, seed=seed, size=size, log=log)
