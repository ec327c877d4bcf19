import os

import cv2
import numpy as np
import pandas as pd
import pytest
import torch

from bdqlib.atomic import atomic_path
from bdqlib.data import check_splits, prepare_data
from bdqlib.data.cache import GREY_TOLERANCE, FrameCache, build_cache
from bdqlib.data.dataset import (
    CachedFrames,
    DecodedFrames,
    VideoClipDataset,
    add_labels,
    spatial_transform,
    temporal_window,
)
from bdqlib.data.ixmas import STUDENT_ACTIONS, ixmas_manifest, parse_ixmas_name
from bdqlib.data.kth import ACTIONS, SCENARIOS, SequencesFormatError, assign_split, kth_manifest, parse_sequences
from bdqlib.data.synthetic import (
    BODY_MIN_DISTANCE,
    HAIR_MIN_DISTANCE,
    draw_population,
    make_kth_like,
    make_subject,
    render_video,
)
from bdqlib.data import video as video_io
from bdqlib.data.video import VideoReadError, read_frames, video_info, write_video

from .conftest import KTH_SAMPLE, WEIZMANN, needs_kth_sample, needs_weizmann_video


# ----------------------------------------------------------------------------------------------- synthetic data
def test_synthetic_generation_is_deterministic(tmp_path):
    args = dict(subjects=2, scenarios=("d2",), clip_frames=10, seed=3, workers=1, log=None)
    a = make_kth_like(tmp_path / "a", **args)
    b = make_kth_like(tmp_path / "b", **args)
    assert (a / "00sequences.txt").read_bytes() == (b / "00sequences.txt").read_bytes()
    names = sorted(p.name for p in a.glob("*.avi"))
    assert names == sorted(p.name for p in b.glob("*.avi")) and len(names) == 2 * 6
    for name in names[:3]:
        assert np.array_equal(read_frames(a / name), read_frames(b / name))
    other = make_kth_like(tmp_path / "c", **{**args, "seed": 4})
    assert not np.array_equal(read_frames(a / names[0]), read_frames(other / names[0]))


def test_synthetic_files_have_kths_format(tiny_synthetic):
    info = video_info(tiny_synthetic / "person01_walking_d1_uncomp.avi")
    assert (info["width"], info["height"], info["fps"]) == (160, 120, 25.0)
    raw = (tiny_synthetic / "00sequences.txt").read_bytes()
    assert b"\r\n" in raw and b"person03_running_d4\t\tframes\t1-" in raw
    clips = parse_sequences(tiny_synthetic / "00sequences.txt")
    assert len(clips) == 3 * 6 * 4 * 2 and set(clips["clip"]) == {1, 2}
    last = clips[clips["video"] == "person01_walking_d1"]["end"].max()
    assert info["frames"] >= last


def test_synthetic_is_read_through_the_kth_path(tiny_synthetic):
    m = kth_manifest(tiny_synthetic, log=None)
    assert set(m["action"]) == set(ACTIONS) and set(m["subject"]) == {1, 2, 3}
    assert m.groupby("split").size().to_dict() == {"test": 36, "train": 72, "val": 36}
    # every identity is in train and test (the split is by video, never by person)
    assert set(m[m["split"] == "train"]["subject"]) == set(m[m["split"] == "test"]["subject"])


def test_existing_synthetic_dataset_is_kept(tmp_path):
    args = dict(subjects=1, scenarios=("d1",), clip_frames=8, workers=1, log=None)
    root = make_kth_like(tmp_path / "s", **args)
    stamp = (root / "00sequences.txt").stat().st_mtime_ns
    make_kth_like(tmp_path / "s", **args)
    assert (root / "00sequences.txt").stat().st_mtime_ns == stamp
    with pytest.raises(ValueError, match="scenarios"):
        make_kth_like(tmp_path / "x", subjects=1, scenarios=("d9",), log=None)


