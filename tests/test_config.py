import pandas as pd
import pytest

from bdqlib.config import PROFILES, make_config, parse_names, parse_numbers
from bdqlib.report import plots


def test_profiles():
    paper = make_config("paper")
    assert (paper.action_model, paper.privacy_model, paper.size, paper.num_frames) == ("i3d_r50", "resnet50", 224, 32)
    assert (paper.batch_size, paper.epochs, paper.lr, paper.optimizer, paper.alpha) == (16, 50, 1e-3, "sgd", 1.0)
    assert paper.crop_scales == pytest.approx((1.0, 2 ** -0.25, 2 ** -0.75, 0.5), abs=1e-4)
    cpu = make_config("cpu", alpha=2.0)
    assert cpu.alpha == 2.0 and cpu.action_model == "small3d" and set(PROFILES) == {"paper", "cpu"}
    assert make_config("cpu", epochs=None).epochs == PROFILES["cpu"]["epochs"]  # None keeps the profile's value
    assert cpu.to_dict()["crop_scales"] == list(cpu.crop_scales)


def test_unknown_profile_or_field_is_named():
    with pytest.raises(ValueError, match="unknown profile 'gpu'"):
        make_config("gpu")
    with pytest.raises(ValueError, match="learning_rate"):
        make_config("cpu", learning_rate=0.1)


def results():
    common = {"dataset": "synthetic", "protocol": "retrain", "split": "video", "seed": 0, "action_chance": 1 / 6,
              "privacy_chance": 0.1, "n_test": 10, "epochs": 1}
    rows = [("raw", float("nan"), 0.9, 0.9), ("bdq", 1.0, 0.85, 0.2), ("bdq", 0.0, 0.9, 0.6),
            ("pixelate16", float("nan"), 0.4, 0.3), ("D", 1.0, 0.9, 0.7), ("downsample28", float("nan"), 0.5, 0.5)]
    return pd.DataFrame([{**common, "method": m, "alpha": a, "action_top1": ac, "privacy_top1": p}
                         for m, a, ac, p in rows])


def test_results_table_and_figures(tmp_path):
    table = plots.results_table(results())
    assert table.iloc[0]["method"] == "bdq" and table.iloc[0]["f_0.5"] == pytest.approx((0.85 + 0.8) / 2)
    assert table.set_index("method").loc["raw", "privacy_removed"] == pytest.approx(0.0)
    plots.plot_tradeoff(results(), tmp_path / "a.png")
    plots.plot_flambda(results(), tmp_path / "b.png")
    plots.plot_ablation(results(), {0.0: list(range(15)), 1.0: [7.0] * 15}, tmp_path / "c.png")
    plots.plot_quant_steps({"initial": [i + 0.5 for i in range(15)]}, tmp_path / "d.png")
    assert all((tmp_path / f"{n}.png").stat().st_size > 1000 for n in "abcd")


def test_identical_encoders_share_one_point_and_labels_do_not_collide(tmp_path):
    df = results()
    df = pd.concat([df, df[df["method"] == "bdq"].head(1).assign(method="B+D+Q"),
                    df[df["method"] == "raw"].assign(method="pixelate4")], ignore_index=True)
    points = plots.merged_points(df)
    assert len(points) == len(results())  # two duplicates merged into their twins' points
    labels = set(points["label"])
    assert "bdq a=1 = B+D+Q a=1" in labels and "raw = pixelate4" in labels
    first_module = pd.concat([df[df["method"] == "B+D+Q"], df[df["method"] != "B+D+Q"]], ignore_index=True)
    merged = plots.merged_points(first_module)  # the module's row first: the point still is bdq's (its colour)
    assert set(merged.loc[merged["label"].str.contains("B+D+Q", regex=False), "method"]) == {"bdq"}
    close = pd.DataFrame([{**results().iloc[0], "method": f"m{i}", "privacy_top1": 0.5 + 0.004 * i,
                           "action_top1": 0.5} for i in range(5)])
    fig = plots.plot_tradeoff(close, tmp_path / "e.png")
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in fig.axes[0].texts]
    assert len(boxes) == 5 and not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_name_and_number_lists_are_stripped_and_a_bad_number_names_its_parameter():
    assert parse_names(" small2d, res2d@scratch ,,small3d,") == ["small2d", "res2d@scratch", "small3d"]
    assert parse_names("") == [] and parse_names(3) == ["3"]  # a papermill parameter may arrive as a number
    assert parse_numbers("0, 1,2.5", "ALPHAS") == [0.0, 1.0, 2.5] and parse_numbers("", "ALPHAS") == []
    with pytest.raises(ValueError, match="ALPHAS must be comma-separated numbers, got '1,x'"):
        parse_numbers("1,x", "ALPHAS")
