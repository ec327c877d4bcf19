"""The validation protocol (paper §4.2, made strict): freeze an encoder, train fresh networks on its output, test.

The numbers that count are these, never the accuracies of the adversarial phase (the student reproduction's
mistake):
  action  = test top-1 of a fresh T (cfg.action_model), trained to its best validation accuracy
            (clip-1 crop-1: the t centre frames, centre crop);
  privacy = the **maximum** test top-1 over a suite of fresh attackers (cfg.attackers: frame-level 2-D networks
            from pretrained and random initialisation and a clip-level 3-D network), each trained to its best
            validation accuracy (bdqlib.train.probes). A frame-level attacker scores a clip by its softmax averaged
            over the clip's frames.
Every attacker's result is kept as its own row of results.csv (`attacker` = its name); the row with
`attacker = "strongest"` carries the maximum and names the attacker that reached it (`strongest_attacker`).
The same routine evaluates any encoder: the identity ("raw"), BDQ, its module ablations and the baselines.

A second protocol, SPPA's "frozen_clean" (seed 003 §4): the raw video's T and attackers, applied frozen to an
encoder's test output -- a naive attacker's view, reported beside the paper's, never instead of it.
"""
from __future__ import annotations

import copy
import hashlib

import torch

from ..engine.distributed import SINGLE, Dist
from ..engine.steps import quiet
from ..metrics import chance_level
from ..report.results import STRONGEST
from ..train.probes import frozen_predictions, run_probes
from .run import alpha_key


def result_row(cfg, data, *, method: str, alpha, protocol: str, attacker: str, action: dict, privacy: dict,
               oracle: dict | None = None) -> dict:
    """One results.csv row. action/privacy: test_top1 and optionally val_top1, epochs_trained, best_epoch, name.
    oracle: the test maximum over the suite (privacy) and over the action networks, labelled as such."""
    test = data.test.manifest
    oracle = oracle or {}
    return {"dataset": cfg.dataset, "method": method, "alpha": alpha_key(alpha), "protocol": protocol, "attacker": attacker,
            "split": cfg.split, "seed": cfg.seed,
            "action_top1": action["test_top1"], "privacy_top1": privacy["test_top1"],
            "action_chance": chance_level(test["action_idx"]), "privacy_chance": chance_level(test["subject_idx"]),
            "n_test": len(test), "epochs_trained": privacy.get("epochs_trained", 0),
            "privacy_val_top1": privacy.get("val_top1", float("nan")),
            "best_epoch": privacy.get("best_epoch", 0), "action_val_top1": action.get("val_top1", float("nan")),
            "action_epochs_trained": action.get("epochs_trained", 0),
            "strongest_attacker": privacy.get("name", attacker), "action_network": action.get("name", ""),
            "privacy_oracle_top1": oracle.get("privacy", float("nan")), "oracle_attacker": oracle.get("attacker", ""),
            "action_oracle_top1": oracle.get("action", float("nan"))}


def probe_scores(result) -> dict:
    return {"test_top1": result.test_top1, "val_top1": result.val_top1, "epochs_trained": result.epochs_trained,
            "best_epoch": result.best_epoch, "name": result.probe.name}


def chosen_on_validation(scores: dict) -> str:
    """The network whose *validation* accuracy is highest (the first in suite order on a tie): what counts. The
    test split never decides."""
    return max(scores, key=lambda name: (scores[name].get("val_top1", float("nan")), -list(scores).index(name)))


def suite_rows(cfg, data, *, method: str, alpha, protocol: str, actions: dict, attackers: dict) -> list:
    """One row per attacker plus the "strongest" row. Privacy is the attacker chosen on validation (the best
    validation accuracy); action is the action network chosen the same way; every row carries that action. The
    test maxima over the suite and over the action networks are kept beside them as the oracle columns
    (`privacy_oracle_top1`, `oracle_attacker`, `action_oracle_top1`), never as the result."""
    action = actions[chosen_on_validation(actions)] if len(actions) > 1 else next(iter(actions.values()))
    top = max(attackers, key=lambda name: attackers[name]["test_top1"])
    oracle = {"privacy": attackers[top]["test_top1"], "attacker": top,
              "action": max(a["test_top1"] for a in actions.values())}
    rows = [result_row(cfg, data, method=method, alpha=alpha, protocol=protocol, attacker=name, action=action,
                       privacy=scores, oracle=oracle) for name, scores in attackers.items()]
    best = chosen_on_validation(attackers)
    rows.append(result_row(cfg, data, method=method, alpha=alpha, protocol=protocol, attacker=STRONGEST,
                           action=action, privacy={**attackers[best], "name": best}, oracle=oracle))
    return rows


def prediction_rows(cfg, data, *, method: str, alpha, protocol: str, network: str, target: str, pred) -> list:
    """predictions.csv rows of one network: every test clip's video, true and predicted label (in the test split's
    order), so that any accuracy and its interval can be recomputed from them (bdqlib.report.stats)."""
    test = data.test.manifest
    labels = test["action_idx" if target == "action" else "subject_idx"].tolist()
    base = {"dataset": cfg.dataset, "method": method, "alpha": alpha_key(alpha), "protocol": protocol,
            "network": network, "target": target, "split": cfg.split, "seed": cfg.seed}
    return [{**base, "clip": i, "video": v, "label": int(y), "pred": int(p)}
            for i, (v, y, p) in enumerate(zip(test["video"].tolist(), labels, list(pred)))]


IDENTITY_VALUES = 4096  # an encoder state with more numbers than this is identified by its SHA-256 instead


