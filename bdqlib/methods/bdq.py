"""BDQ (the paper): the encoder trained in the paper's game; its module ablations (Fig. 4); and the hardened game,
not in the paper, where BDQ plays against the worst case of P and the rest of the attack suite."""
from __future__ import annotations

from ..core.encoder import MODULE_NAMES, bdq_encoder
from ..train.probes import parse_probes
from .games import fit_game, trained_encoder, with_alpha
from .registry import Method, register


def ensemble_of(cfg) -> str:
    """The hardened game's ensemble: every architecture of the attack suite except P's own (which plays already).
    On the cpu profile: small3d (temporal) and res2d@scratch beside P = small2d."""
    names = [p.name for p in parse_probes(cfg.attackers) if p.name != cfg.privacy_model]
    if not names:
        raise ValueError(f"bdq_ensemble needs attackers other than P ({cfg.privacy_model}) in attackers="
                         f"{cfg.attackers!r}")
    return ",".join(names)


def _alpha_rank(arg, alpha):
    return 1.0 if alpha is None else float(alpha)


BDQ = register(Method(
    "bdq", family="bdq", colour="tab:red", description="BDQ trained in the paper's game (E against P)",
    game=lambda cfg, alpha: with_alpha(cfg, alpha), make_encoder=bdq_encoder,
    build=lambda run, alpha, arg: trained_encoder(BDQ, run, alpha),
    fit=lambda run, data, alpha, arg, log: fit_game(BDQ, run, data, alpha, log),
    takes_alpha=True, trained_in="02_adversarial_train", strength=_alpha_rank))

ENSEMBLE = register(Method(
    "bdq_ensemble", family="bdq_ensemble", colour="navy",
    description="BDQ in the hardened game, not in the paper: against the worst case (the most confident) of P and "
                "the rest of the attack suite, trained beside P (Wu et al.'s ensemble of budget models)",
    game=lambda cfg, alpha: with_alpha(cfg, alpha, privacy_ensemble=ensemble_of(cfg), privacy_ensemble_mode="worst"),
    make_encoder=bdq_encoder,
    build=lambda run, alpha, arg: trained_encoder(ENSEMBLE, run, alpha),
    fit=lambda run, data, alpha, arg, log: fit_game(ENSEMBLE, run, data, alpha, log),
    takes_alpha=True, trained_in="04_ablation (GAMES)", strength=_alpha_rank))

MODULES = register(Method(
    "modules", family="module", colour="tab:orange",
    description="a module combination of the trained BDQ encoder (B, D, Q, B+D, B+Q, D+Q, B+D+Q; paper Fig. 4)",
    pattern="(" + "|".join(m.replace("+", r"\+") for m in MODULE_NAMES) + ")",
    build=lambda run, alpha, arg: trained_encoder(BDQ, run, alpha).with_modules(arg),
    fit=lambda run, data, alpha, arg, log: fit_game(BDQ, run, data, alpha, log),
    takes_alpha=True, trained_in="02_adversarial_train",
    same_as=lambda cfg, alpha, arg: ("bdq", alpha) if arg == "B+D+Q" else None))
