"""The transfer-attacks study's typed cell result: what its claims, report and headlines read.

One (source, attack, mode, eps) cell keeps, for every test point in the evaluated order, whether
the source and each target were fooled (untargeted: the label changed; targeted: the attack's
target class was predicted), so that two attacks can be compared point by point."""

from __future__ import annotations

import torch

from transfer import CellResult, Rate


class TransferAttacksResult(CellResult):
    """Per point (``"1"`` fooled, ``"0"`` not): the source's own (``whitebox``) and each
    target's; what the attack cost, counted (forward passes per point through the source, each
    gradient one of them) and timed."""

    n_points: int
    whitebox: str
    targets: dict[str, str]
    passes_per_point: float
    seconds: float
    attack_measures: dict[str, float]

    @staticmethod
    def flags(fooled: torch.Tensor) -> str:
        return "".join("1" if f else "0" for f in fooled.tolist())

    def fooled(self, target: str) -> list[int]:
        return [int(c) for c in self.targets[target]]

    def rate(self, target: str | None = None) -> Rate:
        """The share of the points fooled: on ``target``, or white-box on the source."""
        flags = self.whitebox if target is None else self.targets[target]
        fooled = torch.tensor([c == "1" for c in flags], dtype=torch.bool)
        return Rate.of(fooled, torch.ones_like(fooled))

    def metrics(self) -> dict[str, float]:
        metrics = {"whitebox_success": self.rate().rate, "passes_per_point": self.passes_per_point,
                   "attack_seconds": self.seconds, "n_points": float(self.n_points)}
        metrics.update({f"attack_{k}": v for k, v in self.attack_measures.items()})
        for target in self.targets:
            metrics.update(self.rate(target).metrics("transfer_rate", f".{target}", counts=False))
        return metrics
