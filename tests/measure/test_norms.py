"""Norms, path norm, margins and R_A against direct computation; power-law fits on known laws."""

import math

import numpy as np
import pytest
import torch
from measure_helpers import assert_unchanged, small_problem, snapshot

from genlab.measure import fit_power_law, layer_spectra, norm_measures, path_norm
from genlab.models import MLP, lecture_mlp


def test_norms_and_bft_against_direct_computation():
    model, data = small_problem(seed=1)
    init, _ = small_problem(seed=2)
    snap = snapshot(model)
    r = norm_measures(model, init=init, data=data, margin_percentile=10)
    assert_unchanged(model, snap)
    ws = [p.detach().double().numpy() for p in model.parameters() if p.dim() == 2]
    w0 = [p.detach().double().numpy() for p in init.parameters() if p.dim() == 2]
    for ly, w, m in zip(r.layers, ws, w0):
        assert ly.frobenius == pytest.approx(np.linalg.norm(w), rel=1e-12)
        assert ly.spectral == pytest.approx(np.linalg.svd(w, compute_uv=False)[0], rel=1e-10)
        assert ly.distance_from_init == pytest.approx(np.linalg.norm(w - m), rel=1e-12)
        assert ly.l21_from_reference == pytest.approx(np.linalg.norm((w - m).T, axis=0).sum(), rel=1e-12)
    specs = [np.linalg.svd(w, compute_uv=False)[0] for w in ws]
    r_a = np.prod(specs) * sum((np.linalg.norm((w - m).T, axis=0).sum() / s) ** (2 / 3)
                               for w, m, s in zip(ws, w0, specs)) ** 1.5
    assert r.spectral_complexity == pytest.approx(r_a, rel=1e-10)
    assert r.log_prod_spectral == pytest.approx(np.log(specs).sum(), rel=1e-10)
    x, y = data
    with torch.no_grad():
        out = model(x).double().numpy()
    idx = np.arange(len(y))
    correct = out[idx, y.numpy()]
    out[idx, y.numpy()] = -np.inf
    margins = correct - out.max(1)
    assert r.margin == pytest.approx(np.percentile(margins, 10), rel=1e-5, abs=1e-6)
    all_params = np.concatenate([(p.detach().double() - q.detach().double()).numpy().ravel() for p, q in zip(model.parameters(), init.parameters())])
    assert r.distance_from_init == pytest.approx(np.linalg.norm(all_params), rel=1e-12)
    assert "Comparison across runs" in r.note


def test_path_norm_by_enumerating_paths():
    model = MLP(3, 2, width=4, depth=1, seed=0)
    w1, b1 = (t.detach().double().numpy() for t in model.linears[0].parameters())
    w2, b2 = (t.detach().double().numpy() for t in model.linears[1].parameters())
    total = 0.0
    for k in range(2):
        total += b2[k] ** 2
        for j in range(4):
            total += w2[k, j] ** 2 * (b1[j] ** 2 + sum(w1[j, i] ** 2 for i in range(3)))
    assert path_norm(model) == pytest.approx(math.sqrt(total), rel=1e-12)


def test_power_law_fit_recovers_known_exponent():
    rng = np.random.default_rng(0)
    alpha = 3.0
    x = (1 - rng.random(2000)) ** (-1 / (alpha - 1))  # Pareto with density ~ x^-3, xmin 1
    a, xmin, n_tail, ks = fit_power_law(x)
    assert a == pytest.approx(alpha, abs=0.2)
    assert ks < 0.05 and n_tail >= 200


def test_layer_spectra_refuses_small_layers():
    model = lecture_mlp(seed=0)
    spectra = layer_spectra(model, min_eigenvalues=30, n_bootstrap=20)
    assert [s.shape for s in spectra] == [(100, 40), (100, 100), (10, 100)]
    assert spectra[2].fit is None and "10 eigenvalues" in spectra[2].refused
    for s in spectra[:2]:
        assert s.fit is not None and s.fit.alpha_ci[0] <= s.fit.alpha <= s.fit.alpha_ci[1] + 1e-9
        sv = np.linalg.svd(dict(model.named_parameters())[s.name].detach().double().numpy(), compute_uv=False)
        np.testing.assert_allclose(s.singular_values, sv, rtol=1e-10)
        assert s.stable_rank == pytest.approx((sv**2).sum() / sv[0] ** 2)
