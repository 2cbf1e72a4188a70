"""Training health checks (seed 001's "overfit one batch, then 10, then 100" and Karpathy's
recipe) and the initialization / gradient-flow diagnostics of seed 003, as one structured
pass/fail report. Every check trains or probes a private copy; the caller's model, its RNG
state and the global RNG are left as they were.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from genlab._checks import check_float, check_int
from genlab.measure._core import as_tensors, default_loss, generator, loss_value

_ACTS = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.Tanh, nn.Sigmoid, nn.SiLU)


@dataclass(frozen=True)
class Check:
    """One check: ``passed``, the measured ``value``, what was ``expected`` and why."""

    name: str
    passed: bool
    value: float
    expected: str
    detail: str


@dataclass(frozen=True)
class LayerStat:
    """Activation and gradient statistics of one layer call on one batch."""

    name: str
    kind: str  # 'linear' (pre-activation output) or 'activation'
    mean: float
    std: float
    dead_fraction: float  # units that are exactly 0 for every sample (activations only)
    grad_std: float  # std of dLoss/d(output) for this call


@dataclass(frozen=True)
class LRRange:
    """Learning-rate range test: loss (EMA-smoothed) along an exponential LR sweep.

    ``suggested`` = ``(lr_at_min / 100, lr_at_min / 10)``: one to two decades below the LR of
    the smoothed minimum (the minimum sits just before divergence; the steepest-slope rule of
    torch-lr-finder picked rates that diverged). ``lr_diverge`` is where the smoothed loss
    first exceeded ``diverge_factor`` times its minimum or climbed back above its starting
    value (None if it never did).
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    lr_at_min: float
    lr_diverge: float | None
    suggested: tuple[float, float]
    n_steps: int


@dataclass(frozen=True)
class HealthReport:
    """All checks; ``passed`` when every check passed. ``layers`` and ``lr_range`` hold the data."""

    checks: tuple[Check, ...]
    layers: tuple[LayerStat, ...]
    lr_range: LRRange | None

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def table(self) -> str:
        w = max(len(c.name) for c in self.checks)
        return "\n".join(f"{'PASS' if c.passed else 'FAIL'}  {c.name:<{w}}  {c.value:.4g}  (expected {c.expected}) {c.detail}"
                         for c in self.checks)


def _device(model: nn.Module):
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def _copy(model: nn.Module, train_mode: bool) -> nn.Module:
    m = copy.deepcopy(model)
    m.train(train_mode)
    for p in m.parameters():
        p.requires_grad_(True)
    return m


def _fit(model, x, y, loss, *, steps, lr, batch_size, seed, optimizer="adam", lrs=None, stop_below=None):
    """A plain training loop on a private copy; returns per-step batch losses."""
    opt = torch.optim.Adam(model.parameters(), lr=lr) if optimizer == "adam" else torch.optim.SGD(
        model.parameters(), lr=lr, momentum=0.9)
    g = generator(seed)
    out = []
    # Dropout draws from the global RNG: fork it (CUDA too) so the caller's state is kept.
    p0 = next(model.parameters())
    with torch.random.fork_rng(devices=[p0.device] if p0.device.type == "cuda" else []):
        torch.manual_seed(seed)
        for s in range(steps):
            if lrs is not None:
                for group in opt.param_groups:
                    group["lr"] = float(lrs[s])
            idx = torch.randint(0, len(x), (min(batch_size, len(x)),), generator=g) if batch_size < len(x) else slice(None)
            opt.zero_grad()
            value = loss_value(model(x[idx]), y[idx], loss)
            if not torch.isfinite(value):
                out.append(math.inf)
                break
            value.backward()
            opt.step()
            out.append(value.item())
            if stop_below is not None and out[-1] < stop_below:
                break
    return np.array(out)


def layer_stats(model: nn.Module, data, *, batch_size: int = 256, loss=None, seed: int = 0,
                train_mode: bool = False) -> tuple[LayerStat, ...]:
    """Per-layer activation and gradient statistics on one batch (seed 003's histograms as numbers).

    Hooks every ``nn.Linear`` / ``nn.Conv*`` output and activation module call of a private copy
    (a shared activation module called once per layer gives one entry per call).
    """
    x, y = as_tensors(data, device=_device(model))
    loss = loss or default_loss(y)
    idx = torch.randperm(len(x), generator=generator(seed))[:batch_size]
    net = _copy(model, train_mode)
    records: list[tuple[str, str, torch.Tensor]] = []
    for name, mod in net.named_modules():
        kind = "linear" if isinstance(mod, (nn.Linear, nn.Conv1d, nn.Conv2d)) else "activation" if isinstance(mod, _ACTS) else None
        if kind is None:
            continue

        def hook(m, inp, out, name=name, kind=kind):
            out.retain_grad()
            records.append((name or type(m).__name__, kind, out))

        mod.register_forward_hook(hook)
    dev = _device(model)
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        torch.manual_seed(seed)
        loss_value(net(x[idx]), y[idx], loss).backward()
    counts: dict[str, int] = {}
    stats = []
    for name, kind, out in records:
        counts[name] = counts.get(name, 0) + 1
        o = out.detach().reshape(out.shape[0], -1)
        dead = float((o == 0).all(0).float().mean()) if kind == "activation" else 0.0
        grad = float(out.grad.std()) if out.grad is not None else float("nan")
        stats.append(LayerStat(f"{name}#{counts[name]}", kind, float(o.mean()), float(o.std()), dead, grad))
    return tuple(stats)


