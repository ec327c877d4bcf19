"""One attacker on one encoder of a finished run, with overrides: the exploration before attack_search.py.

    BDQ_DATA_ROOT=<the run's data> .venv/bin/python docs/studies/attack_scan.py RUN ALPHA|raw PROBE [field=value ...]
    e.g. ... attack_scan.py outputs/<run> 1 res2d@scratch:strong val_epochs=60      (LR=5e-3 in the environment
    overrides the recipe's learning rate)

Prints every epoch's row and the validation and test accuracies of the best validation epoch. Used to find why
the suite's from-scratch attackers were weak (docs/studies/attack_search.md); the choice itself is made on
validation by attack_search.py, and the test figure printed here decided nothing.
"""
import os
import sys
import time
from dataclasses import replace

from attack_search import encoded_output  # this folder's search: the same encoded data
from bdqlib.experiments import pipeline
from bdqlib.train.probes import RECIPES, parse_probes, train_probe

if os.environ.get("LR"):
    RECIPES["strong"] = replace(RECIPES["strong"], lr=float(os.environ["LR"]))
run = pipeline.open_run(sys.argv[1]).for_seed(0)
pipeline.pretrain(run, log=None)
alpha = None if sys.argv[2] == "raw" else float(sys.argv[2])
overrides = dict(a.split("=", 1) for a in sys.argv[4:])
cfg = replace(run.cfg, **{k: type(getattr(run.cfg, k))(v) for k, v in overrides.items()})
encoded = encoded_output(replace(run, cfg=cfg), alpha)  # with the overrides (val_frames, ...) as the suite would
for probe in parse_probes(sys.argv[3]):
    t0 = time.time()
    result = train_probe(probe, encoded, cfg, log=print)
    for row in result.history:
        print({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()})
    print("RESULT", os.environ.get("LR"), sys.argv[2], probe.name, overrides, "val", round(result.val_top1, 3),
          "test", round(result.test_top1, 3), "best", result.best_epoch, "of", result.epochs_trained,
          round(time.time() - t0), "s", flush=True)
