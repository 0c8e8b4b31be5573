"""Singular subspaces of a model's local Jacobian and of its first layer, and how much of a
perturbation's energy lies in them: the spectral test of the Lipschitz explanation (Dobriban's
survey: "is the adversarial example aligned with the top singular vector? does it appear with
large singular values?").

The local Jacobian is that of the *centred* logits f(x) − mean_c f_c(x): softmax ignores a shift
shared by every logit, so the direction that raises all logits together changes no decision and is
left out (the centred Jacobian has rank at most K − 1 for K classes). Its right singular vectors
v_1, v_2, ... (largest singular value first) span the input directions the logits see. For a unit
direction u, ``energy_shares`` gives Σ_{i≤k} ⟨v_i, u⟩² for every k; a direction drawn uniformly
from the sphere of R^d has expected share k/d, one drawn uniformly from the Jacobian's row space
(rank m) has k/m.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from transfer import Model, class_gradients, forward_hooked

FIRST_LAYERS = (nn.Linear, nn.Conv2d)


def centred_jacobian_svd(model: Model, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per point, the singular values (n, K) and right singular vectors (n, K, d) of the Jacobian
    of the centred logits, in float64, largest first. K vector-Jacobian products per point."""
    jacobian = class_gradients(model, x)[1].flatten(2).double().cpu()
    centred = jacobian - jacobian.mean(dim=1, keepdim=True)
    _, sigma, vh = torch.linalg.svd(centred, full_matrices=False)
    return sigma, vh


def energy_shares(vh: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
    """Σ_{i≤k} ⟨v_i, u⟩² for k = 1..m, per point: ``vh`` (n, m, d) or (m, d) holds unit rows v_i,
    ``directions`` (n, ...) the perturbations (normalised here). Shape (n, m)."""
    u = directions.flatten(1).double().cpu()
    u = u / u.norm(dim=1, keepdim=True).clamp_min(1e-300)
    coordinates = (vh @ u[:, :, None]).squeeze(2) if vh.dim() == 3 else u @ vh.T
    return coordinates.pow(2).cumsum(dim=1)


def gains(sigma: torch.Tensor, vh: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
    """‖J u‖ / σ_1 for the unit direction u of each perturbation: 1 along v_1, the share of the
    largest stretch a direction gets (J the centred Jacobian)."""
    u = directions.flatten(1).double().cpu()
    u = u / u.norm(dim=1, keepdim=True).clamp_min(1e-300)
    stretched = sigma * (vh @ u[:, :, None]).squeeze(2)
    return stretched.norm(dim=1) / sigma[:, 0].clamp_min(1e-300)


def row_space_directions(vh: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One direction per point drawn uniformly from the span of its rows ``vh`` (n, m, d): a
    Gaussian combination of an orthonormal basis is uniform on that subspace's sphere."""
    weights = torch.randn(vh.shape[:2], generator=generator, dtype=torch.float64)
    return (weights[:, None, :] @ vh).squeeze(1)


def expected_abs_cosine(d: int) -> float:
    """E|⟨u, v⟩| for u uniform on the unit sphere of R^d and a fixed unit v:
    Γ(d/2) / (√π Γ((d+1)/2))."""
    return math.exp(math.lgamma(d / 2) - math.lgamma((d + 1) / 2)) / math.sqrt(math.pi)


def first_layer_matrix(module: nn.Module, sample: torch.Tensor, max_inputs: int = 4096
                       ) -> tuple[str, torch.Tensor | None]:
    """The matrix A of the map from the input to the first linear or convolutional layer's
    output (pre-activation; the bias dropped), and the layer's name. Every layer before it must be
    affine (flatten, a normalisation): A is read from the responses to the basis vectors and
    checked on a random direction. ``None`` (with the reason) when the input has more than
    ``max_inputs`` values, no such layer exists, or the map is not affine."""
    d = sample[0].numel()
    if d > max_inputs:
        return f"input of {d} values (more than {max_inputs})", None
    basis = torch.eye(d, dtype=sample.dtype, device=sample.device).view(d, *sample.shape[1:])
    generator = torch.Generator().manual_seed(0)
    check = torch.randn(sample[:1].shape, generator=generator).to(sample)
    probe = torch.cat([sample[:1], sample[:1] + basis, sample[:1] + check])
    found: list[tuple[nn.Module, torch.Tensor]] = []

    def first(layer: nn.Module, _: Any, output: Any) -> None:
        if not found and isinstance(layer, FIRST_LAYERS):
            found.append((layer, output.detach().flatten(1).double()))

    forward_hooked(module, probe, first)
    if not found:
        return "no linear or convolutional layer", None
    layer, out = found[0]
    matrix = (out[1:d + 1] - out[0]).T  # (outputs, d): column i is the response to e_i
    predicted = matrix @ check.flatten().double().cpu().to(matrix.device)
    if not torch.allclose(predicted, out[d + 1] - out[0], rtol=1e-3, atol=1e-4):
        return f"the input to {type(layer).__name__} is not an affine map of x", None
    return type(layer).__name__, matrix.cpu()


def first_layer_basis(module: nn.Module | None, sample: torch.Tensor, max_inputs: int
                      ) -> tuple[str, torch.Tensor]:
    """The first layer's name (or why it could not be read) and its right singular vectors
    (rank, d), largest singular value first; no rows when it could not be read."""
    if module is None:
        return "not a torch module", torch.zeros(0, sample[0].numel(), dtype=torch.float64)
    name, matrix = first_layer_matrix(module, sample, max_inputs)
    if matrix is None:
        return name, torch.zeros(0, sample[0].numel(), dtype=torch.float64)
    return name, torch.linalg.svd(matrix, full_matrices=False)[2][
        :int(torch.linalg.matrix_rank(matrix))]
