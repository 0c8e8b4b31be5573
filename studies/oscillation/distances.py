"""The two distances of the oscillation study, each an upper bound on the true minimal L2
distance, found by a line search (``flip_distance``) along candidate directions and kept as the
smallest over them:

1. from a test point to the nearest error (a point whose predicted label differs): along the
   segments to the ``count`` nearest training points of other classes (and, for a k-NN model,
   to the ``count`` nearest means of the k nearest training points of another class: the move a
   k-NN vote needs) and, for a differentiable model, along DeepFool's direction;
2. from a noise image to a confident prediction of class c (softmax probability, or k-NN vote
   share, at least ``confidence``): along the segments to the ``count`` nearest class-c training
   points (and the mean of the k nearest) and, for a differentiable model, along the targeted
   steps of ``targeted``.

The line search is the core's: a grid of ``GRID`` steps up to the candidate's distance (then
twice it), refined by ``BISECTIONS`` bisections. It finds the first change on its grid, so a
region thinner than a grid step can be missed, and the true nearest error may lie in no
candidate direction: every distance here is an upper bound. Gradient evaluations (one per point
and class gradient) and model queries (one per input row predicted) are counted next to the
least the method needs (``*_minimum``: the start and one grid per line searched; DeepFool's
step and its check, with every class gradient; one targeted step per pair).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from transfer import NEIGHBORS, Dataset, Model, SklearnModel, deepfool, flip_distance

from .targeted import confident_steps

GRID = 16
BISECTIONS = 20
DOUBLINGS = 2  # the grid reaches the candidate's distance, then twice it
LINE_MINIMUM = 1 + GRID  # the least one line search asks: its start and one grid
DEEPFOOL_CLASSES = 10  # the core deepfool's default candidates


@dataclass
class Spent:
    """What a measurement spent, and the least its method needs."""

    gradients: int = 0
    queries: int = 0
    gradients_minimum: int = 0
    queries_minimum: int = 0

    def add(self, other: Spent) -> None:
        self.gradients += other.gradients
        self.queries += other.queries
        self.gradients_minimum += other.gradients_minimum
        self.queries_minimum += other.queries_minimum


@dataclass(frozen=True)
class Search:
    """The settings of both searches: candidate directions, confidence, DeepFool's."""

    count: int = 2
    confidence: float = 0.5
    overshoot: float = 0.02
    max_iter: int = 50


class Counted(Model):
    """A trained model's predictions, every predicted row counted as a query. With
    ``confidence``, each input row carries its target class in one extra last coordinate
    (``carry``) that the search directions never move, and the label is 1 where the model
    predicts that class with probability (k-NN: vote share) at least ``confidence``, else 0:
    the first change of that label along a line, which ``flip_distance`` finds, is the arrival
    in the confident region of the row's target."""

    def __init__(self, model: Model, confidence: float | None = None) -> None:
        super().__init__()
        self.model, self.confidence = model, confidence
        self.device = model.device
        self.queries = 0

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        self.queries += len(x)
        if len(x) == 0:
            return torch.zeros(0, dtype=torch.int64, device=x.device)
        if self.confidence is None:
            return self.model.predict(x)
        assert self.model.input_shape is not None
        target = x[:, -1].round().long().cpu()
        p = probabilities(self.model, x[:, :-1].reshape(-1, *self.model.input_shape))
        rows = torch.arange(len(x))
        hit = (p.argmax(dim=1) == target) & (p[rows, target] >= self.confidence)
        return hit.long().to(x.device)

    def _fit(self, dataset: Dataset, seed: int) -> None:
        raise TypeError("Counted wraps a trained model")

    def _save(self, directory: Path) -> None:
        raise TypeError("Counted wraps a trained model")

    def _load(self, directory: Path) -> None:
        raise TypeError("Counted wraps a trained model")


def neighbours(model: Model) -> int:
    """k of a k-NN model (its vote needs the mean of k points to move); 1 for the others."""
    return int(model.params.get("n_neighbors", 1)) if NEIGHBORS in model.capabilities else 1


