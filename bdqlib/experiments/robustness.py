"""The paper's robustness experiments (§5.2-5.4, §5.6) on a run's encoders, resumable, as notebook 06 runs them.

* `sweep_attackers` (Fig. 5): more attacker architectures, each trained to its best validation epoch on an
  encoder's frozen output. They are attackers like the suite's: their rows join the encoder's rows in
  results.csv and the "strongest" row is recomputed over all of them -- privacy is what the strongest attacker we
  built achieves, so a sweep attacker that beats the suite moves the headline.
* `sweep_actions` (Fig. 6): other action networks on the same output, in action_sweep.csv. They do not change the
  headline action accuracy, which stays the configured T's (the paper's protocol).
* `reconstruction_attack` (Fig. 7): a 3-D U-Net trained on (E(x), x) (bdqlib.train.reconstruct); its PSNR/SSIM, and
  identity attackers trained on the reconstructions, in reconstruction.csv.
* Event cameras (Fig. 8) are encoders (bdqlib.methods.dvs) validated like any other; nothing extra is needed here.

Every step skips what its table already holds, and the networks keep resumable checkpoints in the run folder.
"""
from __future__ import annotations

import copy

import pandas as pd
import torch

from .. import methods
from ..config import parse_names, parse_numbers, run_default
from ..core.encoder import BDQEncoder
from ..engine.steps import quiet, resolve_device
from ..report.results import encoder_tag, read_results, record_results
from ..train.probes import EncodedData, Probe, parse_probes, train_probe
from ..train.reconstruct import Reconstructed, UNet3D, train_reconstruction
from .run import alpha_key
from .validate import STRONGEST, encoder_identity, keeps_weights, prediction_rows, probe_scores, suite_rows

ACTION_SWEEP = "action_sweep.csv"
ACTION_SWEEP_KEY = ["dataset", "method", "alpha", "network", "split", "seed"]
RECONSTRUCTION = "reconstruction.csv"
RECONSTRUCTION_KEY = ["dataset", "method", "alpha", "attacker", "split", "seed"]


def _csv_alpha(alpha) -> float:
    """alpha as the tables store it: a float, NaN for none."""
    a = alpha_key(alpha)
    return float("nan") if a is None else a


def _row_scores(row: dict) -> dict:
    """An attacker's scores as suite_rows takes them, from its results.csv row."""
    return {"test_top1": row["privacy_top1"], "val_top1": row["privacy_val_top1"], "name": row["attacker"],
            "epochs_trained": row["epochs_trained"], "best_epoch": row["best_epoch"]}


def _validated_rows(run, method: str, alpha) -> tuple:
    """(attacker rows, strongest row) of an encoder's retrain validation; an error if it has none yet."""
    rows = run.rows(method, alpha)
    top = [r for r in rows if r["attacker"] == STRONGEST]
    if not top:
        raise LookupError(f"{method}{'' if alpha_key(alpha) is None else f' alpha={alpha:g}'} has not been validated in "
                          f"{run.run_dir} yet: run 03/04 (or pipeline.validate) first")
    return [r for r in rows if r["attacker"] != STRONGEST], top[-1]


def _probe_checkpoints(run, method, alpha):
    folder = run.validation_dir(method, alpha)
    folder.mkdir(parents=True, exist_ok=True)
    return lambda probe: folder / f"{probe.target}-{probe.name}.pt"


def sweep_attackers(run, data, encoder, *, method: str, alpha=None, attackers: list, log=print) -> dict:
    """Train every attacker of `attackers` (Probes) that this encoder has no row for; record its row and the
    strongest row recomputed over the suite and the sweep. Returns attacker name -> test top-1 (all requested)."""
    log = log or quiet
    rows, top = _validated_rows(run, method, alpha)
    scores = {r["attacker"]: _row_scores(r) for r in rows}
    todo = [p for p in attackers if p.name not in scores]
    if todo:
        cfg = run.cfg
        frozen = copy.deepcopy(encoder).cpu().eval()
        encoded = EncodedData(frozen, data, cfg, device=resolve_device(cfg.device), views=cfg.val_views, log=log)
        checkpoint = _probe_checkpoints(run, method, alpha)
        for probe in todo:
            result = train_probe(probe, encoded, cfg, checkpoint=checkpoint(probe), log=log, budget=run.budget(),
                                 identity=encoder_identity(frozen, method, alpha),
                                 keep_weights=keeps_weights(cfg, method))
            scores[probe.name] = probe_scores(result)
            run.record_predictions(prediction_rows(cfg, data, method=method, alpha=alpha, protocol="retrain",
                                                   network=probe.name, target="identity", pred=result.test_pred))
        action = {"test_top1": top["action_top1"], "val_top1": top["action_val_top1"],
                  "epochs_trained": top["action_epochs_trained"], "name": top.get("action_network", "")}
        new = suite_rows(run.cfg, data, method=method, alpha=alpha, protocol="retrain", actions={"chosen": action},
                         attackers=scores)
        for row in new:  # the action side is the validated one; the oracle columns recomputed over the new suite
            row["action_oracle_top1"] = top.get("action_oracle_top1", row["action_oracle_top1"])
        run.record(*new)
        if new[-1]["strongest_attacker"] != top["strongest_attacker"]:
            log(f"[sweep] {method}: the strongest attacker is now {new[-1]['strongest_attacker']} "
                f"({new[-1]['privacy_top1']:.3f}; the suite's best was {top['strongest_attacker']} "
                f"{top['privacy_top1']:.3f}): results.csv's strongest row is updated")
    return {p.name: scores[p.name]["test_top1"] for p in attackers}


