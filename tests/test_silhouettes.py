"""Synthetic silhouettes in Weizmann's layout: the cue knobs do what they say, and the file reads as Weizmann's."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.io import loadmat

from bdqlib.data import silhouettes
from bdqlib.data.silhouettes import Cues, shrink, silhouette_videos, vary, weizmann_names, write_silhouette_masks
from bdqlib.data.synthetic import BODY_RANGES, draw_population
from bdqlib.data.weizmann import weizmann_manifest


def _centre_x(masks):
    """(T,) column of each frame's silhouette centroid."""
    cols = np.arange(masks.shape[1])
    return (masks.sum(0) * cols[:, None]).sum(0) / np.maximum(masks.sum((0, 1)), 1)


def test_cues_refuse_values_outside_their_range():
    for bad in (dict(spread=1.5), dict(within=-0.1), dict(placement="left")):
        with pytest.raises(ValueError, match="Cues"):
            Cues(**bad)


def test_spread_pulls_build_and_gait_to_the_centre_and_within_varies_one_person():
    people = draw_population(0, 4)
    same = [shrink(p, 0.0) for p in people]
    for k, (lo, hi) in BODY_RANGES.items():
        assert {getattr(p, k) for p in same} == {(lo + hi) / 2}, k
        assert [getattr(shrink(p, 1.0), k) for p in people] == [getattr(p, k) for p in people]
    rng = np.random.default_rng(0)
    a, b = vary(people[0], 0.1, rng), vary(people[0], 0.1, rng)
    assert any(getattr(a, k) != getattr(b, k) for k in BODY_RANGES)
    assert all(lo <= getattr(a, k) <= hi for k, (lo, hi) in BODY_RANGES.items())
    assert vary(people[0], 0.0, rng) is people[0]


def test_random_placement_moves_people_between_videos_and_fixed_does_not():
    lengths = {n: 6 for n in weizmann_names(2)}
    fixed = silhouette_videos(people=2, lengths=lengths, cues=Cues(), size=(90, 72))
    placed = silhouette_videos(people=2, lengths=lengths, cues=Cues(placement="random"), size=(90, 72))
    assert set(fixed) == set(placed) == set(lengths)
    still = ("daria_bend", "daria_wave1", "daria_jack")
    assert np.ptp([_centre_x(fixed[v])[0] for v in still]) < 3  # centred in every video
    assert np.ptp([_centre_x(placed[v])[0] for v in still]) > 3
    again = silhouette_videos(people=2, lengths=lengths, cues=Cues(placement="random"), size=(90, 72))
    assert all(np.array_equal(placed[v], again[v]) for v in placed)  # deterministic from (seed, cues)


def test_the_written_file_has_the_given_lengths_and_reads_as_weizmann(tmp_path):
    lengths = {n: 8 + i % 3 for i, n in enumerate(weizmann_names(9))}
    lengths.pop("eli_jack")
    out = write_silhouette_masks(tmp_path, people=3, lengths=lengths, cues=Cues(within=0.05, placement="random"),
                                 size=(90, 72), log=None)
    fields = loadmat(out, simplify_cells=True)["original_masks"]
    assert set(fields) == {n for n in weizmann_names(3) if n != "eli_jack"}
    assert all(fields[n].shape == (72, 90, lengths[n]) and fields[n].max() == 1 for n in fields)
    stamp = (tmp_path / "layout.json").stat().st_mtime_ns
    assert write_silhouette_masks(tmp_path, people=3, lengths=lengths, cues=Cues(within=0.05, placement="random"),
                                  size=(90, 72), log=None) == out
    assert (tmp_path / "layout.json").stat().st_mtime_ns == stamp  # the same parameters: not written again
    manifest = weizmann_manifest(out, split="kfold2", seed=0, log=None)
    assert set(manifest["subject"]) == {"daria", "denis", "eli"} and manifest["video"].nunique() == len(fields)
    assert silhouettes.WEIZMANN_MOTION["wave2"] == "handclapping"


def test_the_calibration_study_runs_synthetic_silhouettes_through_weizmanns_protocol(tmp_path):
    """docs/studies/calibrate_silhouettes.py at SMOKE sizes: the masks file is written, raw is validated on one fold
    and the line a reader compares with the real run is printed, with intervals."""
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "BDQ_DATA_ROOT": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, "docs/studies/calibrate_silhouettes.py", "--out", str(tmp_path / "run"),
                           "--within", "0.05", "--smoke", "--seeds", "0"], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "run-masks" / "classification_masks.mat").is_file()
    assert (tmp_path / "run" / "predictions.csv").is_file()
    line = done.stdout.strip().splitlines()[-1]
    assert line.startswith("synthetic silhouettes Cues(spread=1.0, within=0.05, placement='random')")
    assert "raw action" in line and "raw privacy" in line and line.count("(") == 3