# ----------------------------------------------------------------------------------------------- KTH
@needs_kth_sample
def test_official_sequences_file_parses_to_2391_clips_of_599_videos():
    clips = parse_sequences(KTH_SAMPLE / "00sequences.txt")
    assert len(clips) == 2391 and clips["video"].nunique() == 599
    assert list(clips.columns) == ["video", "subject", "action", "scenario", "clip", "start", "end"]
    assert "person13_handclapping_d3" not in set(clips["video"])  # the *missing* entry
    assert clips["subject"].between(1, 25).all() and set(clips["scenario"]) == {"d1", "d2", "d3", "d4"}
    three = clips[clips["video"] == "person11_boxing_d4"]
    assert three["clip"].tolist() == [1, 2, 3] and three["end"].tolist() == [106, 194, 250]
    unordered = clips[clips["video"] == "person07_jogging_d4"]  # segments written out of order stay as written
    assert unordered[["clip", "start", "end"]].values.tolist() == [[1, 1, 64], [2, 270, 332], [3, 194, 264],
                                                                    [4, 490, 570]]


@needs_kth_sample
def test_real_kth_videos_decode_to_their_annotated_length():
    clips = parse_sequences(KTH_SAMPLE / "00sequences.txt")
    for action in ACTIONS:
        video = f"person01_{action}_d1"
        frames = read_frames(KTH_SAMPLE / f"{video}_uncomp.avi")
        assert frames.shape[1:] == (120, 160, 3) and frames.dtype == np.uint8
        assert len(frames) == clips[clips["video"] == video]["end"].max()
    assert len(read_frames(KTH_SAMPLE / "person01_boxing_d1_uncomp.avi")) == 360


@needs_kth_sample
def test_kth_manifest_on_a_partial_copy():
    with pytest.raises(FileNotFoundError, match="missing from"):
        kth_manifest(KTH_SAMPLE)
    m = kth_manifest(KTH_SAMPLE, missing="skip", log=None)
    assert m["video"].nunique() == 6 and set(m["split"]) == {"train", "val", "test"}


def write_sequences(tmp_path, *lines):
    path = tmp_path / "00sequences.txt"
    path.write_bytes(("\r\n".join(["Some header", "", *lines]) + "\r\n").encode())
    return path


@pytest.mark.parametrize("line, message", [
    ("person01_boxing_d1\t\tframes\t1-95, 96-x", "segment 2"),
    ("person01_boxing_d1\t\tframes\t95-10", "start <= end"),
    ("person01_swimming_d1\tframes\t1-10", "unknown action"),
    ("person01_boxing_d7\tframes\t1-10", "unknown scenario"),
    ("person1_boxing_d1\tframes\t1-10", "not a"),
    ("persn01_boxing_d1\tframes\t1-10", "not a"),
])
def test_malformed_line_names_line_number_and_text(tmp_path, line, message):
    path = write_sequences(tmp_path, "person02_walking_d1\t\tframes\t1-20", line)
    with pytest.raises(SequencesFormatError, match=message) as err:
        parse_sequences(path)
    assert "line 4" in str(err.value) and repr(line) in str(err.value)


def test_duplicate_video_is_an_error(tmp_path):
    path = write_sequences(tmp_path, "person02_walking_d1\tframes\t1-20", "person02_walking_d1\tframes\t3-9")
    with pytest.raises(SequencesFormatError, match="already listed on line 3"):
        parse_sequences(path)


def all_clips(subjects=5, clips=4) -> pd.DataFrame:
    rows = [(f"person{p:02d}_{a}_{d}", p, a, d, c, 1 + 30 * (c - 1), 30 * c)
            for p in range(1, subjects + 1) for a in ACTIONS for d in SCENARIOS for c in range(1, clips + 1)]
    return pd.DataFrame(rows, columns=["video", "subject", "action", "scenario", "clip", "start", "end"])