def sweep_actions(run, data, encoder, *, method: str, alpha=None, networks: list, log=print) -> pd.DataFrame:
    """Train every action network of `networks` (Probes, target "action") on this encoder's output, to its best
    validation epoch; rows in action_sweep.csv (skipped when there). The configured T's result is taken from
    results.csv (the same network, seed and data: training it again would give the same number)."""
    log = log or quiet
    path = run.run_dir / ACTION_SWEEP
    _, top = _validated_rows(run, method, alpha)
    cfg = run.cfg
    base = {"dataset": cfg.dataset, "method": method, "alpha": _csv_alpha(alpha), "split": cfg.split, "seed": cfg.seed,
            "action_chance": top["action_chance"], "n_test": top["n_test"]}
    done = set(_rows_of(path, method, alpha, cfg.seed)["network"])
    encoded = None
    for probe in networks:
        if probe.name in done:
            continue
        # the action networks validation trained are read back from their finished checkpoints, not trained again
        if encoded is None:
            frozen = copy.deepcopy(encoder).cpu().eval()
            encoded = EncodedData(frozen, data, cfg, device=resolve_device(cfg.device), views=cfg.val_views, log=log)
        result = train_probe(probe, encoded, cfg, checkpoint=_probe_checkpoints(run, method, alpha)(probe),
                             identity=encoder_identity(frozen, method, alpha), log=log, budget=run.budget(),
                             keep_weights=keeps_weights(cfg, method))
        row = {"action_top1": result.test_top1, "action_val_top1": result.val_top1,
               "epochs_trained": result.epochs_trained, "best_epoch": result.best_epoch}
        if result.test_pred is not None:
            run.record_predictions(prediction_rows(cfg, data, method=method, alpha=alpha, protocol="retrain",
                                                   network=probe.name, target="action", pred=result.test_pred))
        record_results(path, [{**base, "network": probe.name, **row}], key=ACTION_SWEEP_KEY, columns=ACTION_SWEEP_KEY)
    return _rows_of(path, method, alpha, cfg.seed)


def _rows_of(path, method: str, alpha, seed: int) -> pd.DataFrame:
    """This encoder's rows of one seed: the table is shared by every seed's process, so "done" is per seed."""
    df = read_results(path, ["method", "alpha"])
    if len(df) == 0:
        return df.assign(network=[], attacker=[])
    same_alpha = df["alpha"].isna() if alpha_key(alpha) is None else df["alpha"] == float(alpha)
    return df[(df["method"] == method) & same_alpha & (df["seed"] == seed)].reset_index(drop=True)


def load_unet(run, method: str, alpha) -> tuple:
    """(UNet3D, its result) trained by `reconstruction_attack` for this encoder, or (None, None)."""
    path = run.space("reconstruction") / encoder_tag(method, alpha) / "unet.pt"
    if not path.is_file():
        return None, None
    saved = torch.load(path, map_location="cpu", weights_only=False)
    unet = UNet3D(saved["in_channels"], saved["out_channels"], width=saved["width"], depth=saved["depth"])
    unet.load_state_dict(saved["state"])
    return unet.eval(), saved["result"]


