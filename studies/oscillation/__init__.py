"""Oscillation: are a classifier's errors dense, close to every point, and does interpolation
make them so? (Szegedy et al. 2013: adversarial negatives are low-probability pockets near every
point; Belkin, Ma & Mandal 2018: an interpolating classifier fits every noisy training label, so
its error set oscillates around the noisy points and becomes denser as n grows; the test
Dobriban's survey names: how close is a random image to each class, and a test point to an
error, for interpolating and non-interpolating models as the training set grows.)

One cell per (model, training-set size). The training labels carry ``label_noise`` (a seeded
share replaced by a random other class, as Belkin et al. corrupt labels), and each size is a
seeded stratified subset, nested in the larger ones (``data``). With ``control`` (the
default), every model is also trained at the smallest and the largest size on the same points
with their clean labels (cells with ``label_noise=0.0`` in their key; the others have no such
key): without noise a test point also nears other-class training points as n grows, and this
control tells that apart from the errors the noisy labels make. Per cell:

1. the training error (0: the model interpolates — measured, not declared) and the test error;
2. from each correctly classified evaluation point, the L2 distance to the nearest error (an
   upper bound, ``distances``: segments to other-class training points, and
   DeepFool's direction for differentiable models);
3. from ``n_noise`` images uniform in the data bounds, the L2 distance to a confident
   prediction (probability or k-NN vote share ≥ ``confidence``) of every class, and the share
   of (image, class) pairs reached within ``budget`` times the data scale;
4. the data scale (median L2 distance between evaluation points of different classes) that
   every distance is read against, and the gradients and queries spent next to the minimum.

This package: the study below, ``config`` (the config), ``result`` (the typed cell result),
``claims`` (the claims), ``report`` (the summary tables and figures), the default ``config.toml``;
its own mathematics and data: ``data``, ``distances``, ``targeted``. Claims, report and headlines
read ``result`` and ``config``, never this module.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from transfer import (
    Cell,
    Context,
    NotApplicable,
    Rate,
    Registry,
    Study,
    Summary,
    evaluation_points,
    hookimpl,
    model_traits,
)

from .claims import CLAIMS
from .config import MEASURABLE, NAME, OscillationConfig
from .data import training_set
from .distances import error_distance, reach_distance
from .result import OscillationResult, size_value


class Oscillation(Study[OscillationConfig, OscillationResult]):
    """Distances to the nearest error and from noise to every class, against the training-set
    size, for interpolating and non-interpolating models."""

    about = (
        "Are a classifier's errors dense — close to every point — and is interpolation the "
        "reason? Szegedy et al. (2013) found low-probability adversarial pockets near every "
        "point; Belkin et al. (2018) study classifiers that interpolate, i.e. fit every training "
        "label, noisy ones included, so their errors oscillate around the noisy points and grow "
        "denser with more data. The test Dobriban's survey names: with a share of the training "
        "labels corrupted, train each model on growing training sets and measure, per test "
        "point, the L2 distance to the nearest error, and from uniform-noise images the distance "
        "to a confident prediction of every class. Control: each model also trained on the "
        "same points with clean labels (label noise 0) at the smallest and the largest size, "
        "since more data brings other-class training points nearer without noise too; the "
        "claim asks the noisy labels' distances to shrink more. Key figure: mean distance to "
        "the nearest error against the training-set size (log scale), the control as squares; "
        "solid lines are models that "
        "interpolate (training error 0) at every size, dashed ones never, dash-dotted at some. "
        "Distances are upper bounds from line searches (segments towards training points of "
        "other classes; DeepFool's direction for differentiable models); the right axis reads "
        "them against the data's scale, the median distance between test points of different "
        "classes."
    )

    Config = OscillationConfig
    Result = OscillationResult
    claims = CLAIMS
    theory = "Oscillation"
    default_config = Path(__file__).with_name("config.toml")

    def validate(self, config: OscillationConfig, registry: Registry) -> None:
        for i, spec in enumerate(config.models):
            traits = model_traits(registry, spec)
            if not traits.capabilities & MEASURABLE:
                raise ValueError(
                    f"models.{i}: {spec.label!r} ({traits.kind}) has neither gradients (logits) "
                    "nor a scikit-learn neighbours/tree/forest structure (predict_proba); the "
                    "study needs one of them to measure confidence")

    def plan(self, config: OscillationConfig) -> list[Cell]:
        """(model, size) cells, then the label-noise-0 control's (``config.control_sizes``)."""
        return [Cell.make(NAME, model=m.label, size=size)
                for m in config.models for size in config.sizes] + [
            Cell.make(NAME, model=m.label, size=size, label_noise=0.0)
            for m in config.models for size in config.control_sizes()]

    def run(self, cell: Cell, ctx: Context[OscillationConfig]
            ) -> OscillationResult | NotApplicable:
        config = ctx.config
        data = ctx.dataset(config.dataset)
        size = size_value(cell["size"])
        if size is not None and size >= len(data.y_train):
            return NotApplicable(reason=f"sizes: {size} is not less than the "
                                        f"{len(data.y_train)} training points (use \"all\")")
        clean = "label_noise" in cell.as_dict()  # the control: the same points, clean labels
        subset, share = ctx.remember(
            (NAME, "subset", size, clean), lambda: training_set(
                data, size, config.label_noise, config.seed, clean=clean))
        spec = config.model(cell["model"])
        missing = set(range(data.n_classes)) - set(subset.y_train.tolist())
        if missing:
            return NotApplicable(reason=f"sizes: {len(subset.y_train)} training points leave "
                                        f"no example of class(es) {sorted(missing)}")
        k = int(spec.params.get("n_neighbors", 1))
        if k > len(subset.y_train):
            return NotApplicable(reason=f"sizes: {len(subset.y_train)} training points are "
                                        f"fewer than {spec.label}'s {k} neighbours")
        model = ctx.model(spec, subset, config.seed)
        train_x = subset.x_train.to(ctx.device)
        with torch.no_grad():
            wrong_train = (model.predict(train_x).cpu() != subset.y_train)
            wrong_test = (model.predict(data.x_test.to(ctx.device)).cpu() != data.y_test)
        index = evaluation_points(len(data.y_test), config.n_points, config.seed)
        x, y = data.x_test[index].to(ctx.device), data.y_test[index]
        correct = model.predict(x).cpu() == y
        found, by_deepfool, spent = error_distance(model, x[correct.to(ctx.device)], subset,
                                                   config.search())
        distances = torch.full((len(y),), math.nan)
        distances[correct] = found
        noise = self.noise(ctx, data.x_train, data.bounds).to(ctx.device)
        reach, reach_spent = reach_distance(model, noise, subset, config.search())
        spent.add(reach_spent)
        scale = data_scale(x.cpu(), y)
        return OscillationResult(
            family=spec.name, size=len(subset.y_train), label_noise=share,
            train_error=Rate.of(wrong_train, torch.ones_like(wrong_train)),
            test_error=Rate.of(wrong_test, torch.ones_like(wrong_test)), scale=scale,
            x_norm=x.flatten(1).norm(dim=1).mean().item(),
            error_distance=distances.tolist(),
            by_deepfool=(by_deepfool[torch.isfinite(found)].float().mean().item()
                         if torch.isfinite(found).any() else math.nan),
            reach=reach.tolist(), budget=config.budget * scale,
            gradients=spent.gradients, gradients_minimum=spent.gradients_minimum,
            queries=spent.queries, queries_minimum=spent.queries_minimum)

    @staticmethod
    def noise(ctx: Context[OscillationConfig], x_train: torch.Tensor,
              bounds: tuple[float, float]) -> torch.Tensor:
        """``n_noise`` images uniform in the data bounds (the training data's range when the
        bounds are infinite), seeded."""
        config = ctx.config
        lo, hi = bounds
        if not (math.isfinite(lo) and math.isfinite(hi)):
            lo, hi = x_train.min().item(), x_train.max().item()
        shape = (config.n_noise, *x_train.shape[1:])
        return lo + (hi - lo) * torch.rand(shape, generator=ctx.generator(config.seed))

    def summarize(self, config: OscillationConfig,
                  results: Mapping[Cell, OscillationResult | NotApplicable]) -> Summary:
        from .report import summarize

        return summarize(config, results)


def data_scale(x: torch.Tensor, y: torch.Tensor) -> float:
    """The median L2 distance between points of different classes."""
    distance = torch.cdist(x.flatten(1).double(), x.flatten(1).double())
    return distance[y[:, None] != y[None, :]].median().item()


@hookimpl
def register_studies(register: Any) -> None:
    register(NAME, Oscillation)
