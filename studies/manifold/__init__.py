"""The low-dimensional data manifold (Gilmer et al. 2018, §"manifold"; Khoury & Hadfield-Menell
2018, "On the geometry of adversarial examples"; Stutz, Hein & Schiele 2019, "Disentangling
adversarial robustness and generalization"): data lie near an m-dimensional manifold of the
d-dimensional input space, models are vulnerable in the many (d − m) directions normal to it, and
perturbations kept on the manifold need larger norms.

One cell per model. At each correctly classified test point x (of ``n_points``):

1. the local tangent plane T: the top ``dimension`` (m) right singular vectors of its
   ``neighbours`` nearest training points (any class), centred on their mean (``tangent``);
2. DeepFool's minimal perturbation r* (L2, whole input space, no clipping) and the share of its
   energy in T, ‖P_T r*‖²/‖r*‖² (a uniformly random direction: m/d in expectation);
3. DeepFool restricted to T (‖r_T‖) and to a uniformly random m-plane S (‖r_S‖, Fawzi et al.
   2016's semi-random noise), as ratios to ‖r*‖ (∞ where the label never changed);
4. the distances of x and of x + r* to the affine plane (neighbours' mean + T).

This package: the study below, ``config`` (the config), ``result`` (the typed cell result),
``claims`` (the claims), ``report`` (the summary tables and figures), the default ``config.toml``;
its own mathematics: ``tangent``. Claims and report read ``result`` and ``config``, never this
module.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from transfer import (
    Cell,
    Context,
    NotApplicable,
    Registry,
    Study,
    Summary,
    evaluation_points,
    hookimpl,
    require_gradients,
)

from .claims import CLAIMS
from .config import NAME, ManifoldConfig
from .result import ManifoldResult
from .tangent import measure


class Manifold(Study[ManifoldConfig, ManifoldResult]):
    """DeepFool's perturbation against the data's local tangent plane (local PCA), per model."""

    about = (
        "Do adversarial perturbations leave the data manifold? At each test point the local "
        "tangent plane is the top-m principal subspace of its nearest training points (Khoury & "
        "Hadfield-Menell 2018); the study measures the share of DeepFool's perturbation in it "
        "(a random direction: m/d), and the norm DeepFool needs when restricted to it versus a "
        "random plane of the same dimension (Gilmer et al. 2018; Stutz et al. 2019: on-manifold "
        "adversarial examples exist but are farther). The key figure shows, per model, both "
        "restricted norms relative to the full-space one, with Fawzi et al.'s √(d/m) dashed."
    )

    Config = ManifoldConfig
    Result = ManifoldResult
    claims = CLAIMS
    theory = "Low-dimensional data manifold"
    default_config = Path(__file__).with_name("config.toml")

    def validate(self, config: ManifoldConfig, registry: Registry) -> None:
        require_gradients(registry, [(f"models.{i}", m) for i, m in enumerate(config.models)],
                          "DeepFool needs the model's input gradients")

    def plan(self, config: ManifoldConfig) -> list[Cell]:
        return [Cell.make(NAME, model=m.label) for m in config.models]

    def run(self, cell: Cell, ctx: Context[ManifoldConfig]) -> ManifoldResult | NotApplicable:
        config = ctx.config
        data = ctx.dataset(config.dataset)
        index = evaluation_points(len(data.y_test), config.n_points, config.seed)
        x, y = data.x_test[index].to(ctx.device), data.y_test[index].to(ctx.device)
        model = ctx.model(config.model(cell["model"]), data, config.seed)
        right = (model.predict(x) == y).cpu()
        measured = measure(model, x[right.to(x.device)], data.x_train,
                           neighbours=config.neighbours, dimension=config.dimension,
                           overshoot=config.overshoot, max_iter=config.max_iter,
                           generator=ctx.generator(config.seed))
        norm = measured.deepfool_norm
        return ManifoldResult(
            d=x[0].numel(), dimension=config.dimension, neighbours=config.neighbours,
            points=len(x), correct=int(right.sum()),
            index=index[right][measured.kept].tolist(), deepfool_norm=norm.tolist(),
            tangent_share=measured.tangent_share.tolist(),
            tangent_ratio=(measured.tangent_norm / norm).tolist(),
            random_ratio=(measured.random_norm / norm).tolist(),
            explained=measured.explained.tolist(),
            clean_distance=measured.clean_distance.tolist(),
            adversarial_distance=measured.adversarial_distance.tolist())

    def summarize(self, config: ManifoldConfig,
                  results: Mapping[Cell, ManifoldResult | NotApplicable]) -> Summary:
        from .report import summarize

        return summarize(config, self.plan(config), results)


@hookimpl
def register_studies(register: Any) -> None:
    register(NAME, Manifold)
