"""The manifold study's own mathematics: the local tangent plane of the data at a point (the top
principal directions of its nearest training points, Khoury & Hadfield-Menell 2018's local
view of a low-dimensional manifold), the share of a vector's energy in that plane, distances to the
affine plane, and DeepFool restricted to a plane (Fawzi et al. 2016's semi-random noise when the
plane is random).

Everything is in float64 on flattened inputs; the model sees float32 points as usual.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from transfer import deepfool, random_basis


@dataclass(frozen=True)
class Planes:
    """Per point: ``basis`` (n, d, m), orthonormal columns spanning the local tangent plane;
    ``centre`` (n, d), the mean of the neighbours (a point of the affine plane); ``explained``
    (n,), the share of the neighbours' variance the m directions hold."""

    basis: torch.Tensor
    centre: torch.Tensor
    explained: torch.Tensor


def tangent_planes(x: torch.Tensor, train: torch.Tensor, neighbours: int, dimension: int
                   ) -> Planes:
    """The local PCA at each point of ``x``: its ``neighbours`` nearest points of ``train``
    (Euclidean, any class), centred on their mean; the top ``dimension`` right singular vectors."""
    points = x.detach().flatten(1).to("cpu", torch.float64)
    cloud = train.detach().flatten(1).to("cpu", torch.float64)
    if not 0 < dimension < min(neighbours, points.shape[1]):
        raise ValueError(f"dimension {dimension}: needs 0 < m < min(neighbours = {neighbours}, "
                         f"d = {points.shape[1]})")
    distances = torch.cdist(points, cloud, compute_mode="donot_use_mm_for_euclid_dist")
    nearest = distances.topk(neighbours, dim=1, largest=False).indices
    local = cloud[nearest]  # (n, k, d)
    centre = local.mean(dim=1)
    _, sigma, vh = torch.linalg.svd(local - centre[:, None], full_matrices=False)
    energy = sigma.pow(2)
    explained = energy[:, :dimension].sum(dim=1) / energy.sum(dim=1).clamp_min(1e-300)
    return Planes(vh[:, :dimension].transpose(1, 2).contiguous(), centre, explained)


def energy_share(basis: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """‖P r‖² / ‖r‖² per point, P the projector onto the span of ``basis``'s columns."""
    flat = r.flatten(1).to(basis)
    inside = (basis.transpose(1, 2) @ flat[:, :, None]).squeeze(2)
    return inside.pow(2).sum(dim=1) / flat.pow(2).sum(dim=1)


def plane_distance(z: torch.Tensor, planes: Planes) -> torch.Tensor:
    """The distance of each point of ``z`` to its affine plane centre + span(basis)."""
    offset = z.flatten(1).to(planes.basis) - planes.centre
    along = (planes.basis @ (planes.basis.transpose(1, 2) @ offset[:, :, None])).squeeze(2)
    return (offset - along).norm(dim=1)


def restricted_norms(model: Any, x: torch.Tensor, basis: torch.Tensor, *, overshoot: float,
                     max_iter: int) -> torch.Tensor:
    """‖r‖ of DeepFool's perturbation inside the plane of ``basis`` (as applied, with the
    overshoot; the basis is orthonormal, so the norm of its coordinates), inf where the label did
    not change within ``max_iter`` steps."""
    steps = deepfool(model, x, overshoot=overshoot, max_iter=max_iter,
                     basis=basis.to(x.device))
    norms = (1 + overshoot) * steps.total.detach().to("cpu", torch.float64).norm(dim=1)
    norms[steps.unfooled.cpu()] = math.inf
    return norms


@dataclass(frozen=True)
class Measured:
    """Per point where DeepFool (full space) changed the label, in the order of ``kept`` (the
    positions among the points given): every per-point quantity of the study."""

    kept: torch.Tensor
    deepfool_norm: torch.Tensor
    tangent_share: torch.Tensor
    tangent_norm: torch.Tensor
    random_norm: torch.Tensor
    explained: torch.Tensor
    clean_distance: torch.Tensor
    adversarial_distance: torch.Tensor


def measure(model: Any, x: torch.Tensor, train: torch.Tensor, *, neighbours: int,
            dimension: int, overshoot: float, max_iter: int, generator: torch.Generator
            ) -> Measured:
    """DeepFool's r* at each point of ``x``; at the points it fools, the tangent plane, the share
    of r* in it, DeepFool restricted to it and to a random plane of the same dimension (drawn
    from ``generator``), and the distances of x and x + r* to the affine plane."""
    if len(x) == 0:
        empty = torch.zeros(0, dtype=torch.float64)
        return Measured(torch.zeros(0, dtype=torch.long), *[empty] * 7)
    steps = deepfool(model, x, overshoot=overshoot, max_iter=max_iter)
    kept = torch.nonzero(~steps.unfooled.cpu()).flatten()
    x = x[kept.to(x.device)]
    r = (1 + overshoot) * steps.total[kept.to(x.device)].detach().flatten(1).to("cpu",
                                                                                  torch.float64)
    planes = tangent_planes(x, train, neighbours, dimension)
    random = random_basis(len(x), r.shape[1], dimension, generator)
    start = x.detach().flatten(1).to("cpu", torch.float64)
    return Measured(
        kept=kept, deepfool_norm=r.norm(dim=1), tangent_share=energy_share(planes.basis, r),
        tangent_norm=restricted_norms(model, x, planes.basis, overshoot=overshoot,
                                      max_iter=max_iter),
        random_norm=restricted_norms(model, x, random, overshoot=overshoot, max_iter=max_iter),
        explained=planes.explained, clean_distance=plane_distance(start, planes),
        adversarial_distance=plane_distance(start + r, planes))