def lr_range_test(model: nn.Module, data, *, lr_min: float = 1e-6, lr_max: float = 10.0, n_steps: int = 100,
                  batch_size: int = 64, optimizer: str = "sgd", smooth: float = 0.05, diverge_factor: float = 4.0,
                  loss=None, seed: int = 0, train_mode: bool = True) -> LRRange:
    """Smith's LR range test on a private copy: exponential sweep, EMA smoothing, stop at divergence.

    Returns numbers, not only a plot: the LR at the smoothed minimum, the divergence point and
    a suggested range (see :class:`LRRange`).
    """
    owner = "lr_range_test"
    lr_min = check_float(lr_min, "lr_min", owner, low=0.0, low_open=True)
    lr_max = check_float(lr_max, "lr_max", owner, low=lr_min, low_open=True)
    n_steps = check_int(n_steps, "n_steps", owner, low=5)
    x, y = as_tensors(data, device=_device(model))
    loss = loss or default_loss(y)
    lrs = np.geomspace(lr_min, lr_max, n_steps)
    net = _copy(model, train_mode)
    raw = _fit(net, x, y, loss, steps=n_steps, lr=lr_min, batch_size=batch_size, seed=seed, optimizer=optimizer,
               lrs=lrs)
    sm, avg, best, diverge = [], None, math.inf, None
    for i, v in enumerate(raw):
        avg = v if avg is None else smooth * v + (1 - smooth) * avg
        corrected = avg  # EMA started at the first value: no bias correction needed
        sm.append(corrected)
        best = min(best, corrected)
        # Diverged: non-finite, far above the best, or back above the starting loss after the minimum.
        if not math.isfinite(corrected) or corrected > diverge_factor * best or (corrected > sm[0] and best < sm[0]):
            diverge = float(lrs[i])
            break
    sm_a = np.array(sm)
    finite = np.where(np.isfinite(sm_a), sm_a, np.inf)
    i_min = int(np.argmin(finite))
    at_min = float(lrs[i_min])
    return LRRange(lrs[: len(sm_a)], raw[: len(sm_a)], sm_a, at_min, diverge, (at_min / 100, at_min / 10), len(raw))


