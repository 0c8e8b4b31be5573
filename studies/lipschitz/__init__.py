"""Lipschitz bound checks (Szegedy et al. 2013, Table 5; Virmaux & Scaman 2018; Weng et al. 2018,
CLEVER; Sedghi et al. 2019).

For every differentiable model (its network or differentiable twin):

1. ``L_upper``: the product of per-layer L2 bounds (see ``bounds``), a certified upper
   bound on the Lipschitz constant of the logit map; the per-layer table is logged.
2. ``L_emp``: the largest spectral norm of the logit Jacobian ‖J_f(x)‖₂ found at the test points
   and along PGD paths (after 1, 2, ..., ``pgd_steps`` steps), a lower bound; and a CLEVER-style
   local estimate per point of the Lipschitz constant of f_c − f_j (c the predicted class, j the
   runner-up): the location of a reverse-Weibull fit (scipy) to batch maxima of ‖∇(f_c − f_j)‖₂
   sampled uniformly in an L2 ball (the sample maximum when the fit is unstable). It is bounded by
   √2·L_upper (``clever_over_bound`` ≤ 1), not by L_upper.
3. Checks, logged as counts: L_emp ≤ L_upper; and every adversarial example found by DeepFool and
   PGD lies at least margin(x)/(√2·L_upper) from x (the certified radius: f_y − f_j changes at most
   √2·L_upper per unit of ‖δ‖₂). A violation is recorded in the result (``violations``, the
   offending points) and fails the claim ``radius-respected``; the cell itself finishes, so
   that the violation is in the store next to the data that produced it.
4. For the first ``clever_points`` points, CLEVER's score margin(x)/L_local(x) (Weng et al.: an
   estimate of the smallest adversarial distance) beside DeepFool's ‖δ‖₂, per point.

Also logged: the tightness ratio L_upper/L_emp and the found perturbation over the certified radius.

This package: the study below, ``config`` (the config), ``result`` (the typed cell result),
``claims`` (the claims), ``report`` (the summary tables and figures), the default ``config.toml``;
its own mathematics and data: ``bounds``, ``clever``. Claims, report and headlines read ``result``
and ``config``, never this module.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from transfer import (
    GRADIENTS,
    AttackSpec,
    Cell,
    Context,
    NotApplicable,
    Study,
    Summary,
    evaluation_points,
    hookimpl,
)

from .bounds import layer_bounds
from .claims import CLAIMS
from .clever import clever, jacobian_norms
from .config import NAME, LipschitzConfig
from .result import LipschitzResult


class Lipschitz(Study[LipschitzConfig, LipschitzResult]):
    """Certified per-layer upper bounds against empirical Jacobian norms and found attacks."""

    about = (
        "Do certified Lipschitz bounds explain how far adversarial examples must be from clean "
        "points? Following Szegedy et al. (2013) and Virmaux & Scaman (2018), per model one "
        "figure shows the per-layer L2 bounds whose product is the certified constant L, and "
        "another each adversarial example's distance against its certified radius margin/(√2·L), "
        "which no example may undercut."
    )

    Config = LipschitzConfig
    Result = LipschitzResult
    claims = CLAIMS
    theory = "Large Lipschitz constant"
    result_format = 2  # 2: violations recorded, not raised; CLEVER scores beside DeepFool
    default_config = Path(__file__).with_name("config.toml")

    def plan(self, config: LipschitzConfig) -> list[Cell]:
        return [Cell.make(NAME, model=m.label) for m in config.models]

    def run(self, cell: Cell, ctx: Context[LipschitzConfig]) -> LipschitzResult | NotApplicable:
        config = ctx.config
        spec = next(m for m in config.models if m.label == cell["model"])
        traits = ctx.traits(spec)
        if GRADIENTS not in traits.capabilities:
            return NotApplicable(
                reason=f"{traits.kind} has no gradients, so no Lipschitz bound to check")
        data = ctx.dataset(config.dataset)
        model = ctx.model(spec, data, config.seed)
        index = evaluation_points(len(data.y_test), config.n_points, config.seed)
        x, y = data.x_test[index].to(ctx.device), data.y_test[index].to(ctx.device)
        # bounds in float64 on a copy (the cached model is shared read-only)
        rows = layer_bounds(model.module_copy(torch.float64), x[:1].double().cpu(),
                            config.power_iterations)
        upper = math.prod(r.bound for r in rows)
        unsupported = [f"{r.name} ({r.kind})" for r in rows if not math.isfinite(r.bound)]

        # empirical lower bound: test points and PGD paths
        samples = [x]
        for steps in range(1, config.pgd_steps + 1):
            pgd = ctx.attack(AttackSpec(name="pgd", params={
                "norm": "l2", "steps": steps, "random_start": False}))
            samples.append(pgd(model, x, y, config.pgd_eps, bounds=data.bounds,
                               seed=config.seed).x_adv)
        jacobians = torch.cat([jacobian_norms(model, s) for s in samples])
        empirical = jacobians.max().item()
        generator = ctx.generator(config.seed)
        local = clever(model, x[: config.clever_points], config, generator)

        # certified radius vs perturbations actually found
        with torch.no_grad():
            logits = model.logits(x)
        correct = logits.argmax(1) == y
        others = logits.clone()
        others[torch.arange(len(y)), y] = -math.inf
        margin = (logits[torch.arange(len(y)), y] - others.max(1).values).double()
        radius = margin / (math.sqrt(2) * upper)
        deepfool = ctx.attack(AttackSpec(name="deepfool"))
        found = {"deepfool": deepfool(model, x, y, math.inf, bounds=data.bounds).x_adv,
                 "pgd": samples[-1]}
        fooled_by = {name: (model.predict(x_adv) != y) & correct for name, x_adv in found.items()}
        checked, violations, ratios, scatter = 0, [], [], []
        for name, x_adv in found.items() if math.isfinite(upper) else ():
            fooled = fooled_by[name]
            size = (x_adv - x).flatten(1).norm(dim=1).double()
            for i in torch.nonzero(fooled).flatten().tolist():
                checked += 1
                ratios.append((size[i] / radius[i]).item() if radius[i] > 0 else math.inf)
                scatter.append((name, radius[i].item(), size[i].item()))
                if size[i] < radius[i] * (1 - 1e-6):
                    violations.append({"attack": name, "point": int(index[i]),
                                       "perturbation_l2": size[i].item(),
                                       "certified_radius": radius[i].item()})
        # CLEVER's score (its margin is f_c − f_j, c the predicted class) beside DeepFool
        top2 = logits[: len(local)].topk(2, dim=1).values
        scores = ((top2[:, 0] - top2[:, 1]).double().cpu() / torch.tensor(local)).tolist()
        moved = (found["deepfool"] - x).flatten(1).norm(dim=1).double().cpu()
        flipped = fooled_by["deepfool"].cpu()
        distances = [moved[i].item() if flipped[i] else math.nan for i in range(len(local))]
        return LipschitzResult(L_upper=upper, L_emp=empirical, layers=rows,
                               unsupported=unsupported, clever=local, radius_checks=checked,
                               perturbation_over_radius=ratios, scatter=scatter,
                               violations=violations, clever_score=scores,
                               deepfool_l2=distances)

    def summarize(
        self, config: LipschitzConfig, results: Mapping[Cell, LipschitzResult | NotApplicable]
    ) -> Summary:
        from .report import summarize

        return summarize(self.plan(config), results)


@hookimpl
def register_studies(register: Any) -> None:
    register(NAME, Lipschitz)
