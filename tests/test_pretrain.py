"""The cpu profile's pretraining of the small models (bdqlib.train.pretrain)."""
from bdqlib.config import make_config
from bdqlib.train.pretrain import pretrain_small_models


def test_pretraining_runs_silently_with_log_none_and_is_cached(tmp_path):
    cfg = make_config("cpu", synthetic_subjects=2, pretrain_epochs=1, num_frames=4, size=24, cache_short_side=24,
                      action_width=4, privacy_width=4, val_views=1, val_min_epochs=1, batch_size=6,
                      weights_dir=str(tmp_path / "weights"))
    paths = pretrain_small_models(cfg, data_root=tmp_path, log=None)  # scripts pass log=None
    assert all(p.is_file() for p in paths.values())
    stamps = {name: p.stat().st_mtime_ns for name, p in paths.items()}
    assert pretrain_small_models(cfg, data_root=tmp_path, log=None) == paths  # cached: nothing trained again
    assert {name: p.stat().st_mtime_ns for name, p in paths.items()} == stamps