def probabilities(model: Model, x: torch.Tensor) -> torch.Tensor:
    """Class probabilities: the softmax of the logits, or a scikit-learn ``predict_proba``
    (for k-NN the vote shares) spread over every class index."""
    if model.has_gradients:
        with torch.no_grad():
            return torch.cat([torch.softmax(model.logits(part), dim=1).cpu()
                              for part in x.split(4096)])
    if not isinstance(model, SklearnModel) or not hasattr(model.estimator, "predict_proba"):
        raise TypeError(f"{type(model).__name__} has neither logits nor predict_proba: its "
                        "confidence is undefined")
    assert model.n_classes is not None
    p = torch.zeros(len(x), model.n_classes, dtype=torch.float64)
    if len(x):
        given = model.estimator.predict_proba(x.detach().flatten(1).cpu().numpy())
        p[:, torch.as_tensor(model.estimator.classes_)] = torch.as_tensor(given)
    return p


def anchors(x: torch.Tensor, train: torch.Tensor, labels: torch.Tensor, wanted: torch.Tensor,
            k: int, count: int) -> torch.Tensor:
    """Per point, the ends of its segments, shape (points, m, *x.shape[1:]): the ``count``
    nearest training points whose label is wanted (``wanted``: points x classes, boolean) and,
    when k > 1, the ``count`` nearest means of the k nearest training points of a wanted class.
    A missing end (too few points) is x itself, a null direction."""
    flat, data = x.flatten(1).cpu(), train.flatten(1).cpu()
    distance = torch.cdist(flat, data)
    allowed = wanted[:, labels]
    nearest = distance.masked_fill(~allowed, math.inf).topk(
        max(1, min(count, int(allowed.sum(dim=1).min()))), largest=False)
    parts = [torch.where(torch.isfinite(nearest.values)[..., None], data[nearest.indices],
                         flat[:, None])]
    if k > 1:
        means = torch.zeros(len(flat), wanted.shape[1], data.shape[1])
        gaps = torch.full((len(flat), wanted.shape[1]), math.inf)
        for c in range(wanted.shape[1]):
            of_class = torch.nonzero(labels == c).flatten()
            if len(of_class) == 0:
                continue
            closest = distance[:, of_class].topk(min(k, len(of_class)), largest=False).indices
            means[:, c] = data[of_class[closest]].mean(dim=1)
            gaps[:, c] = (means[:, c] - flat).norm(dim=1)
        top = gaps.masked_fill(~wanted, math.inf).topk(
            max(1, min(count, int(wanted.sum(dim=1).min()))), largest=False)
        picked = means.gather(1, top.indices[..., None].expand(-1, -1, data.shape[1]))
        parts.append(torch.where(torch.isfinite(top.values)[..., None], picked, flat[:, None]))
    return torch.cat(parts, dim=1).view(len(x), -1, *x.shape[1:]).to(x)


