"""DeepFool's minimal L2 perturbation against FGSM's (Moosavi-Dezfooli et al. 2016, Table 1).

For each differentiable model on digits: DeepFool's success rate on the clean-correct test points
and its mean L2 perturbation, FGSM's smallest L-inf eps (grid of 0.005) that fools 90% of those
points, FGSM's mean L2 perturbation at that eps, and the ratio (the papers report about 4x on
MNIST).

    python benchmarks/deepfool_vs_fgsm.py [--models mlp,cnn,softmax,logreg]
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np

from transfer import load_registry, train_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="mlp,cnn,maxout,rbf-net,softmax,logreg,linear-svm")
    args = parser.parse_args()
    registry = load_registry()
    data = registry.create("dataset", "digits")
    x, y = data.x_test, data.y_test
    deepfool = registry.create("attack", "deepfool")
    fgsm = registry.create("attack", "fgsm")
    print(f"{'model':12} {'DF success':>10} {'DF mean L2':>10} {'FGSM eps90':>10} "
          f"{'FGSM mean L2':>12} {'ratio':>6}")
    with tempfile.TemporaryDirectory() as cache_dir:
        for name in args.models.split(","):
            model = train_model(name, data, registry=registry, cache_dir=cache_dir, device="cpu")
            correct = model.predict(x) == y
            xc, yc = x[correct], y[correct]
            x_df = deepfool(model, xc, yc, float("inf"), bounds=data.bounds).x_adv
            success = (model.predict(x_df) != yc).float().mean().item()
            df_l2 = (x_df - xc).flatten(1).norm(dim=1).mean().item()
            for eps in np.arange(0.005, 1.0, 0.005):
                x_f = fgsm(model, xc, yc, float(eps), bounds=data.bounds).x_adv
                if (model.predict(x_f) != yc).float().mean() >= 0.9:
                    break
            fgsm_l2 = (x_f - xc).flatten(1).norm(dim=1).mean().item()
            print(f"{name:12} {success:10.1%} {df_l2:10.3f} {eps:10.3f} {fgsm_l2:12.3f} "
                  f"{fgsm_l2 / df_l2:6.2f}")


if __name__ == "__main__":
    main()