def test_splits_by_clip_and_by_scenario():
    clips = all_clips()
    by_clip = assign_split(clips, "clip")
    assert set(by_clip[by_clip["split"] == "test"]["clip"]) == {4}
    assert set(by_clip[by_clip["split"] == "train"]["clip"]) == {1, 2}
    student = assign_split(clips, "clip", train_clips=(2,))
    assert (student["clip"] == 1).sum() == (student["split"] == "unused").sum()
    by_scenario = assign_split(clips, "scenario", train_scenarios=("d1",), val_scenarios=(), test_scenarios=("d4",))
    assert set(by_scenario[by_scenario["split"] == "test"]["scenario"]) == {"d4"}
    with pytest.raises(ValueError, match="split protocol"):
        assign_split(clips, "subject")
    with pytest.raises(ValueError, match="in two splits"):
        check_splits(by_clip)
    assert "several splits" in check_splits(by_clip, shared_videos=True)


def test_the_video_split_puts_no_video_in_two_splits_and_every_person_in_all_three():
    for subjects in (1, 4, 25):
        split = assign_split(all_clips(subjects), "video")  # the default
        assert (split.groupby("video")["split"].nunique() == 1).all()
        for _, group in split.groupby(["subject", "action"]):  # per person x action: 1 test, 1 val, 2 train videos
            videos = group.drop_duplicates("video")["split"].value_counts().to_dict()
            assert videos == {"train": 2, "val": 1, "test": 1}
        for name in ("train", "val", "test"):
            assert set(split.loc[split["split"] == name, "subject"]) == set(range(1, subjects + 1))
        tested = split[split["split"] == "test"]
        assert set(tested["scenario"]) == set(SCENARIOS)  # every scenario is tested
        assert "none in two splits" in check_splits(split)
    assert assign_split(all_clips(3), "video").equals(assign_split(all_clips(3)))
    leak = assign_split(all_clips(2), "video")
    leak.loc[0, "split"] = "test" if leak.loc[0, "split"] != "test" else "train"
    with pytest.raises(ValueError, match="in two splits"):
        check_splits(leak)
    gone = assign_split(all_clips(2), "video")
    gone.loc[(gone["subject"] == 2) & (gone["split"] == "val"), "split"] = "train"
    with pytest.raises(ValueError, match=r"identities \[2\] have no clip in the val split"):
        check_splits(gone)


def test_prepare_data_uses_the_video_split(tiny_data):
    m = tiny_data.manifest
    assert (m.groupby("video")["split"].nunique() == 1).all()
    assert all(set(m.loc[m["split"] == s, "subject"]) == set(m["subject"]) for s in ("train", "val", "test"))


# ----------------------------------------------------------------------------------------------- populations
def test_a_population_of_25_shares_nothing_with_its_pretraining_population():
    people = draw_population(0, 25)
    others = draw_population(1000, 25, avoid=(0, 25))
    assert len(people) == len(others) == 25
    mine = [o.signature() for s in people for o in s.outfits]
    theirs = [o.signature() for s in others for o in s.outfits]
    assert len(set(mine)) == 50 and not set(mine) & set(theirs)  # no outfit twice, none shared
    for a in people:
        for b in others:
            assert np.linalg.norm(np.subtract(a.hair, b.hair)) >= HAIR_MIN_DISTANCE
            assert np.linalg.norm(a.body() - b.body()) >= BODY_MIN_DISTANCE
    assert draw_population(0, 25) == people and make_subject(0, 25, subjects=25) == people[24]
    assert {g.pattern for s in people for o in s.outfits for g in (o.shirt, o.pants)} == {"plain", "stripes",
                                                                                         "checker"}
    assert np.ptp([s.height for s in people]) > 12 and np.ptp([s.cadence for s in people]) > 0.2


