"""The transfer attacks against independent re-computations on tiny hand-built networks: DI's
transform applied by hand, TI's kernel as an explicit convolution, SGM's gradient scale and LinBP's
linear backward pass in closed form, ILA's projection on a linear layer, SI and Admix as averages
of hand-taken gradients, and the compositions that reduce to a known attack."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from transfer import TorchModel, freeze, load_registry
from transfer.plugins.attacks.backward_passes import linear_backward, skip_gradient
from transfer.plugins.attacks.features import middle_layer
from transfer.plugins.attacks.input_transforms import gaussian_kernel, translated


class Fixed(TorchModel):
    """A hand-built network as a model (never trained)."""

    def __init__(self, net: nn.Module, n_classes: int) -> None:
        super().__init__()
        self.net, self.n_classes = freeze(net), n_classes

    def build(self, input_shape, n_classes):
        return self.net


def _attack(name, **params):
    return load_registry().create("attack", name, **params)


def _gradient(net, x, y, transform=lambda v: v):
    point = x.detach().requires_grad_(True)
    loss = F.cross_entropy(net(transform(point)), y, reduction="sum")
    return torch.autograd.grad(loss, point)[0]


def _images(n=6, side=8, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(n, 1, side, side, generator=generator),
            torch.randint(0, 3, (n,), generator=generator))


def _conv_net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 64, 3))


def test_diversity_gradient_is_the_gradient_through_the_hand_made_resize_and_pad():
    """One DI step (prob 1, resize_rate 1.5: sides 8..12) moves x by eps·sign of ∇ₓ L(T(x)), T
    rebuilt here from the same seeded draws with explicit interpolate and pad calls."""
    net, (x, y) = _conv_net(), _images()
    eps, seed = 0.1, 5
    attack = _attack("difgsm", steps=1, diversity_prob=1.0, resize_rate=1.5, clip=False)
    x_adv = attack(Fixed(net, 3), x, y, eps, bounds=(0.0, 1.0), seed=seed).x_adv
    generator = torch.Generator().manual_seed(seed)
    assert torch.rand(1, generator=generator).item() < 1.0  # the probability draw
    inner = int(torch.randint(8, 12 + 1, (1,), generator=generator))
    top = int(torch.randint(0, 12 - inner + 1, (1,), generator=generator))
    left = int(torch.randint(0, 12 - inner + 1, (1,), generator=generator))

    def by_hand(v):
        small = F.interpolate(v, size=(inner, inner), mode="bilinear", align_corners=False)
        big = F.pad(small, (left, 12 - inner - left, top, 12 - inner - top))
        return F.interpolate(big, size=(8, 8), mode="bilinear", align_corners=False)

    grad = _gradient(net, x, y, by_hand)
    moved = (x_adv - x)[grad != 0]
    assert torch.allclose(moved, eps * grad.sign()[grad != 0], atol=1e-6)
    plain = _attack("mifgsm", steps=1, clip=False)(Fixed(net, 3), x, y, eps, bounds=(0.0, 1.0))
    assert not torch.equal(plain.x_adv, x_adv) or inner == 8  # a real change unless no resize


def test_diversity_with_probability_zero_is_mifgsm():
    net, (x, y) = _conv_net(), _images()
    model = Fixed(net, 3)
    di = _attack("difgsm", steps=4, diversity_prob=0.0)(model, x, y, 0.1, bounds=(0, 1), seed=2)
    mi = _attack("mifgsm", steps=4)(model, x, y, 0.1, bounds=(0, 1), seed=2)
    assert torch.equal(di.x_adv, mi.x_adv)


def test_translation_kernel_and_convolution_match_an_explicit_sum():
    size, sigma = 5, 3.0
    points = np.linspace(-sigma, sigma, size)
    density = np.exp(-points**2 / 2) / math.sqrt(2 * math.pi)
    expected = np.outer(density, density) / np.outer(density, density).sum()
    kernel = gaussian_kernel(size, sigma)
    np.testing.assert_allclose(kernel.numpy(), expected, rtol=1e-6)
    grad = torch.randn(2, 3, 6, 7, generator=torch.Generator().manual_seed(1))
    smoothed = translated(grad, size, sigma).numpy()
    g, k, half = grad.numpy(), kernel.numpy(), size // 2
    explicit = np.zeros_like(g)
    for i in range(6):
        for j in range(7):
            for a in range(size):
                for b in range(size):
                    u, v = i + a - half, j + b - half
                    if 0 <= u < 6 and 0 <= v < 7:
                        explicit[:, :, i, j] += k[a, b] * g[:, :, u, v]
    np.testing.assert_allclose(smoothed, explicit, rtol=1e-5, atol=1e-6)


def test_scale_and_admix_average_hand_taken_gradients():
    """SI: mean over i of ∇ₓ L(x / 2^i); Admix: the same over x + 0.2·x[perm] for 3 permutations
    drawn from the seeded generator (the mixed-in points held fixed)."""
    net, (x, y) = _conv_net(2), _images(seed=3)
    model, eps, seed = Fixed(net, 3), 0.05, 4
    si = _attack("sinifgsm", steps=1, clip=False)(model, x, y, eps, bounds=(0, 1), seed=seed)
    grad = sum(_gradient(net, x, y, lambda v, i=i: v / 2**i) for i in range(5)) / 5
    assert torch.allclose((si.x_adv - x)[grad != 0], eps * grad.sign()[grad != 0], atol=1e-6)
    admix = _attack("admix", steps=1, clip=False)(model, x, y, eps, bounds=(0, 1), seed=seed)
    generator = torch.Generator().manual_seed(seed)
    orders = [torch.randperm(len(x), generator=generator) for _ in range(3)]
    grad = sum(_gradient(net, x, y, lambda v, o=o, i=i: (v + 0.2 * v[o].detach()) / 2**i)
               for o in orders for i in range(5)) / 15
    assert torch.allclose((admix.x_adv - x)[grad != 0], eps * grad.sign()[grad != 0], atol=1e-6)
    assert admix.measures["gradients_per_point"] == 15 and si.measures["gradients_per_point"] == 5


class Block(nn.Module):
    """A linear residual block z + W z (``conv1`` is W; no downsample)."""

    def __init__(self, d: int) -> None:
        super().__init__()
        self.conv1 = nn.Linear(d, d, bias=False)
        self.downsample = None

    def forward(self, z):
        return z + self.conv1(z)


def test_skip_gradient_scales_each_residual_branch_by_gamma():
    """Two blocks and a head H: ∇ₓ = (I + γW₁)ᵀ(I + γW₂)ᵀHᵀ(p − e_y), Wu et al.'s eq. 9."""
    torch.manual_seed(0)
    d, gamma = 5, 0.3
    net = nn.Sequential(Block(d), Block(d), nn.Linear(d, 3, bias=False)).double()
    x = torch.randn(4, d, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 1])
    with skip_gradient(net, gamma) as scaled:
        grad = _gradient(net, x, y)
    assert scaled == 2
    w1, w2, h = net[0].conv1.weight, net[1].conv1.weight, net[2].weight
    eye = torch.eye(d, dtype=torch.float64)
    with torch.no_grad():
        delta = torch.softmax(net(x), 1) - F.one_hot(y, 3).double()
        expected = delta @ h @ (eye + gamma * w2) @ (eye + gamma * w1)
    assert torch.allclose(grad, expected, atol=1e-10)
    assert not torch.allclose(_gradient(net, x, y), expected)  # the hooks are gone again
    sgm = _attack("sgm", steps=1, gamma=gamma, clip=False)(Fixed(net, 3), x, y, 0.1,
                                                           bounds=(-9.0, 9.0))
    assert (expected != 0).all()
    assert torch.allclose(sgm.x_adv - x, 0.1 * expected.sign(), atol=1e-9)
    assert sgm.measures["sgm_modules"] == 2


