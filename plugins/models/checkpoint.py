"""Any torch network the user already has: ``name = "checkpoint"`` with ``weights`` (a file) and
``architecture``. The architecture is a registered torch family (``"timm:resnet50"``, ``"cnn"`` or
``{ name = "mlp", params = { hidden = [64] } }``) or a ``module:callable`` factory importable from
the plugins (called with ``architecture_params``, returning an ``nn.Module``); the weights are its
state dict (``.safetensors``, ``.pt``, ``.pth``, ``.bin``). Without an architecture, ``weights``
is a TorchScript file (``torch.jit.save``), which is the network itself. Nothing is trained;
``mean`` and ``std`` add the input normalization (as on every torch family).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import torch
from torch import nn

from transfer import CheckpointError, ModelSpec, TorchModel, hookimpl, is_torchscript, load_registry


class Checkpoint(TorchModel):
    """A network from the user's weight file: a state dict for an architecture, or TorchScript."""

    def __init__(self, weights: str, architecture: str | dict[str, Any] | None = None,
                 architecture_params: dict[str, Any] | None = None, **options: Any) -> None:
        super().__init__(weights=weights, architecture=architecture,
                         architecture_params=dict(architecture_params or {}), **options)
        if architecture is None and not is_torchscript(Path(self.params["weights"])):
            raise CheckpointError(f"weights: {self.params['weights']} is a state dict, not a "
                                  "TorchScript file: name its architecture (e.g. architecture = "
                                  "\"timm:resnet18\")")

    def build(self, input_shape: tuple[int, ...], n_classes: int) -> nn.Module:
        architecture = self.params["architecture"]
        if architecture is None:
            return torch.jit.load(self.params["weights"], map_location="cpu")
        registry = self.registry or load_registry()
        spec = (ModelSpec(name=architecture) if isinstance(architecture, str)
                else ModelSpec.model_validate(architecture))
        if registry.has("model", spec.name):
            family = registry.create("model", spec.name, **spec.params)
            if not isinstance(family, TorchModel):
                raise CheckpointError(f"architecture: {spec.name!r} is not a torch family")
            return family.build(input_shape, n_classes)
        module, _, attribute = spec.name.partition(":")
        try:
            factory = getattr(importlib.import_module(module), attribute)
        except (ImportError, AttributeError, ValueError):
            raise CheckpointError(f"architecture: {spec.name!r} is neither a registered torch "
                                  "family nor an importable module:callable factory") from None
        net = factory(**self.params["architecture_params"])
        if not isinstance(net, nn.Module):
            raise CheckpointError(f"architecture: {spec.name} returned {type(net).__name__}, "
                                  "not a torch nn.Module")
        return net

    def load_pretrained(self, net: nn.Module, file: Path) -> None:
        if self.params["architecture"] is not None:  # TorchScript: the file is the network
            super().load_pretrained(net, file)


@hookimpl
def register_models(register: Any) -> None:
    register("checkpoint", Checkpoint)