def test_the_25th_person_renders(tmp_path):
    frames, segs = render_video(0, 25, "walking", "d3", clips=1, clip_frames=10, size=(80, 60),
                                subject=draw_population(0, 25)[24])
    assert frames.shape[1:] == (60, 80, 3) and len(segs) == 1 and frames.std() > 5
    root = make_kth_like(tmp_path / "pre", subjects=2, scenarios=("d1",), clip_frames=8, seed=1000, avoid=(0, 25),
                         workers=1, log=None)
    assert '"avoid": [0, 25]' in (root / "synthetic.json").read_text()


# ----------------------------------------------------------------------------------------------- IXMAS
def test_ixmas_names_parse():
    info = parse_ixmas_name("alba1_01_check-watch_cam1_frames_0053_0097.avi")
    assert info == {"video": "alba1_01_check-watch_cam1_frames_0053_0097", "actor": "alba", "take": 1,
                    "action": "check-watch", "camera": 1, "source_first": 53, "source_last": 97}
    assert parse_ixmas_name("daniel3_04_sit_down_cam2_frames_0001_0050.avi")["action"] == "sit-down"
    with pytest.raises(ValueError, match="not an IXMAS clip file name"):
        parse_ixmas_name("alba_check-watch.avi")


def test_ixmas_manifest_selection_and_split(tmp_path):
    frames = np.zeros((5, 24, 32, 3), np.uint8)
    for actor in ("alba", "daniel"):
        for take in (1, 2, 3):
            for number, action in ((1, "check-watch"), (2, "cross-arms")):
                for cam in (0, 1, 3):
                    write_video(tmp_path / f"{actor}{take}_{number:02d}_{action}_cam{cam}_frames_0001_0005.avi",
                                frames)
    m = ixmas_manifest(tmp_path, actions=("check-watch",), log=None)
    assert set(m["action"]) == {"check-watch"} and set(m["camera"]) == {0, 1}  # two lowest cameras per take
    assert (m.groupby(["actor", "take"])["split"].nunique() == 1).all()  # default: no take in two splits
    assert m.groupby("actor")["split"].apply(set).tolist() == [{"train", "val", "test"}] * 2
    assert m.loc[m["actor"] == "alba"].groupby("take")["split"].first().to_dict() == {1: "test", 2: "val",
                                                                                     3: "train"}
    student = ixmas_manifest(tmp_path, actions=("check-watch",), protocol="student", log=None)
    group = student[student["actor"] == "alba"]
    assert group[["take", "camera", "split"]].values.tolist() == [
        [1, 0, "train"], [1, 1, "train"], [2, 0, "train"], [2, 1, "val"], [3, 0, "test"], [3, 1, "test"]]
    assert (m["end"] == 5).all() and sorted(m["subject"].unique()) == ["alba", "daniel"]
    for cam in (1, 3):  # take 3 of alba keeps one view only
        (tmp_path / f"alba3_01_check-watch_cam{cam}_frames_0001_0005.avi").unlink()
    with pytest.raises(ValueError, match="expected 6 clips"):
        ixmas_manifest(tmp_path, actions=("check-watch",), log=None)
    assert len(ixmas_manifest(tmp_path, actions=("check-watch",), strict=False, log=None)) == 11
    assert STUDENT_ACTIONS == ("check-watch", "point", "kick", "sit-down", "get-up", "walk")


# ----------------------------------------------------------------------------------------------- video files
def test_missing_and_corrupt_files_are_named(tmp_path):
    missing = tmp_path / "nope.avi"
    with pytest.raises(FileNotFoundError, match="nope.avi"):
        read_frames(missing)
    corrupt = tmp_path / "corrupt.avi"
    corrupt.write_bytes(os.urandom(4096))
    with pytest.raises(VideoReadError, match="corrupt.avi"):
        read_frames(corrupt)