def state_summary(state: dict):
    """An encoder's state as a checkpoint records it: its values (BDQ's 16), or for a large one (ALF, RAPrivacy with
    its style bank, SPPA's key network) their SHA-256 and count, so four checkpoints do not each hold a copy."""
    numbers = sum(v.numel() for v in state.values())
    if numbers <= IDENTITY_VALUES:
        return {k: v.tolist() for k, v in state.items()}
    digest = hashlib.sha256()
    for k in sorted(state):
        digest.update(k.encode())
        # the raw bytes, whatever the dtype (numpy has no bfloat16); for fp32 the same bytes numpy would give
        digest.update(state[k].detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return {"sha256": digest.hexdigest(), "numbers": int(numbers)}


def encoder_identity(encoder, method: str, alpha=None) -> dict:
    """What a validation checkpoint is about: the method, alpha, the encoder's modules and sizes, and its values
    (a checkpoint of another encoder is refused on resume)."""
    return {"method": method, "alpha": alpha_key(alpha), "encoder": repr(encoder),
            "encoder_state": state_summary(encoder.state_dict())}


def keeps_weights(cfg, method: str) -> bool:
    """Whether a finished validation checkpoint of `method` keeps its best weights (cfg.probe_weights)."""
    if cfg.probe_weights not in ("raw", "all", "none"):
        raise ValueError(f"probe_weights must be 'raw', 'all' or 'none', got {cfg.probe_weights!r}")
    return cfg.probe_weights == "all" or (cfg.probe_weights == "raw" and method == "raw")


def train_suite_member(encoder, data, cfg, *, method: str, alpha=None, checkpoint_dir, key: str, store=None,
                       log=print) -> None:
    """One network of `validate_encoder`'s suite (`key`: its name in suite_probes, e.g. "identity-res2d@scratch"),
    trained to its finished checkpoint in `checkpoint_dir`: the suite's networks trained side by side in processes
    (bdqlib.experiments.pipeline), E's output shared through the file `store`. validate_encoder reads them back."""
    frozen = copy.deepcopy(encoder).cpu().eval()
    run_probes(frozen, data, cfg, checkpoint_dir=checkpoint_dir, identity=encoder_identity(frozen, method, alpha),
               log=log, keep_weights=keeps_weights(cfg, method), only={key}, store=store)


def validate_encoder(encoder, data, cfg, *, method: str, alpha=None, checkpoint_dir=None, log=print,
                     return_probes: bool = False, budget=None, dist: Dist = SINGLE, store=None):
    """Train the action networks and the attack suite on the frozen `encoder`'s output; return the results.csv rows
    and the predictions.csv rows (and the probe results).

    checkpoint_dir: optional folder; every probe then saves after each epoch and resumes (refusing a checkpoint
    written with another config, method or encoder). store: a file with E's output computed by another process
    (EncodedData), read instead of encoding again where a network is left to train. dist: under torchrun, this
    process's place (every process returns the same rows; only rank 0 writes).
    """
    log = log or quiet
    frozen = copy.deepcopy(encoder).cpu().eval()
    identity = encoder_identity(frozen, method, alpha)
    probes = run_probes(frozen, data, cfg, checkpoint_dir=checkpoint_dir, identity=identity, log=log, budget=budget,
                        keep_weights=keeps_weights(cfg, method), dist=dist, store=store)
    rows = suite_rows(cfg, data, method=method, alpha=alpha, protocol="retrain",
                      actions={r.probe.name: probe_scores(r) for r in probes["actions"]},
                      attackers={r.probe.name: probe_scores(r) for r in probes["attackers"]})
    predictions = [row for r in probes["actions"] + probes["attackers"] if r.test_pred is not None
                   for row in prediction_rows(cfg, data, method=method, alpha=alpha, protocol="retrain",
                                              network=r.probe.name, target=r.probe.target, pred=r.test_pred)]
    top = rows[-1]
    log(f"[validate {method}{'' if alpha_key(alpha) is None else f' alpha={alpha:g}'}] action {top['action_top1']:.3f} "
        f"by {top['action_network']} (chance {top['action_chance']:.3f}); privacy {top['privacy_top1']:.3f} by "
        f"{top['strongest_attacker']}, the attacker chosen on validation (chance {top['privacy_chance']:.3f}; "
        f"attackers' test: " + ", ".join(f"{r['attacker']} {r['privacy_top1']:.3f}" for r in rows[:-1])
        + f"), n={top['n_test']}")
    return (rows, predictions, probes) if return_probes else (rows, predictions)


def evaluate_frozen_clean(encoder, data, cfg, action, attackers: dict, *, method: str, alpha=None) -> tuple:
    """SPPA's protocol: T and attackers trained on clean data (name -> (model, level)), applied frozen to this
    encoder's output; the attacker that counts is chosen on the encoder's validation split. Returns (results.csv
    rows, predictions.csv rows)."""
    val = frozen_predictions(encoder, data, cfg, action, attackers, split="val")
    test = frozen_predictions(encoder, data, cfg, action, attackers, split="test")

    def scores(name):
        (pv, tv), (pt, tt) = val[name], test[name]
        return {"test_top1": int((pt == tt).sum()) / max(len(tt), 1), "val_top1": int((pv == tv).sum()) / max(len(tv), 1),
                "name": name}
    rows = suite_rows(cfg, data, method=method, alpha=alpha, protocol="frozen_clean",
                      actions={"action": {**scores("action"), "name": cfg.action_model}},
                      attackers={name: scores(name) for name in attackers})
    predictions = [row for name in ["action", *attackers]
                   for row in prediction_rows(cfg, data, method=method, alpha=alpha, protocol="frozen_clean",
                                              network=cfg.action_model if name == "action" else name,
                                              target="action" if name == "action" else "identity",
                                              pred=test[name][0].tolist())]
    return rows, predictions
