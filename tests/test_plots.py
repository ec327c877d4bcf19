import matplotlib

matplotlib.use("Agg")
import pandas as pd  # noqa: E402

from bdqlib.report import plots  # noqa: E402


def history(restarts=None):
    h = pd.DataFrame({"epoch": [1, 2, 3, 4], "train_action_top1": 0.5, "val_action_top1": 0.6, "loss_action": 1.0,
                      "loss_privacy": 1.0, "entropy": 1.0, "sigma": 1.0})
    if restarts is not None:
        h["privacy_restarts"] = restarts
    return h


def test_training_curves_mark_the_epochs_in_which_p_restarted(tmp_path):
    fig = plots.plot_training_curves(history([0, 2, 2, 5]), tmp_path / "curves.png")
    marked = sorted({line.get_xdata()[0] for line in fig.axes[0].lines if line.get_linestyle() == ":"})
    assert marked == [2, 4] and (tmp_path / "curves.png").stat().st_size > 1000
    plain = plots.plot_training_curves(history())
    assert not [line for line in plain.axes[0].lines if line.get_linestyle() == ":"]


def test_training_curves_draw_each_ensemble_attacker_where_validated_and_mark_the_warmup():
    h = history().assign(val_privacy_top1=[None, 0.5, None, 0.4], **{"val_privacy_top1_small3d": [None, 0.3, None,
                                                                                                 0.2]})
    fig = plots.plot_training_curves(h, warmup_epochs=1)
    lines = {line.get_label(): line for line in fig.axes[0].lines}
    member = lines["val, ensemble: small3d"]
    assert list(member.get_xdata()) == [2, 4] and list(member.get_ydata()) == [0.3, 0.2]  # only validated epochs
    assert list(lines["val_privacy_top1"].get_xdata()) == [2, 4]
    assert [line.get_xdata()[0] for line in fig.axes[1].lines if line.get_linestyle() == "--"] == [1.5]  # warm-up
    assert not [line for line in plots.plot_training_curves(h).axes[1].lines if line.get_linestyle() == "--"]


def test_tradeoff_draws_one_panel_per_dataset(tmp_path):
    from .test_config import results
    one = plots.plot_tradeoff(results())
    assert len(one.axes) == 1 and one.axes[0].get_title().startswith("synthetic: ")
    both = pd.concat([results(), results().assign(dataset="sbu", privacy_chance=1 / 13)])
    fig = plots.plot_tradeoff(both, tmp_path / "two.png")
    assert [ax.get_title().split(":")[0] for ax in fig.axes] == ["sbu", "synthetic"]
    star = [c for c in fig.axes[0].collections if c.get_offsets().tolist() == [[1 / 13, 1.0]]]
    assert star  # each panel's ideal point sits at its own dataset's chance


def test_frontier_has_one_panel_per_population_and_one_series_per_game_and_alpha(tmp_path):
    df = pd.DataFrame({"synthetic_seed": [0, 0, 0, 7], "subjects": [10, 10, 10, 12],
                       "game": ["bdq", "bdq", "bdq_ensemble", "bdq"], "alpha": [1.0, 1.0, 1.0, 2.0],
                       "kept": [0.8, 0.9, 0.95, 0.7], "removed": [0.6, 0.7, 0.75, 0.9]})
    fig = plots.plot_frontier(df, tmp_path / "frontier.png")
    assert [ax.get_title() for ax in fig.axes] == ["synthetic seed 0, 10 people (test split)",
                                                   "synthetic seed 7, 12 people (test split)"]
    assert [len(c.get_offsets()) for c in fig.axes[0].collections] == [2, 1]  # bdq's two seeds, the ensemble's one
    assert fig.axes[0].get_legend().get_texts()[0].get_text() == "bdq a=1 (n=2)"
    assert (tmp_path / "frontier.png").stat().st_size > 1000