def reconstruction_attack(run, data, encoder, *, method: str, alpha=None, attackers: list,
                          width: int = 8, depth: int = 2, epochs: int = 30, patience: int = 5, log=print) -> tuple:
    """Train (or load) a U-Net that reconstructs the raw clip from this encoder's output, then train each identity
    attacker of `attackers` (Probes) on the reconstructions; rows in reconstruction.csv. Returns (unet, table)."""
    log = log or quiet
    cfg, path = run.cfg, run.run_dir / RECONSTRUCTION
    folder = run.space("reconstruction") / encoder_tag(method, alpha)
    folder.mkdir(parents=True, exist_ok=True)
    rows, top = _validated_rows(run, method, alpha)
    raw_rows = {r["attacker"]: r for r in run.rows("raw") if r["attacker"] != STRONGEST}
    encoded_rows = {r["attacker"]: r for r in rows}
    device = resolve_device(cfg.device)
    unet, quality = load_unet(run, method, alpha)
    if unet is None:
        raw = EncodedData(BDQEncoder(False, False, False), data, cfg, device=device, views=cfg.val_views, log=log)
        unet, quality = train_reconstruction(encoder, raw, cfg, width=width, depth=depth, epochs=epochs,
                                             patience=patience, log=log, checkpoint=folder / "unet-training.pt")
        channels = {"in_channels": unet.down[0][0].in_channels, "out_channels": unet.out.out_channels}
        torch.save({"state": unet.state_dict(), "result": quality, "width": width, "depth": depth, **channels},
                   folder / "unet.pt")
    done = set(_rows_of(path, method, alpha, cfg.seed)["attacker"])
    todo = [p for p in attackers if p.name not in done]
    if todo:
        recon = Reconstructed(copy.deepcopy(encoder).cpu().eval(), copy.deepcopy(unet).cpu()).eval()
        encoded = EncodedData(recon, data, cfg, device=device, views=cfg.val_views, log=log)
        for probe in todo:
            result = train_probe(probe, encoded, cfg, checkpoint=folder / f"identity-{probe.name}.pt", log=log,
                                 identity=encoder_identity(recon, f"reconstructed {method}", alpha),
                                 budget=run.budget(), keep_weights=False)
            run.record_predictions(prediction_rows(cfg, data, method=method, alpha=alpha, protocol="reconstruction",
                                                   network=probe.name, target="identity", pred=result.test_pred))
            seen = encoded_rows.get(probe.name, {})
            record_results(path, [{
                "dataset": cfg.dataset, "method": method, "alpha": _csv_alpha(alpha), "attacker": probe.name,
                "split": cfg.split, "seed": cfg.seed, "privacy_top1": result.test_top1,
                "privacy_val_top1": result.val_top1, "best_epoch": result.best_epoch,
                "epochs_trained": result.epochs_trained,
                "privacy_encoded": seen.get("privacy_top1", float("nan")),  # this attacker on E's output
                "privacy_raw": raw_rows.get(probe.name, {}).get("privacy_top1", float("nan")),
                "privacy_chance": top["privacy_chance"],
                **{k: quality[k] for k in ("psnr", "ssim", "input_psnr", "input_ssim")},
                "unet_best_epoch": quality["best_epoch"], "unet_epochs": quality["epochs_trained"]}],
                key=RECONSTRUCTION_KEY, columns=RECONSTRUCTION_KEY)
    return unet, _rows_of(path, method, alpha, cfg.seed)


def strongest_probes(run, method: str, alpha=None) -> list:
    """The attacker that was strongest on this encoder's output, as a one-element list of Probes."""
    _, top = _validated_rows(run, method, alpha)
    return parse_probes(top["strongest_attacker"])


def probes_of(spec: str, run, method: str, alpha=None, target: str = "identity") -> list:
    """A sweep's networks from a notebook parameter: names (`@scratch` for random init), "suite" (the configured
    attackers), or "strongest" (the encoder's strongest attacker)."""
    spec = str(spec).strip()
    if spec == "strongest":
        return strongest_probes(run, method, alpha)
    if spec == "suite":
        return parse_probes(run.cfg.attackers)
    return [Probe(p.arch, target, p.init, p.recipe) for p in parse_probes(spec)]  # recipe kept: the suite reused


def sweep_settings(profile: str, *, attackers=None, actions=None, dvs=None, recon_epochs=None, recon_alphas=None,
                   encoders=None, alpha: float = 1.0, smoke: bool = False) -> dict:
    """Notebook 06's sweeps: the profile's (bdqlib.config.RUN_DEFAULTS) where its parameters are None. SMOKE keeps
    one event camera and the headline encoder's reconstruction when the profile has none, so the smoke chain still
    runs that code."""
    unet = dict(run_default(profile, "UNET"), epochs=int(run_default(profile, "RECON_EPOCHS", recon_epochs)))
    if smoke:
        unet.update(epochs=1 if recon_epochs is None else unet["epochs"], patience=1)
    dvs = run_default(profile, "DVS_THRESHOLDS", dvs) or ("0.4" if smoke and dvs is None else "")
    return {"attackers": run_default(profile, "ATTACKER_SWEEP", attackers),
            "actions": run_default(profile, "ACTION_SWEEP", actions),
            "encoders": run_default(profile, "SWEEP_ENCODERS", encoders),
            "dvs": parse_numbers(dvs, "DVS_THRESHOLDS"),
            "recon_alphas": parse_numbers(run_default(profile, "RECON_ALPHAS", recon_alphas, alpha=alpha) or
                                          (f"{alpha:g}" if smoke and recon_alphas is None else ""), "RECON_ALPHAS"),
            "unet": unet}


def encoder_names(spec: str, alpha: float) -> list:
    """"raw,bdq,bdq@0,D,downsample28" -> [(label, method, alpha)]: a method that takes an alpha (bdq, a module
    combination) at `alpha` unless @<alpha> is given; any other without one (None)."""
    out = []
    for name in parse_names(spec):
        method, _, at = name.partition("@")
        a = float(at) if at else (float(alpha) if methods.resolve(method)[0].takes_alpha else None)
        out.append((method + ("" if a is None else f" alpha={a:g}"), method, a))
    if not out:
        raise ValueError(f"SWEEP_ENCODERS names no encoder: {spec!r}")
    return out
