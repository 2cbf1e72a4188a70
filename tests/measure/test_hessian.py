"""Curvature estimates against the exact Hessian (torch.func.hessian + eigvalsh) and a quadratic."""

import math

import numpy as np
import pytest
import torch
from measure_helpers import assert_unchanged, small_problem, snapshot

from genlab.measure import (
    Objective,
    hessian_eigenvalues,
    hessian_spectral_density,
    hessian_trace,
    power_iteration_eigenvalues,
)


@pytest.fixture(scope="module")
def exact():
    model, data = small_problem()
    obj = Objective.from_model(model, data, dtype=torch.float64)
    H = torch.func.hessian(obj.fn)(obj.theta)
    return model, data, torch.linalg.eigvalsh(H).numpy()


def quadratic(eigs, seed=0):
    """0.5 theta^T A theta with A = U diag(eigs) U^T (known spectrum)."""
    n = len(eigs)
    g = torch.Generator().manual_seed(seed)
    U, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=torch.float64))
    A = U @ torch.diag(torch.as_tensor(eigs, dtype=torch.float64)) @ U.T
    return Objective(lambda t: 0.5 * t @ A @ t, torch.randn(n, generator=g, dtype=torch.float64))


def test_top_k_and_smallest_match_exact_hessian(exact):
    model, data, ev = exact
    snap = snapshot(model)
    r = hessian_eigenvalues(model, data, k=5, seed=3)
    assert_unchanged(model, snap)
    top = ev[::-1][:5]
    # float32 model: agreement to float32 precision, residual bounds honest
    np.testing.assert_allclose(r.eigenvalues, top, rtol=1e-4, atol=1e-6)
    assert list(r.eigenvalues) == sorted(r.eigenvalues, reverse=True)
    assert r.smallest == pytest.approx(ev[0], rel=1e-4, abs=1e-6)
    assert ev[0] < 0  # this small net is not at a minimum: the negative curvature is reported
    assert r.n_hvp == r.n_steps <= 40


def test_residual_bounds_hold_on_quadratic():
    eigs = np.concatenate([[10.0, 9.0, 8.5, 8.4, 8.0], np.linspace(-1, 3, 195)])
    obj = quadratic(eigs)
    r = hessian_eigenvalues(obj, k=5, n_steps=25, tol=0.0)
    err = np.abs(np.array(r.eigenvalues) - np.sort(eigs)[::-1][:5])
    assert np.all(err <= np.array(r.residuals) + 1e-9)
    assert r.n_hvp == 25


def test_power_iteration_reference_is_less_accurate_per_hvp(exact):
    model, data, ev = exact
    lz = hessian_eigenvalues(model, data, k=3, seed=0, tol=1e-8)
    pw = power_iteration_eigenvalues(model, data, k=3, tol=1e-5, seed=0)
    # power iteration finds the largest *magnitude* eigenvalues (here one is negative),
    # Lanczos the largest algebraic ones
    by_magnitude = np.sort(ev[np.argsort(-np.abs(ev))[:3]])[::-1]
    np.testing.assert_allclose(pw.eigenvalues, by_magnitude, rtol=1e-2)
    np.testing.assert_allclose(lz.eigenvalues, ev[::-1][:3], rtol=1e-5)
    assert lz.n_hvp < pw.n_hvp
    with pytest.raises(ValueError, match="'max_iter' parameter of power_iteration_eigenvalues"):
        power_iteration_eigenvalues(model, data, k=1, max_iter=0)
    with pytest.raises(ValueError, match="'k' parameter of power_iteration_eigenvalues"):
        power_iteration_eigenvalues(model, data, k=0)


@pytest.mark.parametrize("method", ["hutchinson", "hutch++"])
def test_trace_within_standard_errors_of_exact(exact, method):
    model, data, ev = exact
    exact_trace = ev.sum()
    zs = []
    for seed in range(5):
        r = hessian_trace(model, data, n_hvp=30, method=method, seed=seed)
        assert r.n_hvp == 30
        zs.append((r.trace - exact_trace) / r.stderr)
    # each estimate within 4 standard errors; mean z near 0
    assert max(abs(z) for z in zs) < 4
    assert abs(np.mean(zs)) < 4 / math.sqrt(5) + 1


