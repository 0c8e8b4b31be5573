"""The synthetic half of the concentration study: one class's distribution (uniform on a sphere of
the ``spheres`` data, or N(m_c, I) of the ``gaussian`` mixture), the model's error rate μ on fresh
samples of it, the measured mean distance from its points to the nearest error, and the
isoperimetric bound for that μ (``bounds``).

The distance of a point the model misclassifies is 0. For a point it classifies correctly, two
upper bounds on the distance to the error set are computed and the smaller is kept: the attack's
(on the sphere: DeepFool on the sphere and a geodesic line search, ``sphere``; for
the Gaussian: DeepFool in the ambient space, then ``flip_distance`` along its direction), and the
distance to the nearest misclassified fresh sample (itself an error of the distribution).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict

from transfer import Dataset, Mean, Rate, deepfool, flip_distance

from .bounds import mean_distance_bound
from .sphere import SphereSearch, nearest_error_on_sphere

GRID, BISECTIONS = 32, 30  # flip_distance's defaults: the model queries of one line search


class SyntheticPart(BaseModel):
    """One (dataset kind, d) cell: μ, the measured mean distance and the bound, the search's work.

    ``scale`` is the typical norm of a point (r for the sphere, √d for the Gaussian's noise);
    ``bound_low``/``bound_high`` are the bound at the upper/lower end of μ's 95% interval."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    d: int
    scale: float
    error: Rate
    distance: Mean
    bound: float
    bound_low: float
    bound_high: float
    found: Rate  # correct points where the attack found an error
    fallback: Rate  # correct points where a misclassified fresh sample was nearer than the attack's
    means: str  # gaussian: "regenerated" (exact) or "estimated" (class sample means)
    test_error: float  # the model's error on the dataset's own test split
    vjps: int
    vjps_minimum: int
    queries: int

    @property
    def ratio(self) -> float:
        """Measured / bound (≤ 1 for the true distance; the attack's is an upper bound of it)."""
        return self.distance.mean / self.bound if self.bound > 0 else math.nan

    @property
    def ratio_low(self) -> float:
        return self.distance.ci_low / self.bound_high if self.bound_high > 0 else math.nan

    @property
    def ratio_high(self) -> float:
        return self.distance.ci_high / self.bound_low if self.bound_low > 0 else math.nan

    def relative(self, value: float) -> float:
        return value / self.scale

    def metrics(self) -> dict[str, float]:
        return {**self.error.metrics("error_rate"), **self.distance.metrics("distance"),
                "bound": self.bound, "bound_low": self.bound_low, "bound_high": self.bound_high,
                "ratio": self.ratio, "ratio_low": self.ratio_low, "ratio_high": self.ratio_high,
                "relative_distance": self.relative(self.distance.mean),
                "relative_bound": self.relative(self.bound), "dimension": float(self.d),
                "found_share": self.found.rate, "fallback_share": self.fallback.rate,
                "test_error": self.test_error, "vjps": float(self.vjps),
                "vjps_minimum": float(self.vjps_minimum), "queries": float(self.queries)}


def gaussian_means(data: Dataset) -> tuple[torch.Tensor, str]:
    """The class means of a ``gaussian`` mixture, regenerated with the dataset's own first draws
    (``mixtures.py``: N(0, I) rows scaled to norm ``separation``) when the dataset's points agree
    with them (Σ_c n_c‖x̄_c − m_c‖² ~ χ²(C·d) is not implausibly large, p > 1e-6); else the
    class sample means ("estimated")."""
    from scipy.stats import chi2

    x = torch.cat([data.x_train, data.x_test]).flatten(1).double()
    y = torch.cat([data.y_train, data.y_test])
    counts = torch.bincount(y, minlength=data.n_classes).double()
    sample = torch.stack([x[y == c].mean(dim=0) for c in range(data.n_classes)])
    try:
        spec = data.spec
        rng = np.random.default_rng(spec["seed"])
        drawn = rng.standard_normal((spec["n_classes"], spec["dim"]))
        drawn *= spec["separation"] / np.linalg.norm(drawn, axis=1, keepdims=True)
        means = torch.as_tensor(drawn, dtype=torch.float64)
        statistic = float((counts * ((sample - means) ** 2).sum(dim=1)).sum())
        if means.shape == sample.shape and chi2.sf(statistic, means.numel()) > 1e-6:
            return means.float(), "regenerated"
    except (KeyError, TypeError, ValueError):
        pass
    return sample.float(), "estimated"


def class_sample(kind: str, data: Dataset, class_index: int, n: int,
                 generator: torch.Generator) -> tuple[torch.Tensor, float, str]:
    """``n`` fresh points of the class's distribution, the typical norm of a point, and how the
    Gaussian means were obtained."""
    d = math.prod(data.input_shape)
    noise = torch.randn((n, d), generator=generator)
    if kind == "spheres":
        radius = float(data.spec["inner" if class_index == 0 else "outer"])
        return radius * noise / noise.norm(dim=1, keepdim=True), radius, ""
    means, how = gaussian_means(data)
    return noise + means[class_index], math.sqrt(d), how


def nearest_error_ambient(model: Any, x: torch.Tensor, *, overshoot: float, max_iter: int,
                          classes: int) -> SphereSearch:
    """DeepFool's minimal L2 perturbation, then the first label change along its direction
    (``flip_distance``): the distance to the nearest error found in the ambient space."""
    steps = deepfool(model, x, overshoot=overshoot, max_iter=max_iter)
    move = (1 + overshoot) * steps.total
    length = move.flatten(1).norm(dim=1).cpu()
    fooled = ~steps.unfooled.cpu()
    distance = torch.full((len(x),), math.inf)
    index = torch.nonzero(fooled).flatten()
    if len(index):
        flip = flip_distance(model, x[index], move[index], length[index].clamp_min(1e-6),
                             grid=GRID, bisections=BISECTIONS, signs=(1.0,))
        distance[index] = torch.minimum(flip, length[index])
    # every iterate reads the gradients of the (top-10) candidate classes, the one that sees the
    # label changed too
    evaluations = steps.iterations.cpu()[fooled].sum().item() + len(index) + \
        max_iter * int((~fooled).sum())
    return SphereSearch(distance, int(evaluations) * min(classes, 10),
                        len(index) * (GRID + BISECTIONS))


def measure(kind: str, model: Any, data: Dataset, *, class_index: int, n_fresh: int,
            n_points: int, overshoot: float, max_iter: int, device: torch.device,
            generator: torch.Generator) -> SyntheticPart:
    """μ, the measured mean distance to the nearest error and the bound for one class."""
    sample, scale, how = class_sample(kind, data, class_index, n_fresh, generator)
    sample = sample.to(device)
    with torch.no_grad():
        wrong = (model.predict(sample) != class_index).cpu()
        test_error = (model.predict(data.x_test.to(device)).cpu() != data.y_test).float().mean()
    error = Rate.of(wrong, torch.ones_like(wrong))
    x, correct = sample[:n_points], ~wrong[:n_points]
    label = torch.full((int(correct.sum()),), class_index, dtype=torch.long, device=device)
    points = x[correct.to(device)]
    if kind == "spheres":
        search = nearest_error_on_sphere(model, points, label, overshoot=overshoot,
                                         max_iter=max_iter)
    else:
        search = nearest_error_ambient(model, points, overshoot=overshoot, max_iter=max_iter,
                                       classes=data.n_classes)
    errors = sample[wrong.to(device)]
    nearest = (torch.cdist(points.double(), errors.double()).min(dim=1).values.cpu().float()
               if len(errors) and len(points) else torch.full((len(points),), math.inf))
    distance = torch.zeros(len(x))
    distance[correct] = torch.minimum(search.distance, nearest)
    among = torch.ones(len(points), dtype=torch.bool)
    mu = error.rate
    d = math.prod(data.input_shape)
    return SyntheticPart(
        kind=kind, d=d, scale=scale, error=error,
        distance=Mean.of(distance) if torch.isfinite(distance).all() else Mean.of([]),
        bound=mean_distance_bound(kind, mu, d, scale),
        bound_low=mean_distance_bound(kind, error.ci_high, d, scale),
        bound_high=mean_distance_bound(kind, error.ci_low, d, scale),
        found=Rate.of(torch.isfinite(search.distance), among),
        fallback=Rate.of(nearest < search.distance, among), means=how,
        test_error=float(test_error), vjps=search.vjps,
        vjps_minimum=len(points) * min(data.n_classes, 10),
        queries=n_fresh + search.queries)
