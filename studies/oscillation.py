"""Oscillation: are a classifier's errors dense, close to every point, and does interpolation
make them so? (Szegedy et al. 2013: adversarial negatives are low-probability pockets near every
point; Belkin, Ma & Mandal 2018: an interpolating classifier fits every noisy training label, so
its error set oscillates around the noisy points and becomes denser as n grows; the test
Dobriban's survey names: how close is a random image to each class, and a test point to an
error, for interpolating and non-interpolating models as the training set grows.)

One cell per (model, training-set size). The training labels carry ``label_noise`` (a seeded
share replaced by a random other class, as Belkin et al. corrupt labels), and each size is a
seeded stratified subset, nested in the larger ones (``oscillation_data``). Per cell:

1. the training error (0: the model interpolates — measured, not declared) and the test error;
2. from each correctly classified evaluation point, the L2 distance to the nearest error (an
   upper bound, ``oscillation_distances``: segments to other-class training points, and
   DeepFool's direction for differentiable models);
3. from ``n_noise`` images uniform in the data bounds, the L2 distance to a confident
   prediction (probability or k-NN vote share ≥ ``confidence``) of every class, and the share
   of (image, class) pairs reached within ``budget`` times the data scale;
4. the data scale (median L2 distance between evaluation points of different classes) that
   every distance is read against, and the gradients and queries spent next to the minimum.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal

import torch
from pydantic import Field, PositiveInt, model_validator

from transfer import (
    FOREST,
    GRADIENTS,
    NEIGHBORS,
    TREE,
    Cell,
    CellResult,
    Context,
    DatasetSpec,
    Mean,
    ModelSpec,
    NotApplicable,
    Rate,
    Registry,
    Study,
    StudyConfig,
    Summary,
    evaluation_points,
    hookimpl,
    model_traits,
    unique_labels,
)

from .oscillation_claims import CLAIMS
from .oscillation_data import training_set
from .oscillation_distances import Search, error_distance, reach_distance

NAME: Final = "oscillation"
ALL: Final = "all"
Size = PositiveInt | Literal["all"]
MEASURABLE: Final = frozenset({GRADIENTS, NEIGHBORS, TREE, FOREST})  # logits or predict_proba


class OscillationConfig(StudyConfig):
    """Config of the oscillation study (defaults: ``oscillation.toml``)."""

    study: Literal["oscillation"] = NAME
    dataset: DatasetSpec = Field(default_factory=lambda: DatasetSpec(name="digits"))
    models: list[ModelSpec] = Field(min_length=1)
    sizes: list[Size] = Field(default_factory=lambda: list[Size]([100, 200, 400, 800, ALL]),
                              min_length=1)
    label_noise: float = Field(0.1, ge=0, lt=1)
    n_points: PositiveInt = 100
    n_noise: PositiveInt = 50
    candidates: PositiveInt = 2
    confidence: float = Field(0.5, ge=0.5, lt=1)
    budget: float = Field(0.25, gt=0)
    overshoot: float = Field(0.02, ge=0)
    max_iter: PositiveInt = 50

    @model_validator(mode="after")
    def _check(self) -> OscillationConfig:
        unique_labels(self.models, "models")
        numbers = [s for s in self.sizes if s != ALL]
        if numbers != sorted(set(numbers)) or self.sizes.count(ALL) > 1 or (
                ALL in self.sizes and self.sizes[-1] != ALL):
            raise ValueError(f"sizes: distinct training-set sizes in increasing order, \"all\" "
                             f"(the whole training set) at most once and last; got {self.sizes}")
        return self

    def model(self, label: str) -> ModelSpec:
        return next(m for m in self.models if m.label == label)

    def search(self) -> Search:
        return Search(count=self.candidates, confidence=self.confidence,
                      overshoot=self.overshoot, max_iter=self.max_iter)


class OscillationResult(CellResult):
    """One model trained on one training-set size."""

    family: str  # the model's registered name: counterparts share it
    size: int  # training points used
    label_noise: float  # share of those points whose label is wrong
    train_error: Rate  # on the (noisy) training labels: 0 = interpolation
    test_error: Rate  # on the whole test set (clean labels)
    scale: float  # median L2 distance between evaluation points of different classes
    x_norm: float  # mean ‖x‖₂ of the evaluation points
    error_distance: list[float]  # per evaluation point: nan if misclassified, inf if none found
    by_deepfool: float  # share of the found distances that DeepFool's direction gave
    reach: list[list[float]]  # noise image x class: distance to a confident prediction
    budget: float  # budget · scale: "reached" means within this distance
    gradients: int
    gradients_minimum: int
    queries: int
    queries_minimum: int

    @property
    def interpolates(self) -> bool:
        return self.train_error.count == 0

    def distances(self) -> torch.Tensor:
        return torch.tensor(self.error_distance, dtype=torch.float64)

    def error_mean(self) -> Mean:
        """Mean distance to the nearest error over the correct points where one was found."""
        d = self.distances()
        return Mean.of(d[torch.isfinite(d)])

    def reached(self) -> list[Rate]:
        """Per class: the share of noise images reaching it within the budget."""
        r = torch.tensor(self.reach, dtype=torch.float64)
        every = torch.ones(len(r), dtype=torch.bool)
        return [Rate.of(r[:, c] <= self.budget, every) for c in range(r.shape[1])]

    def pooled_reached(self) -> Rate:
        return Rate.pooled(self.reached())

    def reach_medians(self) -> list[float]:
        """Per class: the median distance from a noise image to a confident prediction."""
        return torch.tensor(self.reach, dtype=torch.float64).median(dim=0).values.tolist()

    def reach_median(self) -> float:
        """The median over every (noise image, class) pair."""
        return torch.tensor(self.reach, dtype=torch.float64).median().item()

    def metrics(self) -> dict[str, float]:
        d = self.distances()
        correct = ~torch.isnan(d)
        metrics = {"interpolates": float(self.interpolates), "size": float(self.size),
                   "label_noise": self.label_noise, "scale": self.scale, "x_norm": self.x_norm,
                   "error_distance_relative": self.error_mean().mean / self.scale,
                   "error_not_found": float((correct & torch.isinf(d)).sum()),
                   "by_deepfool": self.by_deepfool,
                   "reach_median_relative": self.reach_median() / self.scale,
                   "gradients": float(self.gradients),
                   "gradients_minimum": float(self.gradients_minimum),
                   "queries": float(self.queries), "queries_minimum": float(self.queries_minimum)}
        metrics.update(self.train_error.metrics("train_error"))
        metrics.update(self.test_error.metrics("test_error"))
        metrics.update(self.error_mean().metrics("error_distance"))
        metrics.update(self.pooled_reached().metrics("reached_within_budget"))
        for c, median in enumerate(self.reach_medians()):
            metrics[f"reach_median.class{c}"] = median
        return metrics


def size_value(size: int | str) -> int | None:
    return None if size == ALL else int(size)


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
        "to a confident prediction of every class. Key figure: mean distance to the nearest "
        "error against the training-set size (log scale); solid lines are models that "
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
    default_config = Path(__file__).with_name("oscillation.toml")

    def validate(self, config: OscillationConfig, registry: Registry) -> None:
        for i, spec in enumerate(config.models):
            traits = model_traits(registry, spec)
            if not traits.capabilities & MEASURABLE:
                raise ValueError(
                    f"models.{i}: {spec.label!r} ({traits.kind}) has neither gradients (logits) "
                    "nor a scikit-learn neighbours/tree/forest structure (predict_proba); the "
                    "study needs one of them to measure confidence")

    def plan(self, config: OscillationConfig) -> list[Cell]:
        return [Cell.make(NAME, model=m.label, size=size)
                for m in config.models for size in config.sizes]

    def run(self, cell: Cell, ctx: Context[OscillationConfig]
            ) -> OscillationResult | NotApplicable:
        config = ctx.config
        data = ctx.dataset(config.dataset)
        size = size_value(cell["size"])
        if size is not None and size >= len(data.y_train):
            return NotApplicable(reason=f"sizes: {size} is not less than the "
                                        f"{len(data.y_train)} training points (use \"all\")")
        subset, share = ctx.remember(
            (NAME, "subset", size), lambda: training_set(data, size, config.label_noise,
                                                         config.seed))
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
        from .oscillation_report import summarize

        return summarize(config, results)


def data_scale(x: torch.Tensor, y: torch.Tensor) -> float:
    """The median L2 distance between points of different classes."""
    distance = torch.cdist(x.flatten(1).double(), x.flatten(1).double())
    return distance[y[:, None] != y[None, :]].median().item()


@hookimpl
def register_studies(register: Any) -> None:
    register(NAME, Oscillation)