def test_trace_of_quadratic_and_hutchpp_exact_for_low_rank():
    eigs = np.concatenate([np.arange(1.0, 6.0), np.zeros(95)])  # rank 5
    obj = quadratic(eigs, seed=1)
    r = hessian_trace(obj, n_hvp=18, method="hutch++", seed=0)
    # sketch of rank 6 >= 5 captures everything: the trace is exact, the residual zero
    assert r.trace == pytest.approx(15.0, rel=1e-9)
    assert r.stderr < 1e-9


def test_slq_density_of_quadratic():
    eigs = np.concatenate([np.full(50, 1.0), np.full(30, 4.0), np.full(20, 9.0)])
    obj = quadratic(eigs, seed=2)
    d = hessian_spectral_density(obj, n_steps=10, n_probes=20, seed=0, sigma=0.1)
    # 3 distinct eigenvalues: Lanczos breaks down after 3 steps, nodes are exact
    for node_row, w_row in zip(d.nodes, d.weights):
        big = node_row[w_row > 1e-8]
        assert np.all(np.min(np.abs(big[:, None] - np.array([1.0, 4.0, 9.0])[None]), 1) < 1e-8)
    mass = d.weights.mean(0)
    assert d.weights.sum(1) == pytest.approx(np.ones(20))
    assert np.isrealobj(d.weights)
    # mass near each eigenvalue ~ its multiplicity / 100 (Rademacher probes: sampling error ~ 0.05)
    dens = d.density
    dx = d.grid[1] - d.grid[0]
    for lam, share in [(1.0, 0.5), (4.0, 0.3), (9.0, 0.2)]:
        near = np.abs(d.grid - lam) < 0.5
        assert dens[near].sum() * dx == pytest.approx(share, abs=0.08)
    assert d.trace == pytest.approx(eigs.sum(), rel=0.1)
    assert mass.sum() == pytest.approx(1.0)


def test_hvp_matches_torch_func_and_model_untouched():
    model, data = small_problem(seed=9)
    snap = snapshot(model)
    obj = Objective.from_model(model, data, dtype=torch.float64)
    v = torch.randn(obj.n_params, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    ref = torch.func.jvp(torch.func.grad(obj.fn), (obj.theta,), (v,))[1]
    torch.testing.assert_close(obj.hvp(v), ref, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(obj.grad(), torch.func.grad(obj.fn)(obj.theta), rtol=1e-12, atol=1e-14)
    assert obj.spent() == {"n_forward": 0, "n_grad": 1, "n_hvp": 1}
    assert_unchanged(model, snap)


def test_untouched_restores_after_interrupt():
    from genlab.measure import untouched

    model, _ = small_problem(seed=10)
    model.train()
    snap = snapshot(model)
    with pytest.raises(KeyboardInterrupt):
        with untouched(model):
            model.eval()
            for p in model.parameters():
                p.requires_grad_(False)
                p.data.add_(1.0)
            raise KeyboardInterrupt
    assert_unchanged(model, snap)


def test_gauss_newton_spectrum_is_the_hessian_at_interpolation():
    """At targets the model fits exactly, the MSE Hessian is 2 J^T J / N: its top eigenvalues
    (Lanczos on HVPs, an independent route) equal the Gauss-Newton ones; the rank is N when
    P > N; the model is left as it was (train mode, weights)."""
    from genlab.measure import gauss_newton_spectrum
    from genlab.models import MLP

    model = MLP(3, 1, width=50, depth=1, seed=0).double()
    x = torch.randn(8, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    y = model(x).detach()
    before = [p.detach().clone() for p in model.parameters()]
    spec = gauss_newton_spectrum(model, x)
    assert model.training and all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert spec.rank == 8 and spec.n_rows == 8 and spec.n_params == 251
    lanczos = hessian_eigenvalues(model, (x, y), k=3, loss="mse")
    assert np.allclose(spec.eigenvalues[:3], lanczos.eigenvalues, rtol=1e-8)
    J = torch.autograd.functional.jacobian(lambda *p: torch.func.functional_call(
        model, dict(zip([n for n, _ in model.named_parameters()], p)), (x,)).reshape(-1), tuple(model.parameters()))
    J = torch.cat([j.reshape(8, -1) for j in J], 1)
    smallest = torch.linalg.eigvalsh(2 * J @ J.T / 8)[0].item()  # the N x N Gram: its smallest eigenvalue is lambda_min^+
    assert np.isclose(spec.min_nonzero, smallest, rtol=1e-8)
    narrow = gauss_newton_spectrum(MLP(3, 1, width=1, depth=1, seed=0).double(), x)  # P = 6 < N: rank <= 6
    assert narrow.rank <= 6
