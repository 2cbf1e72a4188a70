"""Shared helpers of the measure tests."""

import torch


def small_problem(seed: int = 0, n: int = 64, d: int = 5, k: int = 3, width: int = 8):
    """A tiny MLP (147 parameters) and data: small enough for the exact Hessian."""
    from genlab.models import MLP

    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    y = torch.randint(0, k, (n,), generator=g)
    return MLP(d, k, width=width, depth=2, seed=seed), (x, y)


def snapshot(model):
    return ({k: v.detach().clone() for k, v in model.state_dict().items()},
            {n: p.requires_grad for n, p in model.named_parameters()},
            {n: m.training for n, m in model.named_modules()})


def assert_unchanged(model, snap):
    state, req, modes = snap
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k]), k
    assert {n: p.requires_grad for n, p in model.named_parameters()} == req
    assert {n: m.training for n, m in model.named_modules()} == modes
