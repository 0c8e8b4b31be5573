"""Test error in noise: does a point's error rate under Gaussian noise predict its distance to the
nearest error, as a locally half-space error set would? (Ford, Gilmer, Carlini & Cubuk 2019,
"Adversarial examples are a natural consequence of test error in noise", ICML.)

One cell per model. On the correctly classified points of ``n_points`` test points:

1. the noise error μ_x(σ): the share of ``n_noise`` copies x + σz, z ~ N(0, I) (unclipped), that
   the model misclassifies, for every σ of the grid (``half_space.noise_errors``);
2. the prediction: at the smallest σ whose μ_x lies in [``min_error``, 1/2), the distance of the
   half-space that would catch that share of the noise, d_pred = −σ·Φ⁻¹(μ_x); a point with no
   such σ has no prediction (counted);
3. the measurement: DeepFool's minimal L2 perturbation ‖r*‖₂ (unbounded, with its overshoot; an
   upper bound on the distance to the nearest error), NaN where DeepFool never flips the label.

This package: the study below, ``config`` (the config), ``result`` (the typed cell result),
``claims`` (the claims), ``report`` (the summary tables and figures), the default
``config.toml``; its own mathematics: ``half_space``. Claims and report read ``result``,
``config`` and ``half_space``, never this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from transfer import (
    Cell,
    Context,
    Dataset,
    Mean,
    ModelSpec,
    NotApplicable,
    Registry,
    Study,
    Summary,
    evaluation_points,
    hookimpl,
    require_gradients,
)

from .claims import CLAIMS
from .config import NAME, NoiseErrorConfig
from .half_space import deepfool_distances, noise_errors, predictions
from .result import NoiseErrorResult


class NoiseError(Study[NoiseErrorConfig, NoiseErrorResult]):
    """Error rate in Gaussian noise against the distance to the nearest error, per point."""

    about = (
        "Are adversarial examples and errors in Gaussian noise two views of one phenomenon, as "
        "Ford, Gilmer, Carlini & Cubuk (2019) argue? Per correctly classified point, the share "
        "μ of its noisy copies x + σz the model gets wrong predicts, were the error set locally "
        "a half-space, the distance to the nearest error d_pred = −σ·Φ⁻¹(μ); the key figure "
        "sets DeepFool's measured distance against it (log-log, one colour per model, the "
        "diagonal and the factor-2 band), the second the noise-error curves μ(σ) per model."
    )

    Config = NoiseErrorConfig
    Result = NoiseErrorResult
    claims = CLAIMS
    theory = "Test error in noise"
    default_config = Path(__file__).with_name("config.toml")

    def validate(self, config: NoiseErrorConfig, registry: Registry) -> None:
        require_gradients(registry, [(f"models.{i}", m) for i, m in enumerate(config.models)],
                          "this study measures the distance to the nearest error with DeepFool")

    def trained_models(self, ctx: Context[NoiseErrorConfig]
                       ) -> list[tuple[ModelSpec, Dataset, int]]:
        """Every model, on the whole training set (trained first, in parallel, by ``ray``)."""
        data = ctx.dataset(ctx.config.dataset)
        return [(spec, data, ctx.config.seed) for spec in ctx.config.models]

    def plan(self, config: NoiseErrorConfig) -> list[Cell]:
        return [Cell.make(NAME, model=m.label) for m in config.models]

    def run(self, cell: Cell, ctx: Context[NoiseErrorConfig]) -> NoiseErrorResult | NotApplicable:
        config = ctx.config
        data = ctx.dataset(config.dataset)
        index = evaluation_points(len(data.y_test), config.n_points, config.seed)
        x, y = data.x_test[index].to(ctx.device), data.y_test[index].to(ctx.device)
        model = ctx.model(config.model(cell["model"]), data, config.seed)
        with torch.no_grad():
            right = (model.predict(x) == y).cpu()
        # every evaluation point draws its noise, in order, so a point meets the same noise
        # under every model; the points the model gets wrong are then left out
        errors = noise_errors(model, x, y, config.sigmas, config.n_noise,
                              ctx.generator(config.seed))[right]
        chosen, d_pred = predictions(errors, config.sigmas, config.min_error)
        kept = torch.nonzero(right).flatten()
        return NoiseErrorResult(
            sigmas=config.sigmas, n_noise=config.n_noise, points=len(x), correct=len(kept),
            noise_error=[Mean.of(errors[:, j]) for j in range(len(config.sigmas))],
            index=index[kept].tolist(), mu=errors.tolist(), sigma_chosen=chosen,
            d_pred=d_pred,
            d_deepfool=deepfool_distances(model, x[kept.to(x.device)], config.overshoot,
                                          config.max_iter))

    def summarize(self, config: NoiseErrorConfig,
                  results: Mapping[Cell, NoiseErrorResult | NotApplicable]) -> Summary:
        from .report import summarize

        return summarize(config, results)


@hookimpl
def register_studies(register: Any) -> None:
    register(NAME, NoiseError)
