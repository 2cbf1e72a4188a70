"""Every measurement leaves the caller's model bit-identical: parameters, buffers, .grad,
requires_grad and every module's training flag (here: train mode, one frozen tensor, a grad)."""

import pytest
import torch
from measure_helpers import small_problem

import genlab.measure as m


def _prepared():
    model, data = small_problem(seed=12)
    model.train()
    model.linears[0].bias.requires_grad_(False)
    model.linears[1].weight.grad = torch.ones_like(model.linears[1].weight)
    return model, data


MEASUREMENTS = {
    "hessian_eigenvalues": lambda model, d: m.hessian_eigenvalues(model, d, k=2, n_steps=10),
    "hessian_trace": lambda model, d: m.hessian_trace(model, d, n_hvp=6),
    "hessian_spectral_density": lambda model, d: m.hessian_spectral_density(model, d, n_steps=5),
    "power_iteration": lambda model, d: m.power_iteration_eigenvalues(model, d, k=1, max_iter=5),
    "worst_case_sharpness": lambda model, d: m.worst_case_sharpness(model, d, n_steps=2),
    "first_order_sharpness": lambda model, d: m.first_order_sharpness(model, d),
    "pac_bayes_flatness": lambda model, d: m.pac_bayes_flatness(model, d, n_bisect=2),
    "loss_landscape": lambda model, d: m.loss_landscape(model, d, dims=1, n_points=3),
    "interpolate": lambda model, d: m.interpolate(model, small_problem(seed=13)[0], d, n_points=3),
    "bezier_curve": lambda model, d: m.bezier_curve(model, small_problem(seed=13)[0], d, n_steps=3, n_points=3),
    "curve_losses": lambda model, d: m.curve_losses(model, small_problem(seed=13)[0], d, n_points=3),
    "norm_measures": lambda model, d: m.norm_measures(model, data=d),
    "layer_spectra": lambda model, d: m.layer_spectra(model, min_eigenvalues=10, n_bootstrap=2),
    "gradient_noise_scale": lambda model, d: m.gradient_noise_scale(model, d),
    "layer_stats": lambda model, d: m.layer_stats(model, d),
    "lr_range_test": lambda model, d: m.lr_range_test(model, d, n_steps=10),
    "health_check": lambda model, d: m.health_check(model, d, overfit_steps=5, baseline_steps=5, lr_range=False),
    "information_plane": lambda model, d: m.information_plane(model, d, n_bins=5),
    "activation_stats": lambda model, d: m.activation_stats(model, d[0] if isinstance(d, tuple) else d.x_train),
    "gradient_stats": lambda model, d: m.gradient_stats(model, d[0] if isinstance(d, tuple) else d.x_train),
    "gauss_newton_spectrum": lambda model, d: m.gauss_newton_spectrum(model, d[0] if isinstance(d, tuple) else d.x_train),
    "count_linear_regions": lambda model, d: m.count_linear_regions(model, torch.zeros(5), torch.ones(5), resolution=50),
}


@pytest.mark.parametrize("name", sorted(MEASUREMENTS))
def test_model_untouched(name):
    model, data = _prepared()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    grads = {n: None if p.grad is None else p.grad.clone() for n, p in model.named_parameters()}
    flags = {n: p.requires_grad for n, p in model.named_parameters()}
    modes = {n: mod.training for n, mod in model.named_modules()}
    rng = torch.random.get_rng_state()
    MEASUREMENTS[name](model, data)
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k]), k
    for n, p in model.named_parameters():
        assert (p.grad is None) == (grads[n] is None) and (p.grad is None or torch.equal(p.grad, grads[n])), n
    assert {n: p.requires_grad for n, p in model.named_parameters()} == flags
    assert {n: mod.training for n, mod in model.named_modules()} == modes
    assert torch.equal(rng, torch.random.get_rng_state())  # no global RNG use


def test_every_public_measurement_is_covered():
    public = {n for n in m.__all__ if n[0].islower() and n not in ("bias_variance", "bias_variance_01",
                                                                   "bias_variance_replicas", "diagnose_curves",
                                                                   "mutual_information", "fit_power_law", "path_norm",
                                                                   "random_directions", "lanczos", "untouched",
                                                                   "mean_field_profile", "activation_curves",
                                                                   "bezier_point")}  # no model
    assert public <= set(MEASUREMENTS) | {"power_iteration_eigenvalues"}
