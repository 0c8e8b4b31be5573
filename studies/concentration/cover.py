"""Empirical concentration (Mahloujifar, Zhang, Mahmoody & Evans 2019, "Empirically measuring
concentration", their ℓ2 algorithm): a union of T balls that covers a share α of the training
points and whose ε-expansion covers as few of them as possible.

The concentration function h(α, ε) is the smallest measure of the ε-expansion of any set of
measure ≥ α: every classifier whose error region has measure α has adversarial risk ≥ h(α, ε).
Searching only unions of T balls centred at data points gives a set of measure ≈ α with a small
expansion; its expansion's measure on held-out points estimates h restricted to that family (≥
the true h, converging to it as T and the sample grow, as they prove).

Greedy placement, as in their code: ball t must cover between ⌈need/(T − t + 1)⌉ and ``need``
new points (``need``: what is left to cover); over every candidate centre and every such count q,
the radius is the distance to the q-th nearest point not yet covered, and the ball that adds the
fewest points to the expansion beyond those it covers wins (points covered beyond ``need``, e.g.
at tied distances, earn nothing: otherwise one ball over everything would cost nothing). For an
L2 (L-inf) ball of radius r, the ε-expansion is the ball of radius r + ε, exactly.

A cover fitted to the training points covers fewer unseen points than it was built for (the
greedy picks where the sample happens to be dense). As Mahloujifar et al. do with their δ, it is
built to cover (1 + δ)·α of the search points, δ the first value of a grid whose cover holds at
least α of separate calibration points (``calibrated_cover``), so that its measure is about α.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class BallCover:
    """The balls placed (centres as indices of the training points, radii), and how many
    training points the union (``covered``) and its ε-expansion (``expanded``) contain."""

    centres: tuple[int, ...]
    radii: tuple[float, ...]
    covered: int
    expanded: int


def distances(a: torch.Tensor, b: torch.Tensor, norm: str) -> torch.Tensor:
    """Pairwise L2 or L-inf distances between the rows of two point sets (flattened), float64
    and computed directly (no matrix-product shortcut), so equal pairs give equal numbers."""
    a64, b64 = a.flatten(1).double(), b.flatten(1).double()
    if norm == "l2":
        return torch.cdist(a64, b64, compute_mode="donot_use_mm_for_euclid_dist")
    return torch.cdist(a64, b64, p=math.inf)


def densest(dist: torch.Tensor, k: int, how_many: int) -> torch.Tensor:
    """The ``how_many`` points whose k-th nearest other point is closest (a k-NN density
    estimate), as sorted indices."""
    k = min(max(k, 1), dist.shape[1] - 1)
    radius = dist.kthvalue(k + 1, dim=1).values  # the point itself is its own 0-th neighbour
    return radius.argsort()[:how_many].sort().values


def greedy_cover(dist: torch.Tensor, count: int, balls: int, eps: float,
                 candidates: torch.Tensor | None = None) -> BallCover:
    """At most ``balls`` balls centred at training points (``candidates``: the allowed centres,
    default all) whose union covers at least ``count`` of the n points of the square distance
    matrix ``dist``, placed greedily to keep the ε-expansion small (module docstring)."""
    n = dist.shape[0]
    count = min(count, n)
    rows = torch.arange(n) if candidates is None else candidates
    values, order = dist[rows].sort(dim=1)
    covered = torch.zeros(n, dtype=torch.bool)
    expanded = torch.zeros(n, dtype=torch.bool)
    centres: list[int] = []
    radii: list[float] = []
    for placed in range(balls):
        need = count - int(covered.sum())
        if need <= 0:
            break
        qs = torch.arange(math.ceil(need / (balls - placed)), need + 1)
        open_cover = (~covered)[order].long().cumsum(dim=1)  # uncovered among the j+1 nearest
        open_expand = (~expanded)[order].long().cumsum(dim=1)
        position = torch.searchsorted(open_cover, qs.expand(len(rows), -1).contiguous())
        radius = values.gather(1, position)  # the q-th nearest uncovered point's distance
        new_cover = open_cover.gather(1, torch.searchsorted(values, radius, right=True) - 1)
        new_expand = open_expand.gather(
            1, torch.searchsorted(values, radius + eps, right=True) - 1)
        best = int((new_expand - new_cover.clamp(max=need)).flatten().argmin())
        row, q = divmod(best, len(qs))
        centre, r = int(rows[row]), radius[row, q]
        covered |= dist[centre] <= r
        expanded |= dist[centre] <= r + eps
        centres.append(centre)
        radii.append(float(r))
    return BallCover(tuple(centres), tuple(radii), int(covered.sum()), int(expanded.sum()))


def inside(dist_to_centres: torch.Tensor, cover: BallCover, margin: float = 0.0) -> torch.Tensor:
    """Which points lie in the union of the cover's balls grown by ``margin`` (0: the union, ε:
    its expansion), from their distances to the cover's centres (one column per ball)."""
    if not cover.centres:
        return torch.zeros(len(dist_to_centres), dtype=torch.bool)
    radii = torch.tensor(cover.radii, dtype=dist_to_centres.dtype) + margin
    return (dist_to_centres <= radii.unsqueeze(0)).any(dim=1)


def calibrated_cover(search: torch.Tensor, calibration: torch.Tensor, alpha: float,
                     overcover: list[float], balls: int, eps: float,
                     centres: int | None = None) -> tuple[BallCover, float, float]:
    """The greedy cover of the search points (square distance matrix ``search``) for
    (1 + δ)·α of them, δ the first of ``overcover`` whose union holds at least a share α of the
    calibration points (``calibration``: their distances to the search points; no rows: the
    first δ); ``centres`` limits the candidate centres to the densest. Returns the cover, δ and
    the calibration share it holds (NaN without calibration points)."""
    n = len(search)
    share = math.nan
    for delta in overcover:
        count = min(math.ceil(alpha * (1 + delta) * n), n)
        candidates = (None if centres is None or centres >= n
                      else densest(search, math.ceil(count / balls), centres))
        cover = greedy_cover(search, count, balls, eps, candidates)
        if len(calibration) == 0:
            break
        share = inside(calibration[:, list(cover.centres)], cover).double().mean().item()
        if share >= alpha:
            break
    return cover, delta, share
