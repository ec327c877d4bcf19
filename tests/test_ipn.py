import shutil
from pathlib import Path

import pytest

from bdqlib.config import make_config
from bdqlib.data import check_splits, prepare_data
from bdqlib.data.ipn import IPN_GESTURES, ipn_manifest, read_annotations, read_metadata
from bdqlib.data.layouts import write_ipn_like
from bdqlib.metrics import chance_level

SPPA_IPN = Path(__file__).resolve().parents[2] / "shared" / "data" / "splits" / "sppa" / "ipn"
needs_sppa = pytest.mark.skipif(not (SPPA_IPN / "Annot_List.txt").is_file(),
                                reason="public IPN metadata (../shared/data/splits/sppa/ipn) not present")


@pytest.fixture(scope="module")
def tiny_ipn(tmp_path_factory):
    return write_ipn_like(tmp_path_factory.mktemp("ipn"), log=None)


@needs_sppa
def test_sppa_metadata_counts_videos_and_genders_and_no_subject_is_in_both_sets():
    meta = read_metadata("/nonexistent", SPPA_IPN.parents[1])  # found in <split_dir>/sppa/ipn
    assert (meta["set"] == "train").sum() == 148 and (meta["set"] == "test").sum() == 52
    assert meta.groupby(["set", "gender"]).size().to_dict() == {("test", "M"): 32, ("test", "W"): 20,
                                                                ("train", "M"): 104, ("train", "W"): 44}
    assert meta["person"].nunique() == 50 and (meta.groupby("person").size() == 4).all()
    annot = read_annotations(SPPA_IPN / "Annot_List.txt")
    assert len(annot) == 5649 and annot["recording"].nunique() == 200
    assert set(annot["action"]) == set(IPN_GESTURES) | {"D0X"} and len(IPN_GESTURES) == 13


def test_bad_annotation_and_metadata_lines_are_named(tmp_path):
    annot = tmp_path / "Annot_List.txt"
    annot.write_text("video,label,id,t_start,t_end,frames\nv1,G01,4,1,10,10\nv1,G99,4,11,20,10\n")
    with pytest.raises(ValueError, match=r"Annot_List.txt, line 3: unknown gesture label 'G99'"):
        read_annotations(annot)
    annot.write_text("video,label,id,t_start,t_end,frames\nv1,G01,4,1,10,9\n")
    with pytest.raises(ValueError, match="line 2: segment 1-10 does not span 9 frames"):
        read_annotations(annot)
    annot.write_text("video,label,id,t_start,t_end,frames\nv1,G01,4\n")
    with pytest.raises(ValueError, match="line 2: not 'video,label"):
        read_annotations(annot)
    header = "video,frames,label,Hand,Background,Illumination,People in Scene,Background Motion,Set\n"
    (tmp_path / "metadata_train.csv").write_text(header + "a_1_R_#1,10,W,R,C,S,S,S,train\na_2_R_#2,10,X,R,C,S,S,S,train\n")
    (tmp_path / "metadata_test.csv").write_text(header + "a_3_R_#3,10,M,R,C,S,S,S,test\n")
    with pytest.raises(ValueError, match=r"metadata_train.csv, line 3: gender label 'X'"):
        read_metadata(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="Annot_List.txt not found"):
        ipn_manifest(tmp_path / "empty", log=None)


def test_tiny_layout_drops_non_gesture_and_splits_by_subject(tiny_ipn):
    m = ipn_manifest(tiny_ipn, log=None)
    assert len(m) == 6 * 13 and set(m["action"]) == set(IPN_GESTURES)  # D0X stretches are no clips
    assert set(m["subject"]) == {"W", "M"} and m.groupby("person")["split"].nunique().max() == 1
    assert m.groupby("split")["subject"].nunique().to_dict() == {"test": 2, "train": 2, "val": 2}
    check_splits(m)  # also: no recording in two splits
    first = m.iloc[0]
    assert first["video"] == f"{first['recording']}@{first['t_start']}" and first["start"] == 1
    assert first["end"] == first["t_end"] - first["t_start"] + 1


def test_a_missing_frames_folder_is_named_or_skipped(tiny_ipn, tmp_path):
    copy = tmp_path / "ipn"
    shutil.copytree(tiny_ipn, copy)
    gone = sorted((copy / "frames").iterdir())[0]
    shutil.rmtree(gone)
    with pytest.raises(FileNotFoundError, match=gone.name.replace("#", "\\#")):
        ipn_manifest(copy, log=None)
    assert gone.name not in set(ipn_manifest(copy, missing="skip", log=None)["recording"])


def test_prepare_data_reads_only_gesture_frames_and_chance_is_the_majority_gender(tiny_ipn, tmp_path):
    assert make_config("paper", dataset="ipn").alpha == 8.0 and make_config("paper", dataset="ipn").num_frames == 32
    cfg = make_config("cpu", dataset="ipn", data_dir=str(tiny_ipn), num_frames=8, size=24, cache_short_side=24)
    data = prepare_data(cfg, root=tmp_path, log=None)
    assert data.num_actions == 13 and data.subjects == ["M", "W"]
    assert data.cache.num_frames(data.test.manifest["video"].iloc[0]) == 10  # one gesture segment, not the video
    clip, action, gender = data.test[0]
    assert clip.shape == (3, 8, 24, 24) and gender in (0, 1)
    assert chance_level(data.test.manifest["subject_idx"]) == 0.5  # one woman, one man in the tiny test split
    with pytest.raises(ValueError, match="SPLIT='subject'"):
        prepare_data(make_config("cpu", dataset="ipn", data_dir=str(tiny_ipn), split="video"), root=tmp_path,
                     log=None)
