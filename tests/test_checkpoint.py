"""Checkpoints: RNG states across machines with other numbers of GPUs, and the one config-difference rule."""
import torch

from bdqlib.config import Config, config_changes
from bdqlib.engine import checkpoint


def test_a_checkpoint_of_two_gpus_resumes_on_one_and_one_of_one_on_two(monkeypatch):
    restored = {}

    def set_state(state, device=None):
        if device >= count[0]:
            raise RuntimeError(f"invalid device ordinal {device}")
        restored[device] = state

    count = [1]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count[0])
    monkeypatch.setattr(torch.cuda, "set_rng_state", set_state)
    monkeypatch.setattr(torch.cuda, "set_rng_state_all", lambda states: [set_state(s, i) for i, s in enumerate(states)])
    state = {"python": __import__("random").getstate(), "numpy": __import__("numpy").random.get_state(),
             "torch": torch.get_rng_state(), "cuda": ["gpu0", "gpu1"]}
    checkpoint.set_rng_state(state)  # saved on 2 GPUs, resumed on 1
    assert restored == {0: "gpu0"}
    count[0], restored = 2, {}
    checkpoint.set_rng_state({**state, "cuda": ["gpu0"]})  # saved on 1, resumed on 2
    assert restored == {0: "gpu0"}


def test_config_changes_one_rule_for_every_resume_check():
    now = Config().to_dict()
    old = {k: v for k, v in now.items() if k != "accum_steps"}  # written before the field existed
    assert config_changes(old, now) == []  # a field added later takes its default in the old folder
    assert config_changes({**old, "alpha": 2.0}, now) == ["alpha"]
    assert config_changes({**now, "num_workers": 7}, now) == []  # does not change what is computed
    assert config_changes({**now, "mean": (0.45, 0.45, 0.45)}, now) == []  # a tuple equals its JSON list
    assert config_changes({"probe": "small2d"}, {"probe": "small3d"}) == ["probe"]  # non-Config keys: compared
    assert config_changes({**now, "platform": "kaggle"}, now, ignore=("platform",)) == []