def health_check(model: nn.Module, data, *, loss=None, batch_size: int = 32, overfit_steps: int = 500,
                 overfit_lr: float = 1e-3, baseline_steps: int = 300, lr_range: bool = True, seed: int = 0,
                 train_mode: bool = True) -> HealthReport:
    """Run the recipe's checks on a private copy and report pass/fail per check.

    Checks
    ------
    loss_at_init
        Classification: the initial loss must be within ``0.1 ln K`` of its expected value
        ``ln K + mean_i Var_c(z_i) / 2`` (second-order expansion of logsumexp for logits ``z``),
        and the logits' variance below 1 (a large-scale last layer is a bad init): two-sided, so a
        suspiciously *low* initial loss (leaked labels, a trained model) fails too.
    overfit_one_batch
        Adam ``overfit_lr`` on one batch of ``batch_size`` samples must bring the loss below
        ``0.01 ln K`` (regression: 1 % of the targets' variance) within ``overfit_steps``.
    input_independent_baseline
        The same training on real inputs and on zeroed inputs, ``baseline_steps`` each; on
        held-out data (``x_test``) the real model must beat the zero-input one by 5 %.
    batch_independence
        Karpathy's back-prop dependency check: the gradient of sample 0's output w.r.t. the
        batch's inputs is non-zero only on sample 0 (catches batch-mixing bugs; eval mode).
    gradient_flow, dead_units
        From :func:`layer_stats`: output-gradient std of the first and last linear layers within
        a factor 100 of each other; no activation call with more than half its units dead.
    lr_range
        :func:`lr_range_test` found a minimum before diverging (its suggested range is reported).
    """
    x, y = as_tensors(data, device=_device(model))
    loss = loss or default_loss(y)
    classification = not y.dtype.is_floating_point
    checks = []
    # 1. loss at initialization
    with torch.no_grad():
        net = _copy(model, False)
        out = net(x)
        l0 = float(loss_value(out, y, loss))
    if classification:
        k = out.shape[1]
        v = float(out.var(1, unbiased=False).mean())
        expected = math.log(k) + v / 2
        tol = 0.1 * math.log(k)
        ok = abs(l0 - expected) <= tol and v < 1.0
        detail = (f"logit variance across classes {v:.3g}" + ("" if v < 1.0 else " (>= 1: scale the last layer down)")
                  + ("" if abs(l0 - expected) <= tol else f"; off by {l0 - expected:+.3g} from ln K + var/2"))
        checks.append(Check("loss_at_init", ok, l0, f"{expected:.4g} +/- {tol:.3g} (ln {k} = {math.log(k):.4g})", detail))
        target = 0.01 * math.log(k)
    else:
        var_y = float(y.var())
        checks.append(Check("loss_at_init", math.isfinite(l0), l0, f"finite (target variance {var_y:.4g})", ""))
        target = 0.01 * var_y
    # 2. overfit one batch
    g = generator(seed)
    idx = torch.randperm(len(x), generator=g)[:batch_size]
    curve = _fit(_copy(model, train_mode), x[idx], y[idx], loss, steps=overfit_steps, lr=overfit_lr,
                 batch_size=len(idx), seed=seed, stop_below=target)
    ok = bool(curve.size and curve[-1] < target)
    checks.append(Check("overfit_one_batch", ok, float(curve[-1]), f"< {target:.3g} within {overfit_steps} steps",
                        f"{curve.size} steps on {len(idx)} samples"))
    # 3. input-independent baseline on held-out data
    held = getattr(data, "x_test", None)
    if held is not None:
        xt, yt = as_tensors(data, "test", device=_device(model))
    else:
        xt, yt = x, y
    real, zero = _copy(model, train_mode), _copy(model, train_mode)
    _fit(real, x, y, loss, steps=baseline_steps, lr=overfit_lr, batch_size=64, seed=seed)
    _fit(zero, torch.zeros_like(x), y, loss, steps=baseline_steps, lr=overfit_lr, batch_size=64, seed=seed)
    with torch.no_grad():
        real.eval()
        zero.eval()
        l_real = float(loss_value(real(xt), yt, loss))
        l_zero = float(loss_value(zero(torch.zeros_like(xt)), yt, loss))
    checks.append(Check("input_independent_baseline", l_real < 0.95 * l_zero, l_real, f"< 0.95 x {l_zero:.4g}",
                        "held-out loss, real inputs vs zeroed inputs" + ("" if held is not None else " (no test split: train data)")))
    # 4. batch independence (Karpathy)
    net = _copy(model, False)
    xb = x[: min(8, len(x))].clone().requires_grad_(True)
    net(xb)[0].sum().backward()
    leak = float(xb.grad[1:].abs().max()) if len(xb) > 1 else 0.0
    checks.append(Check("batch_independence", leak == 0.0, leak, "0", "max |d out_0 / d x_j| for j != 0"))
    # 5. gradient flow and dead units
    stats = layer_stats(model, data, loss=loss, seed=seed, train_mode=train_mode)
    lin = [s for s in stats if s.kind == "linear"]
    if len(lin) >= 2 and lin[-1].grad_std > 0:
        ratio = lin[0].grad_std / lin[-1].grad_std
        checks.append(Check("gradient_flow", 1e-2 <= ratio <= 1e2, ratio, "in [0.01, 100]",
                            f"grad std first layer {lin[0].grad_std:.3g} vs last {lin[-1].grad_std:.3g}"))
    acts = [s for s in stats if s.kind == "activation"]
    if acts:
        worst = max(acts, key=lambda s: s.dead_fraction)
        checks.append(Check("dead_units", worst.dead_fraction <= 0.5, worst.dead_fraction, "<= 0.5",
                            f"largest dead fraction at {worst.name}"))
    # 6. LR range test
    rng = None
    if lr_range:
        rng = lr_range_test(model, data, loss=loss, seed=seed, train_mode=train_mode)
        ok = rng.lr_at_min < rng.lrs[-1] or rng.lr_diverge is not None
        checks.append(Check("lr_range", bool(ok), rng.lr_at_min, "a minimum before the sweep's end",
                            f"suggested lr range [{rng.suggested[0]:.2g}, {rng.suggested[1]:.2g}], "
                            f"diverges at {rng.lr_diverge if rng.lr_diverge is None else f'{rng.lr_diverge:.2g}'}"))
    return HealthReport(tuple(checks), stats, rng)