def test_linear_backward_makes_the_later_relus_the_identity():
    """x → A → ReLU → B → ReLU → C: with the second ReLU linear, ∇ₓ = δCBdiag(1[Ax > 0])A."""
    torch.manual_seed(1)
    net = nn.Sequential(nn.Linear(6, 5), nn.ReLU(inplace=True), nn.Linear(5, 4),
                        nn.ReLU(inplace=True), nn.Linear(4, 3)).double()
    x = torch.randn(7, 6, dtype=torch.float64)
    y = torch.randint(0, 3, (7,))
    with torch.no_grad():
        logits = net(x)
        delta = torch.softmax(logits, 1) - F.one_hot(y, 3).double()
        gate = (net[0](x) > 0).double()
        a, b, c = net[0].weight, net[2].weight, net[4].weight
        expected = ((delta @ c @ b) * gate) @ a
    with linear_backward(net, None) as linear:  # two ReLUs: the later half is the second
        grad = _gradient(net, x, y)
        assert torch.equal(net(x), logits)  # the forward pass is unchanged
    assert linear == 1 and net[1].inplace and net[3].inplace  # settings restored
    assert torch.allclose(grad, expected, atol=1e-10)
    with linear_backward(net, "2"):  # the same from a named module on
        assert torch.allclose(_gradient(net, x, y), expected, atol=1e-10)
    with pytest.raises(ValueError, match="no module for linear_from 'layer9'"):
        with linear_backward(net, "layer9"):
            pass