def test_truncated_file_is_detected(tmp_path, tiny_synthetic):
    source = (tiny_synthetic / "person01_walking_d1_uncomp.avi").read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(source[: len(source) // 2])
    with pytest.raises(VideoReadError, match="cut.avi"):
        read_frames(cut)


def test_read_a_range_of_frames(tiny_synthetic):
    path = tiny_synthetic / "person02_boxing_d4_uncomp.avi"
    full = read_frames(path)
    part = read_frames(path, start=5, end=9)
    assert np.array_equal(part, full[4:9])
    with pytest.raises(VideoReadError, match="truncated"):
        read_frames(path, start=len(full) - 1, end=len(full) + 5)


def test_pyav_decodes_the_bytes_opencv_decoded(tiny_synthetic, tmp_path):
    """The decoder moved from OpenCV to PyAV: every MPEG-4 file we have (synthetic KTH-format, IXMAS-format -- both
    written by write_video -- and the real KTH sample where present) gives the same frames, whole and in part."""
    ixmas = write_video(tmp_path / "ixmas_like.avi", np.random.default_rng(0).integers(0, 255, (9, 30, 40, 3), np.uint8))
    files = sorted(tiny_synthetic.glob("*.avi"))[:6] + [ixmas] + sorted(KTH_SAMPLE.glob("*.avi"))[:2]
    for path in files:
        old, declared = video_io._opencv_in_child(path, "frames")
        assert np.array_equal(read_frames(path), np.stack(old)), path
        assert video_info(path) == video_io._opencv_in_child(path, "info"), path
    path = files[0]
    assert np.array_equal(read_frames(path, start=4, end=7), np.stack(video_io._opencv_in_child(path, "frames", 4, 7)[0]))


def test_without_pyav_files_decode_through_the_contained_opencv_route(tiny_synthetic, monkeypatch):
    path = tiny_synthetic / "person01_walking_d1_uncomp.avi"
    expected = read_frames(path)
    monkeypatch.setattr(video_io, "av", None)
    assert np.array_equal(read_frames(path), expected) and video_info(path)["frames"] >= len(expected)
    with pytest.raises(VideoReadError, match="truncated"):
        read_frames(path, start=len(expected), end=len(expected) + 3)


def test_a_decoder_that_crashes_gives_an_error_naming_the_file_not_a_dead_process(tiny_synthetic, tmp_path,
                                                                                monkeypatch):
    crashing = tmp_path / "crashing_decoder.py"  # stands in for a native abort inside OpenCV
    crashing.write_text("import os, sys\nsys.stderr.write('malloc_consolidate(): invalid chunk size\\n')\nos.abort()\n")
    monkeypatch.setattr(video_io, "_CHILD", crashing)
    monkeypatch.setattr(video_io, "av", None)  # PyAV cannot read it: the fallback runs
    path = tiny_synthetic / "person02_boxing_d4_uncomp.avi"
    with pytest.raises(VideoReadError, match=r"crashed on .*person02_boxing_d4_uncomp\.avi.*signal 6.*malloc"):
        read_frames(path)
    with pytest.raises(VideoReadError, match="person02_boxing_d4_uncomp.avi"):
        video_info(path)


@needs_weizmann_video
def test_the_weizmann_rgb_file_decodes_to_its_51_frames():
    frames = read_frames(WEIZMANN / "eli_jack.avi")  # uncompressed 24-bit AVI: OpenCV 5.1 aborts on it in-process
    assert frames.shape == (51, 144, 180, 3) and frames.dtype == np.uint8 and 100 < frames.mean() < 180
    assert video_info(WEIZMANN / "eli_jack.avi") == {"frames": 51, "fps": 25.0, "width": 180, "height": 144}
    try:  # OpenCV, contained: it decodes the same frames or fails with the file's name -- this process lives on
        old, _ = video_io._opencv_in_child(WEIZMANN / "eli_jack.avi", "frames")
        assert np.array_equal(np.stack(old), frames)
    except VideoReadError as e:
        assert "eli_jack.avi" in str(e)


def test_atomic_writes_leave_nothing_half_written(tmp_path):
    target = tmp_path / "x.txt"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("crash")
    assert not target.exists() and list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="uint8"):
        write_video(tmp_path / "v.avi", np.zeros((2, 8, 8, 3), np.float32))
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------------------------- cache
def test_cache_round_trip_and_reuse(tmp_path, tiny_synthetic):
    videos = kth_manifest(tiny_synthetic, log=None).drop_duplicates("video").head(4)
    lines = []
    cache = build_cache(videos, tmp_path / "c", short_side=48, log=lines.append, every=2)
    assert any("4/4 videos ready (4 decoded" in line for line in lines)
    video, path = videos.iloc[0]["video"], videos.iloc[0]["path"]
    cached = cache.frames(video)
    assert isinstance(cached, np.memmap) and cached.shape[1:] == (48, 64, 1)  # grey people: one channel on disk
    decoded = DecodedFrames({video: path}, short_side=48)  # three channels, equal up to the codec's chroma noise
    assert np.abs(cache.clip(video, 4, 5).astype(int) - decoded.clip(video, 4, 5)).max() <= GREY_TOLERANCE
    lines.clear()
    build_cache(videos, tmp_path / "c", short_side=48, log=lines.append)
    assert any("(0 decoded" in line for line in lines)  # nothing decoded again
    os.utime(path, ns=(0, 0))  # a changed source is decoded again
    lines.clear()
    build_cache(videos, tmp_path / "c", short_side=48, log=lines.append)
    assert any("(1 decoded" in line for line in lines)
    assert len(FrameCache(tmp_path / "c").index) == 4


# ----------------------------------------------------------------------------------------------- sampling
def test_temporal_window():
    torch.manual_seed(0)
    for _ in range(50):
        idx = temporal_window(10, 29, 8, train=True)
        assert idx[0] >= 10 and idx[-1] <= 29 and np.all(np.diff(idx) == 1)
    assert temporal_window(10, 29, 8, train=False).tolist() == list(range(16, 24))  # centre, no shift
    assert temporal_window(5, 7, 5, train=False).tolist() == [5, 6, 7, 5, 6]  # looped


def test_spatial_transform_shapes_and_scales():
    x = torch.rand(4, 3, 48, 64)
    assert spatial_transform(x, 48, train=False).shape == (4, 3, 48, 48)
    assert torch.equal(spatial_transform(x, 48, train=False), x[:, :, :, 8:56])  # centre crop, no scaling
    small = torch.rand(4, 3, 120, 160)
    assert spatial_transform(small, 224, train=False).shape == (4, 3, 224, 224)  # resized, not padded
    torch.manual_seed(1)
    for _ in range(20):
        assert spatial_transform(x, 32, train=True).shape == (4, 3, 32, 32)


def test_whole_frame_crops_keep_the_aspect_and_the_person_at_the_edge():
    """crop="frame" (Weizmann: people cross a 48 x 60 frame): the test sees the whole frame, training crops keep
    its aspect; an unknown crop is refused by name."""
    x = torch.rand(4, 3, 48, 60)
    assert torch.equal(spatial_transform(x, 48, train=False, crop="frame"), x)  # the whole frame, no scaling
    assert spatial_transform(torch.rand(2, 3, 120, 160), 48, train=False, crop="frame").shape == (2, 3, 48, 64)
    assert spatial_transform(torch.rand(2, 3, 160, 120), 48, train=False, crop="frame").shape == (2, 3, 64, 48)
    torch.manual_seed(1)
    for _ in range(20):
        assert spatial_transform(x, 48, train=True, scales=(1.0, 0.5), crop="frame").shape == (4, 3, 48, 60)
    with pytest.raises(ValueError, match="crop must be one of square, frame"):
        spatial_transform(x, 48, train=False, crop="wide")


def test_dataset_items(tiny_cfg, tiny_data):
    clip, action, subject = tiny_data.train[0]
    assert clip.shape == (3, tiny_cfg.num_frames, tiny_cfg.size, tiny_cfg.size) and clip.dtype == torch.float32
    assert 0 <= action < 6 and 0 <= subject < 3
    lo, hi = (0 - 0.45) / 0.225, (1 - 0.45) / 0.225
    assert clip.min() >= lo - 1e-5 and clip.max() <= hi + 1e-5
    a, b = tiny_data.test[3][0], tiny_data.test[3][0]
    assert torch.equal(a, b)  # test sampling is deterministic
    assert tiny_data.num_subjects == 3 and len(tiny_data.test) == 36


def test_short_clips_are_skipped_or_looped(tiny_data):
    m = tiny_data.train.manifest.copy()
    m.loc[0, "end"] = m.loc[0, "start"] + 1  # a 2-frame segment
    source = CachedFrames(tiny_data.cache)
    skip = VideoClipDataset(m, source, num_frames=4, size=24, train=False)
    loop = VideoClipDataset(m, source, num_frames=4, size=24, train=False, short_clips="loop")
    assert skip.skipped == 1 and len(skip) == len(m) - 1
    assert loop.skipped == 0 and len(loop) == len(m) and loop[0][0].shape[1] == 4
    with pytest.raises(ValueError, match="short_clips"):
        VideoClipDataset(m, source, num_frames=4, size=24, train=False, short_clips="pad")


def test_labels_need_known_actions():
    df = pd.DataFrame({"action": ["boxing", "swimming"], "subject": [1, 2]})
    with pytest.raises(ValueError, match="swimming"):
        add_labels(df, ACTIONS)


def test_prepare_data_clips_annotations_to_the_file(tmp_path, tiny_cfg, tiny_synthetic):
    data = prepare_data(tiny_cfg, root=tmp_path, log=None)
    frames = data.manifest["video"].map(data.cache.num_frames)
    assert (data.manifest["end"] <= frames).all()
    assert "identities" in data.summary()


def write_frames(folder, names, h=6, w=8):
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        cv2.imwrite(str(folder / name), np.full((h, w, 3), 10 * (i + 1), np.uint8))


def test_frame_folders_read_by_glob_and_by_numbered_range(tmp_path):
    write_frames(tmp_path / "take", [f"rgb_{i:06d}.png" for i in range(1, 6)] + ["depth_000001.png"])
    video = read_frames(tmp_path / "take" / "rgb_*.png")
    assert video.shape == (5, 6, 8, 3) and list(video[:, 0, 0, 0]) == [10, 20, 30, 40, 50]  # name order, RGB only
    assert list(read_frames(tmp_path / "take" / "rgb_*.png", start=2, end=3)[:, 0, 0, 0]) == [20, 30]
    write_frames(tmp_path / "v", [f"v_{i:06d}.png" for i in range(1, 8)])
    segment = read_frames(f"{tmp_path}/v/v_%06d.png#3-5")
    assert list(segment[:, 0, 0, 0]) == [30, 40, 50]
    with pytest.raises(FileNotFoundError, match="v_000008.png not found"):
        read_frames(f"{tmp_path}/v/v_%06d.png#6-9")
    with pytest.raises(ValueError, match="#<first>-<last>"):
        read_frames(f"{tmp_path}/v/v_%06d.png")
    with pytest.raises(VideoReadError, match="which has 5"):
        read_frames(tmp_path / "take" / "rgb_*.png", start=4, end=7)
    write_frames(tmp_path / "odd", ["a_1.png"])
    write_frames(tmp_path / "odd", ["a_2.png"], h=4)
    with pytest.raises(VideoReadError, match="a_2.png is 8x4"):
        read_frames(tmp_path / "odd" / "a_*.png")


def test_a_frame_folder_cache_is_rebuilt_when_a_frame_changes(tmp_path):
    write_frames(tmp_path / "take", [f"rgb_{i:06d}.png" for i in range(1, 4)])
    videos = pd.DataFrame({"video": ["take"], "path": [str(tmp_path / "take" / "rgb_*.png")]})
    cache = build_cache(videos, tmp_path / "cache", short_side=None, log=None)
    assert cache.num_frames("take") == 3
    lines = []
    build_cache(videos, tmp_path / "cache", short_side=None, log=lines.append)
    assert "0 decoded" in lines[-1]  # unchanged: reused
    write_frames(tmp_path / "take", [f"rgb_{i:06d}.png" for i in range(1, 5)])
    cache = build_cache(videos, tmp_path / "cache", short_side=None, log=lines.append)
    assert "1 decoded" in lines[-1] and cache.num_frames("take") == 4


@needs_kth_sample
def test_grey_videos_are_cached_with_one_channel_and_read_with_three(tmp_path):
    video = sorted(KTH_SAMPLE.glob("*.avi"))[0]
    videos = pd.DataFrame({"video": [video.stem], "path": [str(video)]})
    cache = build_cache(videos, tmp_path / "cache", short_side=None, log=None)
    assert cache.frames(video.stem).shape[-1] == 1 and int(cache.index.at[video.stem, "channels"]) == 1
    clip = cache.clip(video.stem, 3, 4)
    decoded = read_frames(video, start=3, end=6).astype(int)  # grey, up to the codec's <= 3-level chroma noise
    assert clip.shape == decoded.shape and np.abs(clip - decoded).max() <= 3 and (clip[..., 0] == clip[..., 2]).all()
    lines = []
    build_cache(videos, tmp_path / "cache", short_side=None, log=lines.append)
    assert "0 decoded" in lines[-1]  # a one-channel entry is valid on the next build


def test_colour_videos_keep_three_channels(tmp_path):
    root = make_kth_like(tmp_path / "colour", subjects=1, scenarios=("d1",), clip_frames=8, colour=True, workers=1,
                         log=None)
    video = sorted(root.glob("*.avi"))[0]
    cache = build_cache(pd.DataFrame({"video": ["v"], "path": [str(video)]}), tmp_path / "c", short_side=None,
                        log=None)
    assert cache.frames("v").shape[-1] == 3 and cache.clip("v", 1, 2).shape[-1] == 3


def test_synthetic_people_are_grey_by_default_and_coloured_on_request(tmp_path):
    """The default population is grey, as KTH's camera records (colour is a cue BDQ's frame difference removes and
    ELR, SPPA and masking keep); `colour=True` renders the same scene in colour, and the two never share a folder
    (bdqlib.data.data_dir_of) or pretrained weights (the weights key)."""
    from dataclasses import replace

    from bdqlib.config import make_config
    from bdqlib.data import data_dir_of
    from bdqlib.data.synthetic import LUMA, render_video
    from bdqlib.nets.zoo import small_weights_file

    args = dict(clips=1, clip_frames=6, size=(80, 60))
    grey, _ = render_video(0, 1, "walking", "d1", **args)
    colour, _ = render_video(0, 1, "walking", "d1", colour=True, **args)
    assert (grey[..., 0] == grey[..., 1]).all() and (grey[..., 1] == grey[..., 2]).all()
    assert np.ptp(colour.astype(int), axis=-1).max() > 20  # coloured clothes
    luma = np.clip(colour.astype(np.float32) @ np.array(LUMA, np.float32), 0, 255)
    assert np.abs(luma - grey[..., 0]).mean() < 1.0  # the same scene, seen in grey
    cfg = make_config("cpu")
    coloured = replace(cfg, synthetic_colour=True)
    assert data_dir_of(cfg, tmp_path) == tmp_path / "synthetic" and data_dir_of(coloured, tmp_path).name == \
        "synthetic-colour"
    assert small_weights_file(cfg, "small2d") != small_weights_file(coloured, "small2d")