def carry(x: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
    """``x`` flattened, with each row's target class as one extra last coordinate (``None``:
    ``x`` unchanged)."""
    if target is None:
        return x
    return torch.cat([x.flatten(1), target.to(x)[:, None]], dim=1)


def line(judge: Counted, x: torch.Tensor, direction: torch.Tensor, reach: torch.Tensor,
         target: torch.Tensor | None = None) -> torch.Tensor:
    """The first change of ``judge``'s label from each x along ``direction``, searched up to
    ``reach`` (then twice it); inf if none, and for a null direction. ``target``: each row's
    class for a targeted ``judge``."""
    found = flip_distance(judge, carry(x, target), carry(direction, None if target is None
                                                         else torch.zeros_like(target)),
                          reach.clamp_min(1e-6), grid=GRID, doublings=DOUBLINGS,
                          bisections=BISECTIONS, signs=(1.0,))
    found[reach <= 0] = math.inf
    return found


def along_segments(judge: Counted, x: torch.Tensor, ends: torch.Tensor,
                   target: torch.Tensor | None = None) -> torch.Tensor:
    """Per point, the smallest first change along its segments to ``ends`` (points, m, ...)."""
    m = ends.shape[1]
    start = x.repeat_interleave(m, dim=0)
    direction = ends.flatten(0, 1) - start
    reach = direction.flatten(1).norm(dim=1).cpu()
    repeated = None if target is None else target.repeat_interleave(m)
    return line(judge, start, direction, reach, repeated).view(len(x), -1).amin(dim=1)


def error_distance(model: Model, x: torch.Tensor, train: Dataset, search: Search
                   ) -> tuple[torch.Tensor, torch.Tensor, Spent]:
    """Per point, the distance to the nearest label change (see the module docstring), and
    whether DeepFool's direction gave it (False for every point of a model without
    gradients)."""
    if len(x) == 0:
        return torch.zeros(0), torch.zeros(0, dtype=torch.bool), Spent()
    judge = Counted(model)
    label = model.predict(x).cpu()
    wanted = torch.ones(len(x), train.n_classes, dtype=torch.bool)
    wanted[torch.arange(len(x)), label] = False
    ends = anchors(x, train.x_train, train.y_train, wanted, neighbours(model), search.count)
    found = along_segments(judge, x, ends)
    spent = Spent(queries=len(x), queries_minimum=len(x) * (1 + ends.shape[1] * LINE_MINIMUM))
    by_deepfool = torch.zeros(len(x), dtype=torch.bool)
    if model.has_gradients:
        steps = deepfool(model, x, overshoot=search.overshoot, max_iter=search.max_iter)
        unfooled = steps.unfooled.cpu()
        reach = (1 + search.overshoot) * steps.total.flatten(1).norm(dim=1).cpu()
        along = line(judge, x, steps.total, reach.masked_fill(unfooled, 0.0))
        by_deepfool = along < found
        found = torch.minimum(found, along)
        classes = min(model.n_classes or DEEPFOOL_CLASSES, DEEPFOOL_CLASSES)
        calls = steps.iterations.cpu().long() + 1 - unfooled.long()  # the last call checks
        spent.add(Spent(gradients=int(calls.sum()) * classes, gradients_minimum=2 * classes
                        * len(x), queries_minimum=len(x) * LINE_MINIMUM))
    spent.queries += judge.queries
    return found, by_deepfool, spent


def reach_distance(model: Model, z: torch.Tensor, train: Dataset, search: Search
                   ) -> tuple[torch.Tensor, Spent]:
    """(images, classes): the distance from each image to a confident prediction of each class
    (0 where the image already is one; inf where no arrival is found). Every (image, class)
    pair is searched in one batch."""
    n, n_classes = len(z), train.n_classes
    p = probabilities(model, z)
    confident = (p.argmax(dim=1, keepdim=True) == torch.arange(n_classes)) & (
        p >= search.confidence)
    away = torch.nonzero(~confident.flatten()).flatten()
    image, target = away // n_classes, away % n_classes
    found = torch.zeros(n * n_classes)
    judge = Counted(model, search.confidence)
    spent = Spent(queries=n, queries_minimum=n)
    if len(away):
        start = z[image.to(z.device)]
        wanted = torch.nn.functional.one_hot(target, n_classes).bool()
        ends = anchors(start, train.x_train, train.y_train, wanted, neighbours(model),
                       search.count)
        best = along_segments(judge, start, ends, target)
        spent.add(Spent(queries_minimum=len(away) * ends.shape[1] * LINE_MINIMUM))
        if model.has_gradients:
            total, gradients = confident_steps(model, start, target.to(z.device),
                                               search.confidence, search.overshoot,
                                               search.max_iter)
            reach = (1 + search.overshoot) * total.flatten(1).norm(dim=1).cpu()
            best = torch.minimum(best, line(judge, start, total, reach, target))
            spent.add(Spent(gradients=gradients, gradients_minimum=len(away),
                            queries_minimum=len(away) * LINE_MINIMUM))
        found[away] = best
    spent.queries += judge.queries
    return found.view(n, n_classes), spent