def test_ila_ascends_the_projection_on_a_linear_layer():
    """F(x) = Wx: the ILA objective's gradient is Wᵀd, d = W(x' − x)/‖W(x' − x)‖, x' the
    BIM guide; one ILA step moves x by eps·sign(Wᵀd)."""
    torch.manual_seed(2)
    net = nn.Sequential(nn.Flatten(), nn.Linear(16, 6), nn.ReLU(), nn.Linear(6, 3))
    x = torch.rand(5, 1, 4, 4)
    y = torch.randint(0, 3, (5,))
    model, eps = Fixed(net, 3), 0.05
    assert middle_layer(net) == "2"
    ila = _attack("ila", steps=1, layer="1", guide_steps=3, clip=False)
    x_adv = ila(model, x, y, eps, bounds=(0.0, 1.0)).x_adv
    guide = _attack("bim", steps=3, clip=False)(model, x, y, eps, bounds=(0.0, 1.0)).x_adv
    w = net[1].weight.detach()
    change = (guide - x).flatten(1) @ w.T
    direction = change / change.norm(dim=1, keepdim=True)
    expected = (direction @ w).view_as(x)
    assert torch.allclose(x_adv - x, eps * expected.sign(), atol=1e-6)


def test_variance_tuning_without_samples_and_nesterov_without_decay_reduce_to_known_attacks():
    net, (x, y) = _conv_net(3), _images(seed=5)
    model = Fixed(net, 3)
    kwargs = {"bounds": (0.0, 1.0), "seed": 1}
    vmi = _attack("vmifgsm", steps=3, variance_samples=0)(model, x, y, 0.1, **kwargs)
    mi = _attack("mifgsm", steps=3)(model, x, y, 0.1, **kwargs)
    assert torch.equal(vmi.x_adv, mi.x_adv)
    ni = _attack("nifgsm", steps=3, decay=0.0)(model, x, y, 0.1, **kwargs)
    bim = _attack("bim", steps=3, alpha=0.1 / 3)(model, x, y, 0.1, **kwargs)
    assert torch.allclose(ni.x_adv, bim.x_adv, atol=1e-6)
    tuned = _attack("vmifgsm", steps=3, variance_samples=4)(model, x, y, 0.1, **kwargs)
    assert tuned.measures["gradients_per_point"] == 3 * (1 + 4)
    assert not torch.equal(tuned.x_adv, mi.x_adv)


def test_composition_is_documented_once_and_unknown_transforms_are_refused():
    both = _attack("mifgsm", transforms=["diversity", "translation"], kernel_size=3)
    assert both.params["transforms"] == ["diversity", "translation"]
    with pytest.raises(ValueError, match="unknown transforms"):
        _attack("mifgsm", transforms=["rotation"])
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        _attack("tifgsm", kernel_size=4)


def test_svre_on_an_ensemble_of_identical_members_is_momentum_over_inner_mi_loops():
    """Two identical members: ∇J_k(x_t) = g_ens, so the variance-reduced gradient is the member's
    own at x̃; SVRE is then T outer momentum steps over M = 4·K inner MI-FGSM steps."""
    from transfer.studies.ensemble_source.combined_model import EnsembleModel

    net, (x, y) = _conv_net(4), _images(seed=6)
    member = Fixed(net, 3)
    eps, steps = 0.1, 3
    result = _attack("svre", steps=steps, clip=False)(EnsembleModel([member, member]), x, y, eps,
                                                      bounds=(0.0, 1.0), seed=0)
    alpha = eps / steps

    def normalised(g):
        return g / g.abs().flatten(1).sum(1).view(-1, 1, 1, 1)

    def ball(v):
        return x + (v - x).clamp(-eps, eps)

    momentum, x_adv = torch.zeros_like(x), x
    for _ in range(steps):
        inner, x_inner = torch.zeros_like(x), x_adv
        for _ in range(8):
            inner = inner + normalised(_gradient(net, x_inner, y))
            x_inner = ball(x_inner + alpha * inner.sign())
        momentum = momentum + normalised(inner)
        x_adv = ball(x_adv + alpha * momentum.sign())
    assert torch.allclose(result.x_adv, x_adv, atol=1e-6)
    assert result.measures["gradients_per_point"] == steps * (2 * 2 + 8)
