"""Any timm architecture: ``timm:<architecture>`` (e.g. ``timm:resnet18``,
``timm:vit_tiny_patch16_224``), trained from scratch, or with ``weights`` read from the user's
file (a state dict in ``.safetensors`` / ``.pt`` / ``.pth`` / ``.bin``, or a Hugging Face hub
snapshot folder already on disk). Nothing is downloaded (``pretrained=False``). With weights and
no ``mean`` / ``std``, the input normalization is the architecture's (timm's ``pretrained_cfg``).

Trained from scratch, small images get a small-image stem: ResNet-style networks (a ``conv1``
and a ``maxpool``) take a 3x3 stride-1 first convolution and no max-pool for inputs of 32 px or
less (as in CIFAR ResNets); Vision Transformers (``vit_*``, ``deit_*``) take ``img_size`` from
the data and ``patch_size`` from the parameters (default: a quarter of the image side, so 16
tokens). With weights, the architecture is kept as published (a ViT's patch size included).
"""

from __future__ import annotations

import difflib
from typing import Any

from torch import nn

from transfer import TorchModel, hookimpl

VIT_PREFIXES = ("vit_", "deit_", "deit3_")


class TimmModel(TorchModel):
    """A timm architecture trained from scratch, with a small-image stem where needed."""

    def __init__(
        self,
        architecture: str,
        patch_size: int | None = None,
        drop_rate: float = 0.0,
        epochs: int = 30,
        patience: int = 5,
        **training: Any,
    ) -> None:
        import timm
        from timm.models import get_pretrained_cfg

        if not timm.is_model(architecture):
            close = difflib.get_close_matches(architecture, timm.list_models(), n=5, cutoff=0.6)
            hint = f" Did you mean: {', '.join('timm:' + c for c in close)}?" if close else ""
            raise ValueError(f"timm has no architecture {architecture!r}.{hint}")
        cfg = get_pretrained_cfg(architecture)
        if training.get("weights") and training.get("mean") is None and cfg is not None:
            training.update(mean=list(cfg.mean), std=list(cfg.std))
        super().__init__(architecture=architecture, patch_size=patch_size, drop_rate=drop_rate,
                         epochs=epochs, patience=patience, **training)

    def build(self, input_shape: tuple[int, ...], n_classes: int) -> nn.Module:
        import timm

        if len(input_shape) != 3:
            raise ValueError(f"timm models need image inputs (C, H, W), not {input_shape}")
        channels, height, _ = input_shape
        architecture = self.params["architecture"]
        options: dict[str, Any] = {"num_classes": n_classes, "in_chans": channels,
                                   "drop_rate": self.params["drop_rate"]}
        pretrained = "weights" in self.params  # the architecture as published, not adapted
        if architecture.startswith(VIT_PREFIXES):
            options["img_size"] = height
            if self.params["patch_size"] or not pretrained:
                options["patch_size"] = self.params["patch_size"] or max(1, height // 4)
        net = timm.create_model(architecture, pretrained=False, **options)
        conv1 = getattr(net, "conv1", None)
        if isinstance(conv1, nn.Conv2d) and hasattr(net, "maxpool") and height <= 32 and \
                not pretrained:
            net.conv1 = nn.Conv2d(channels, conv1.out_channels, 3, 1, 1, bias=False)
            net.maxpool = nn.Identity()
        return net


@hookimpl
def register_models(register: Any) -> None:
    register("timm:*", TimmModel, description="Any timm architecture, trained from scratch or "
             "from a local weight file: timm:<architecture>, e.g. timm:resnet18")
