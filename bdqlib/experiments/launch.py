"""The worker torchrun starts for each process (bdqlib.engine.distributed); `pipeline` launches it when cfg.nproc > 1.

    torchrun --standalone --nproc_per_node=2 -m bdqlib.experiments.launch train RUN_DIR ALPHA [METHOD]   (a game method)
    torchrun --standalone --nproc_per_node=2 -m bdqlib.experiments.launch validate RUN_DIR METHOD [ALPHA]

Every process opens the run folder (its run.json holds the config), reads the data from the frame cache that 01
built, and trains its share; rank 0 writes the checkpoints, log.csv and results.csv rows.
"""
from __future__ import annotations

import argparse

from .. import methods
from ..engine.distributed import init_from_env
from ..engine.steps import quiet, resolve_device
from ..train.game import train_adversarial
from . import pipeline
from .validate import validate_encoder


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bdqlib.experiments.launch")
    ap.add_argument("task", choices=("train", "validate"))
    ap.add_argument("run_dir")
    ap.add_argument("rest", nargs="*", help="train: ALPHA [METHOD]; validate: METHOD [ALPHA]")
    args = ap.parse_args(argv)
    run = pipeline.open_run(args.run_dir)
    d = init_from_env(resolve_device(run.cfg.device))
    log = print if d.main else quiet
    data = pipeline.load_data(run, log=None)
    if args.task == "train":
        alpha, method = float(args.rest[0]), methods.resolve(args.rest[1] if len(args.rest) > 1 else "bdq")[0]
        train_adversarial(method.game(run.cfg, alpha), data, run.adversarial_dir(alpha, method.name), log=log,
                          budget=run.budget(), dist=d, make_encoder=method.make_encoder)
    else:
        method, alpha = args.rest[0], float(args.rest[1]) if len(args.rest) > 1 else None
        encoder = pipeline.encoder_of(run, method, alpha)
        rows, predictions = validate_encoder(encoder, data, run.cfg, method=method, alpha=alpha,
                                             checkpoint_dir=run.validation_dir(method, alpha), log=log,
                                             budget=run.budget(), dist=d)
        if d.main:
            run.record_predictions(predictions)
            run.record(*rows)

if __name__ == "__main__":
    main()
