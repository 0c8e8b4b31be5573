"""k-nearest-neighbour attack: a nearest-opposite-class direction search over the stored training
points (the kNN counterpart of the tree attack; Papernot et al. 2016 attack kNN through a
differentiable soft-kNN, this search uses the training points directly).

For a point x of label y and each other class c, the anchors a are the means of the m nearest
class-c training points (m = 1..k, k the model's ``n_neighbors``), and o is the mean of the k
nearest class-y points. Two moves per anchor: towards a, to the point of the eps-ball nearest to
a (x + clip(a - x, -eps, eps) in L-inf; x + eps·(a - x)/‖a - x‖₂ in L2, or a when it is
closer), and along a - o (eps·sign(a - o) in L-inf, the steepest step that brings x closer to a
than to o; eps·(a - o)/‖a - o‖₂ in L2). Those moves and their fractions (``scales``) are all
tried in one batch; the smallest that changes the model's prediction is kept. Needs the
``neighbors`` capability (a scikit-learn ``KNeighborsClassifier``). Logged: the model's
predictions spent per point (``queries_mean``).
"""

from __future__ import annotations

from typing import Any

import torch

from transfer import NEIGHBORS, Attack, AttackResult, Model, Norm, SklearnModel, hookimpl


class NeighborsAttack(Attack):
    """Moves towards the nearest training points of other classes, within eps."""

    minimal = True
    requires = frozenset({NEIGHBORS})

    def __init__(self, norm: Norm = "linf", clip: bool = True,
                 scales: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0), chunk: int = 32) -> None:
        if not scales or not all(0 < s <= 1 for s in scales):
            raise ValueError("scales: fractions of the move in (0, 1], e.g. [0.5, 1.0]")
        super().__init__(norm=norm, clip=clip, scales=tuple(sorted(scales)), chunk=chunk)

    def __call__(
        self,
        model: Model,
        x: torch.Tensor,
        y: torch.Tensor,
        eps: float,
        *,
        bounds: tuple[float, float],
        seed: int = 0,
    ) -> AttackResult:
        assert isinstance(model, SklearnModel), "the neighbors attack reads a scikit-learn kNN"
        knn = model.estimator
        # scikit-learn keeps the training points and their encoded labels in these attributes
        train = torch.as_tensor(knn._fit_X, dtype=torch.float32)
        train_label = torch.as_tensor(knn._y)
        flat = x.detach().flatten(1).cpu().to(torch.float32)
        classes = torch.as_tensor(knn.classes_)
        label = (classes[None, :] == y.cpu()[:, None]).int().argmax(dim=1)
        todo = torch.as_tensor(knn.predict(flat.numpy())) == y.cpu()
        best = flat.clone()
        queries = 0
        for start in range(0, len(flat), self.params["chunk"]):
            rows = torch.arange(start, min(start + self.params["chunk"], len(flat)))
            rows = rows[todo[rows]]
            if len(rows) == 0:
                continue
            moves = self._moves(flat[rows], label[rows], train, train_label, len(classes),
                                knn.n_neighbors, eps, bounds)  # (points, candidates, d)
            tried = moves.flatten(0, 1).numpy()
            queries += len(tried)
            predicted = torch.as_tensor(knn.predict(tried)).view(len(rows), -1)
            fooled = predicted != y.cpu()[rows, None]
            size = self._norm(moves - flat[rows, None]).masked_fill(~fooled, torch.inf)
            choice = size.argmin(dim=1)
            found = torch.isfinite(size.gather(1, choice[:, None]).squeeze(1))
            best[rows[found]] = moves[found, choice[found]]
        x_adv = best.view_as(x).to(x.device)
        return AttackResult(self.finish(x, x_adv, eps, bounds).x_adv,
                            measures={"queries_mean": queries / max(len(x), 1)})

    def _norm(self, delta: torch.Tensor) -> torch.Tensor:
        return delta.abs().amax(dim=-1) if self.norm == "linf" else delta.norm(dim=-1)

    def _moves(self, x: torch.Tensor, label: torch.Tensor, train: torch.Tensor,
               train_label: torch.Tensor, n_classes: int, k: int, eps: float,
               bounds: tuple[float, float]) -> torch.Tensor:
        """Every candidate move of each point: (points, 2·classes·k·scales, d)."""
        distance = torch.cdist(x, train)  # (points, train)
        means = []  # per class: (points, m, d), the means of its m nearest points, m = 1..k
        for c in range(n_classes):
            of_class = torch.nonzero(train_label == c).flatten()
            m = min(k, len(of_class))
            nearest = distance[:, of_class].topk(m, largest=False).indices
            means.append(train[of_class[nearest]].cumsum(dim=1)
                         / torch.arange(1, m + 1)[None, :, None])
        own = torch.stack([means[c][i, -1] for i, c in enumerate(label.tolist())])
        anchor = torch.cat(means, dim=1)  # (points, anchors, d)
        mine = torch.cat([torch.full((len(mean[0]),), c) for c, mean in enumerate(means)])
        anchor = torch.where((mine[None, :] == label[:, None])[..., None], x[:, None], anchor)
        toward, away = anchor - x[:, None], anchor - own[:, None]
        if self.norm == "linf":
            steps = [toward.clamp(-eps, eps), eps * away.sign()]
        else:
            steps = [toward * (eps / toward.norm(dim=2, keepdim=True).clamp_min(1e-12)
                               ).clamp(max=1.0),
                     eps * away / away.norm(dim=2, keepdim=True).clamp_min(1e-12)]
        step = torch.cat(steps, dim=1)
        scales = torch.tensor(self.params["scales"])
        moves = x[:, None, None] + scales[None, None, :, None] * step[:, :, None]
        if self.clip:
            moves = moves.clamp(*bounds)
        return moves.flatten(1, 2)


@hookimpl
def register_attacks(register: Any) -> None:
    register("neighbors", NeighborsAttack)
