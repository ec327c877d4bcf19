"""bdqlib.data.weizmann: the masks file and RGB videos of real people, and the video-level k-fold split."""
import shutil

import numpy as np
import pandas as pd
import pytest

from bdqlib.config import make_config
from bdqlib.data import check_splits, prepare_data
from bdqlib.data.layouts import write_weizmann_like
from bdqlib.data.video import VideoReadError, read_frames, write_video
from bdqlib.data.weizmann import PEOPLE, WEIZMANN_ACTIONS, parse_name, split_source, weizmann_manifest

from .conftest import WEIZMANN, needs_weizmann_video

MASKS = WEIZMANN / "classification_masks.mat"
needs_masks = pytest.mark.skipif(not MASKS.is_file(), reason="Weizmann masks (../shared/data/weizmann) not present")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_weizmann_like(tmp_path_factory.mktemp("weizmann"), log=None)


def test_names_parse_with_takes_and_the_wave_actions():
    assert parse_name("lena_run2") == ("lena", "run", 2)
    assert parse_name("eli_wave1") == ("eli", "wave1", 1) and parse_name("ido_pjump") == ("ido", "pjump", 1)
    with pytest.raises(ValueError, match="unknown person 'bob'"):
        parse_name("bob_walk")
    with pytest.raises(ValueError, match="unknown action 'fly'"):
        parse_name("eli_fly")


def test_sources_are_named_in_errors(tiny, tmp_path):
    assert split_source(tiny) == (tiny, "original_masks")
    assert split_source(f"{tiny}#aligned_masks") == (tiny, "aligned_masks")
    with pytest.raises(ValueError, match="must be one of original_masks, aligned_masks"):
        split_source(f"{tiny}#other")
    with pytest.raises(FileNotFoundError, match="nope.mat"):
        split_source(tmp_path / "nope.mat")
    with pytest.raises(FileNotFoundError, match="neither a .mat masks file nor a folder"):
        split_source(tmp_path / "absent")
    with pytest.raises(VideoReadError, match="no field 'eli_fly'"):
        read_frames(f"{tiny}#original_masks/eli_fly")
    bad = tmp_path / "bad.mat"
    bad.write_bytes(b"not matlab")
    with pytest.raises(VideoReadError, match="bad.mat: not a readable MATLAB file"):
        read_frames(f"{bad}#original_masks/eli_walk")


def test_masks_read_as_grey_video_whole_and_in_part(tiny):
    whole = read_frames(f"{tiny}#original_masks/eli_jack")
    assert whole.shape == (16, 144, 180, 3) and set(np.unique(whole)) == {0, 255}
    assert (whole[..., 0] == whole[..., 2]).all() and whole.mean() > 1  # a person is there
    assert np.array_equal(read_frames(f"{tiny}#original_masks/eli_jack", start=3, end=5), whole[2:5])
    with pytest.raises(VideoReadError, match="which has 16"):
        read_frames(f"{tiny}#original_masks/eli_jack", start=10, end=20)
    assert read_frames(f"{tiny}#aligned_masks/eli_jack").shape[1:3] == (108, 90)


def test_every_video_is_tested_exactly_once_over_the_folds(tiny):
    tested, k = [], 5
    for seed in range(k):
        m = weizmann_manifest(tiny, split="kfold5", seed=seed, log=None)
        check_splits(m)  # every person in every split, no video in two
        train = m[m["split"] == "train"]
        assert set(train["subject"]) == {"daria", "denis", "eli"} and set(train["action"]) == set(WEIZMANN_ACTIONS)
        assert m[m["split"] == "val"].groupby("subject")["video"].nunique().tolist() == [1, 1, 1]
        tested += sorted(m.loc[m["split"] == "test", "video"].unique())
    assert sorted(tested) == sorted(m["video"].unique()) and len(tested) == 30  # each once
    again = weizmann_manifest(tiny, split="kfold5", seed=5, log=None)  # seed 5: fold 0 again
    first = weizmann_manifest(tiny, split="kfold5", seed=0, log=None)
    assert set(again.loc[again["split"] == "test", "video"]) == set(first.loc[first["split"] == "test", "video"])
    with pytest.raises(ValueError, match="k-fold cross-validation"):
        weizmann_manifest(tiny, split="video", log=None)


def test_prepare_data_caches_masks_with_one_channel(tiny, tmp_path):
    cfg = make_config("cpu", dataset="weizmann", data_dir=str(tiny), weights="none")
    assert cfg.split == "kfold5"
    data = prepare_data(cfg, root=tmp_path, log=None)
    assert data.num_subjects == 3 and data.num_actions == 10
    video = data.manifest["video"].iloc[0]
    assert data.cache.frames(video).shape[-1] == 1  # grey, as KTH's
    clip, action, subject = data.train[0][:3]
    assert clip.shape == (3, cfg.num_frames, cfg.size, cfg.size)


def test_a_folder_of_rgb_videos_is_read_through_pyav(tmp_path):
    for name in ("eli_walk", "ido_walk", "lena_run1"):
        write_video(tmp_path / f"{name}.avi", np.full((10, 144, 180, 3), 90, np.uint8))
    m = weizmann_manifest(tmp_path, split="kfold2", log=None)
    assert sorted(m["video"].unique()) == ["eli_walk", "ido_walk", "lena_run1"]
    assert m.groupby("video")["end"].max().tolist() == [10, 10, 10] and set(m["take"]) == {1}


@needs_weizmann_video
def test_the_shared_rgb_file_is_a_weizmann_video(tmp_path):
    shutil.copy(WEIZMANN / "eli_jack.avi", tmp_path / "eli_jack.avi")
    m = weizmann_manifest(tmp_path, split="kfold2", log=None)
    assert m["video"].unique().tolist() == ["eli_jack"] and m["end"].max() == 51


@needs_masks
def test_the_real_masks_file_holds_93_videos_of_9_people():
    m = weizmann_manifest(MASKS, seed=0, log=None)
    videos = m.drop_duplicates("video")
    assert len(videos) == 93 and tuple(sorted(videos["subject"].unique())) == PEOPLE
    assert videos.groupby("subject").size().to_dict()["lena"] == 13
    assert sorted(videos.loc[videos["take"] == 2, "video"]) == ["lena_run2", "lena_skip2", "lena_walk2"]
    lengths = m.groupby("video")["end"].max()
    assert lengths.min() == 28 and lengths.max() == 146
    assert read_frames(f"{MASKS}#original_masks/daria_bend").shape == (84, 144, 180, 3)
    tested = pd.concat(weizmann_manifest(MASKS, seed=s, log=None).query("split == 'test'") for s in range(5))
    assert tested["video"].nunique() == 93 and tested.drop_duplicates("video")["video"].is_unique
