"""Every attack's output is checked before anything is measured on it: a rate recorded under an
``eps`` the attack did not respect would be a wrong number that looks right."""

from __future__ import annotations

import torch

from ..mathematics.geometry import per_sample_norm

# float32 arithmetic (x + delta, projections) moves points by a few ulps past the exact ball
RELATIVE_TOLERANCE = 1e-4
ABSOLUTE_TOLERANCE = 1e-5


class AttackOutputError(ValueError):
    """An attack returned a batch that breaks its contract; the message names the attack, the
    check and the worst offending value."""


def check_attack_output(
    name: str,
    norm: str,
    x: torch.Tensor,
    x_adv: object,
    eps: float,
    bounds: tuple[float, float] | None,
) -> None:
    """``x_adv`` is a tensor of ``x``'s shape, finite, inside the ``eps``-ball of ``norm`` around
    ``x`` and, when ``bounds`` is given, inside the bounds (all up to float tolerance)."""
    if not isinstance(x_adv, torch.Tensor):
        raise AttackOutputError(f"attack {name!r} returned {type(x_adv).__name__}, not a tensor")
    if tuple(x_adv.shape) != tuple(x.shape):
        raise AttackOutputError(f"attack {name!r} returned a batch of shape "
                                f"{tuple(x_adv.shape)} for an input of shape {tuple(x.shape)}")
    finite = torch.isfinite(x_adv)
    if not bool(finite.all()):
        bad = int((~finite).flatten(1).any(dim=1).sum())
        first = x_adv[~finite][0].item()
        raise AttackOutputError(f"attack {name!r} returned non-finite values ({first}) in "
                                f"{bad} of {len(x_adv)} points")
    slack = eps * RELATIVE_TOLERANCE + ABSOLUTE_TOLERANCE
    distance = per_sample_norm(x_adv.detach().to(x.device, x.dtype) - x, norm)
    worst = float(distance.max()) if len(distance) else 0.0
    if worst > eps + slack:
        outside = int((distance > eps + slack).sum())
        raise AttackOutputError(
            f"attack {name!r} left its {norm} eps-ball: worst distance {worst:.6g} > eps "
            f"{eps:g} ({outside} of {len(distance)} points)"
        )
    if bounds is not None:
        lo, hi = bounds
        below = float((lo - x_adv).max()) if x_adv.numel() else 0.0
        above = float((x_adv - hi).max()) if x_adv.numel() else 0.0
        if max(below, above) > ABSOLUTE_TOLERANCE:
            value = float(x_adv.min()) if below >= above else float(x_adv.max())
            raise AttackOutputError(f"attack {name!r} left the data bounds [{lo:g}, {hi:g}]: "
                                    f"worst value {value:.6g}")
