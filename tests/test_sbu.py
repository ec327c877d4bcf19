import shutil
from pathlib import Path

import pandas as pd
import pytest

from bdqlib.config import make_config
from bdqlib.data import check_splits, prepare_data
from bdqlib.data.layouts import write_sbu_like
from bdqlib.data.sbu import SBU_ACTIONS, pair_label, read_split_file, sbu_manifest, short_sequences

SPLITS = Path(__file__).resolve().parents[2] / "shared" / "data" / "splits"
needs_splits = pytest.mark.skipif(not (SPLITS / "bdq-authors" / "sbu" / "train.txt").is_file(),
                                  reason="public split files (../shared/data/splits) not present")


@pytest.fixture(scope="module")
def tiny_sbu(tmp_path_factory):
    return write_sbu_like(tmp_path_factory.mktemp("sbu"), log=None)


def test_mirrored_sets_are_one_pair():
    assert pair_label("s02s01") == pair_label("s01s02") == "s01+s02"
    with pytest.raises(ValueError, match="not an SBU set name"):
        pair_label("s1s2")


@needs_splits
def test_the_authors_split_has_188_and_94_sequences_of_13_pairs_and_sppa_has_the_same_sizes():
    train, val = (read_split_file(SPLITS / "bdq-authors" / "sbu" / f) for f in ("train.txt", "val.txt"))
    assert (len(train), len(val)) == (188, 94) and not set(train) & set(val)
    assert len({pair_label(name[:6]) for name in train + val}) == 13
    assert {name[7:9] for name in train} == {f"{a:02d}" for a in range(1, 9)}  # all eight interactions
    sppa_train, sppa_test = (read_split_file(SPLITS / "sppa" / "sbu" / f) for f in ("train.txt", "test.txt"))
    assert (len(sppa_train), len(sppa_test)) == (188, 94) and not set(sppa_train) & set(sppa_test)


def test_a_malformed_split_line_names_file_and_line(tmp_path):
    bad = tmp_path / "train.txt"
    bad.write_text("SBU/s01s02/s01s02/01/001,1,20,0,0\nSBU/s01s02/01,1,20\n")
    with pytest.raises(ValueError, match=r"train.txt, line 2"):
        read_split_file(bad)


def test_tiny_layout_reads_with_every_split(tiny_sbu):
    for protocol in ("authors", "sppa", "video"):
        m = sbu_manifest(tiny_sbu, protocol=protocol, log=None)
        assert len(m) == 40 and set(m["subject"]) == {"s01+s02", "s01+s03", "s03+s04", "s02+s04"}
        assert set(m["action"]) == set(SBU_ACTIONS) and m["path"].str.endswith("rgb_*.png").all()
        check_splits(m)  # every pair in train, val and test; no sequence in two splits
    authors = sbu_manifest(tiny_sbu, log=None)
    listed = read_split_file(tiny_sbu / "splits" / "bdq-authors" / "sbu" / "val.txt")
    assert set(authors.loc[authors["split"] == "test", "video"]) == set(listed)  # their "val" is our test
    assert (authors.groupby("subject")["split"].apply(lambda s: (s == "val").sum()) == 1).all()  # carved per pair
    assert short_sequences(authors, 12) == 5 and short_sequences(authors, 8) == 0  # one short take per set


def test_a_doubled_set_folder_reads_the_same(tiny_sbu, tmp_path):
    doubled = tmp_path / "doubled"
    for set_dir in tiny_sbu.glob("s??s??"):
        shutil.copytree(set_dir, doubled / set_dir.name / set_dir.name)
    m = sbu_manifest(doubled, protocol="video", log=None)
    assert sorted(m["video"]) == sorted(sbu_manifest(tiny_sbu, protocol="video", log=None)["video"])


def test_missing_split_files_and_sequences_are_named(tiny_sbu, tmp_path):
    with pytest.raises(FileNotFoundError, match="sppa/sbu/train.txt"):
        sbu_manifest(tiny_sbu, protocol="sppa", split_dir=tmp_path, log=None)
    listed = tmp_path / "bdq-authors" / "sbu"
    listed.mkdir(parents=True)
    (listed / "train.txt").write_text("SBU/s01s02/s01s02/01/001,1,12,0,0\nSBU/s05s06/s05s06/01/001,1,12,0,0\n")
    (listed / "val.txt").write_text("SBU/s01s02/s01s02/02/001,1,12,0,1\n")
    with pytest.raises(FileNotFoundError, match="s05s06_01_001"):
        sbu_manifest(tiny_sbu, split_dir=tmp_path, log=None)
    m = sbu_manifest(tiny_sbu, split_dir=tmp_path, missing="skip", log=None)
    assert set(m["split"]) == {"train", "test", "unused"}
    with pytest.raises(ValueError, match="'authors', 'sppa' or 'video'"):
        sbu_manifest(tiny_sbu, protocol="scenario", log=None)


def test_prepare_data_uses_the_paper_defaults_for_sbu(tiny_sbu, tmp_path):
    paper = make_config("paper", dataset="sbu")
    assert (paper.num_frames, paper.alpha, paper.split) == (16, 2.0, "authors")
    assert make_config("paper", dataset="sbu", alpha=1.0).alpha == 1.0  # an explicit value wins
    cfg = make_config("cpu", dataset="sbu", data_dir=str(tiny_sbu), num_frames=12, size=24, cache_short_side=24)
    data = prepare_data(cfg, root=tmp_path, log=None)
    assert data.num_subjects == 4 and data.num_actions == 8
    assert sum(s.skipped for s in (data.train, data.val, data.test)) == 5  # the short takes, counted
    clip, action, subject = data.test[0]
    assert clip.shape == (3, 12, 24, 24) and 0 <= action < 8 and 0 <= subject < 4
    cached = pd.read_csv(data.cache.directory / "index.csv")
    assert len(cached) == 40 and cached["source"].str.endswith("rgb_*.png").all()
