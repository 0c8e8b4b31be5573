"""Boundary tilting: does L2 regularisation untilt a linear classifier's boundary towards the
nearest-centroid classifier, and does a less tilted boundary leave adversarial examples farther
from the data? (Tanay & Griffin 2016, "A boundary tilting perspective on the phenomenon of
adversarial examples", on MNIST 3 vs 7; here digits 3 vs 7 by default.)

One cell per value of the regularisation sweep (``param`` of ``model``, e.g. logreg's ``C``). On
the two classes of ``classes`` (relabelled 0 and 1):

1. the model trained at that value, and its hyperplane wᵀx + b read exactly (``tilt``);
2. the nearest-centroid classifier of the training set: w_nc = μ₁ − μ₀, b_nc = −w_ncᵀ(μ₀ + μ₁)/2,
   and the deviation angle θ = ∠(w, w_nc);
3. per test point: whether each classifier is right, and the exact L2 distance to each boundary,
   |wᵀx + b|/‖w‖ (for a linear model, the minimal adversarial perturbation: no attack needed),
   also relative to ‖x‖.

This package: the study below, ``config`` (the config), ``result`` (the typed cell result),
``claims`` (the claims), ``report`` (the summary tables and figures), ``tilt`` (the mathematics),
the default ``config.toml``. Claims and report read ``result`` and ``config``, never this module.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from transfer import (
    Cell,
    Context,
    Dataset,
    Mean,
    NotApplicable,
    Rate,
    Registry,
    Study,
    Summary,
    evaluation_points,
    hookimpl,
)

from .claims import CLAIMS
from .config import NAME, BoundaryTiltingConfig
from .result import TiltResult
from .tilt import (
    affine_weights,
    angle_degrees,
    boundary_distance,
    class_means,
    flat,
    nearest_centroid,
    relative,
    two_classes,
)


class BoundaryTilting(Study[BoundaryTiltingConfig, TiltResult]):
    """The tilt of a binary linear boundary against the nearest-centroid one, along an L2 sweep."""

    about = (
        "Is a linear classifier's boundary tilted with respect to the data, and does L2 "
        "regularisation untilt it (Tanay & Griffin 2016)? On two classes (digits 3 vs 7), per "
        "value of the regularisation sweep: the angle θ between the weight vector w and the "
        "nearest-centroid direction μ₁ − μ₀, the test accuracy, and each test point's exact L2 "
        "distance to the boundary relative to ‖x‖ (the minimal adversarial perturbation of a "
        "linear model). The key figure shows θ, the mean relative distance and the accuracy "
        "against the swept parameter; a second one shows w as an image at both ends of the sweep."
    )

    Config = BoundaryTiltingConfig
    Result = TiltResult
    claims = CLAIMS
    theory = "Boundary tilting"
    default_config = Path(__file__).with_name("config.toml")

    def validate(self, config: BoundaryTiltingConfig, registry: Registry) -> None:
        factory = registry.get("model", config.model.name)
        parameters = inspect.signature(factory).parameters
        if config.param not in parameters and not any(
                p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            raise ValueError(f"param: {config.model.name!r} has no parameter {config.param!r} "
                             f"to sweep (its parameters: {', '.join(parameters)})")

    def plan(self, config: BoundaryTiltingConfig) -> list[Cell]:
        return [Cell.make(NAME, param=config.param, value=v) for v in config.values]

    def run(self, cell: Cell, ctx: Context[BoundaryTiltingConfig]
            ) -> TiltResult | NotApplicable:
        config = ctx.config
        data: Dataset = ctx.remember(
            (NAME, config.dataset.model_dump_json(), tuple(config.classes)),
            lambda: two_classes(ctx.dataset(config.dataset), config.classes))
        model = ctx.model(config.swept(cell["value"]), data, config.seed)
        n_test = len(data.y_test)
        index = evaluation_points(n_test, config.n_points or n_test, config.seed)
        x, y = flat(data.x_test[index]), data.y_test[index].numpy()
        read = affine_weights(model, data.input_shape, x)
        if isinstance(read, str):
            return NotApplicable(reason=f"{config.model.label} is not a binary linear model "
                                        f"here: {read}")
        w, b = read
        x_train, y_train = flat(data.x_train), data.y_train.numpy()
        w_nc, b_nc = nearest_centroid(*class_means(x_train, y_train))
        side = x @ w + b > 0
        correct = torch.as_tensor(side.astype(np.int64) == y)
        correct_nc = torch.as_tensor((x @ w_nc + b_nc > 0).astype(np.int64) == y)
        every = torch.ones(len(y), dtype=torch.bool)
        distance, distance_nc = boundary_distance(x, w, b), boundary_distance(x, w_nc, b_nc)
        rel, rel_nc = relative(distance, x), relative(distance_nc, x)
        return TiltResult(
            param=config.param, value=cell["value"], input_shape=list(data.input_shape),
            w=w.tolist(), b=b, w_nc=w_nc.tolist(), b_nc=b_nc, theta=angle_degrees(w, w_nc),
            train_accuracy=float(((x_train @ w + b > 0).astype(np.int64) == y_train).mean()),
            accuracy=Rate.of(correct, every), accuracy_nc=Rate.of(correct_nc, every),
            points=index.tolist(), correct=correct.tolist(), correct_nc=correct_nc.tolist(),
            x_norm=np.linalg.norm(x, axis=1).tolist(), distance=distance.tolist(),
            distance_nc=distance_nc.tolist(),
            relative_distance=Mean.of(rel[correct.numpy() & np.isfinite(rel)]),
            relative_distance_nc=Mean.of(rel_nc[correct_nc.numpy() & np.isfinite(rel_nc)]),
            one_class=bool(side.all() or not side.any()))

    def summarize(self, config: BoundaryTiltingConfig,
                  results: Mapping[Cell, TiltResult | NotApplicable]) -> Summary:
        from .report import summarize

        return summarize(config, results)


@hookimpl
def register_studies(register: Any) -> None:
    register(NAME, BoundaryTilting)
