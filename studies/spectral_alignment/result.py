"""The spectral-alignment study's typed cell result: what its claims, report and headlines read."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from transfer import CellResult, Mean


class Alignment(BaseModel):
    """How one kind of direction sits in the singular subspaces, averaged over the points."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    top_share: Mean  # ⟨u, v_1⟩² with the Jacobian's top right singular vector
    gain: Mean  # ‖J u‖ / σ_1
    jacobian_curve: list[float]  # mean share of the energy in the top-k subspace, k = 1..K−1
    first_layer_top: Mean | None  # share in the first layer's top-(K−1) subspace
    first_layer_curve: list[float]  # mean share at each k of ``first_layer_ks``


class SpectralResult(CellResult):
    """One model: the alignment of each kind of direction, the Jacobian's spectrum, the counts."""

    d: int
    rank: int  # K − 1: the centred Jacobian's largest possible rank
    sigma: list[float]  # mean singular values of the centred Jacobian, largest first
    first_layer: str  # the layer read, or why none was
    first_layer_ks: list[int]
    first_layer_rank: int
    kinds: dict[str, Alignment]
    vjps: int  # vector-Jacobian products spent (Jacobians and DeepFool; PGD's are its own)
    vjps_minimum: int  # the least: K per Jacobian (one per point and per DeepFool step)

    def metrics(self) -> dict[str, float]:
        metrics: dict[str, float] = {"sigma_max": self.sigma[0], "vjps": self.vjps,
                                     "vjps_minimum": self.vjps_minimum}
        for kind, alignment in self.kinds.items():
            metrics.update(alignment.top_share.metrics(f"{kind}.top_share"))
            metrics.update(alignment.gain.metrics(f"{kind}.gain"))
            if alignment.first_layer_top is not None:
                metrics.update(alignment.first_layer_top.metrics(f"{kind}.first_layer_top"))
        return metrics
