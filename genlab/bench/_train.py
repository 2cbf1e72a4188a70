"""Population training vs a plain PyTorch loop (32 lecture MLPs), and a width sweep's GFLOP/s."""

from __future__ import annotations

import time

import typer

from genlab.bench._common import emit, machine

DD_WIDTHS = [2, 4, 6, 8, 10, 14, 18, 22, 26, 30, 35, 40, 45, 50, 55, 60, 70, 80, 90, 100, 120, 140, 160, 180, 200, 250, 300, 400]


def _plain_loop_seconds_per_step(data, n_models: int, n_steps: int, threads: int, lr: float = 0.1, seed: int = 0) -> float:
    """The lecture's loop: DataLoader + nn.Sequential + torch.optim.SGD, one model after another."""
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    torch.set_num_threads(threads)
    x = torch.tensor(data.x_train, dtype=torch.float32)
    y = torch.tensor(data.y_train)
    t0 = time.perf_counter()
    for s in range(seed, seed + n_models):
        torch.manual_seed(s)
        model = nn.Sequential(nn.Linear(40, 100), nn.ReLU(), nn.Linear(100, 100), nn.ReLU(), nn.Linear(100, 10))
        opt = torch.optim.SGD(model.parameters(), lr=lr)
        loader = DataLoader(TensorDataset(x, y), batch_size=100, shuffle=True, generator=torch.Generator().manual_seed(s))
        step = 0
        while step < n_steps:
            for xb, yb in loader:
                loss = nn.functional.cross_entropy(model(xb), yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                step += 1
                if step == n_steps:
                    break
    return (time.perf_counter() - t0) / (n_models * n_steps)


def _matmul_floor_s_per_step(n_models: int, batch: int = 100, repeat: int = 300) -> float:
    """Seconds for the matrix products alone of one population step of lecture MLPs.

    The same batched products, shapes and layouts the engine runs per SGD step (3 forward,
    5 backward), on random data: no population step can be faster than this on this machine.
    """
    import torch

    m, b = n_models, batch
    w1, w2, w3 = torch.randn(m, 100, 40), torch.randn(m, 100, 100), torch.randn(m, 10, 100)
    b1, b2, b3 = torch.randn(m, 1, 100), torch.randn(m, 1, 100), torch.randn(m, 10, 1)
    x, h1, h2 = torch.randn(m, b, 40), torch.randn(m, b, 100), torch.randn(m, b, 100)
    d3, d2, d1 = torch.randn(m, 10, b), torch.randn(m, b, 100), torch.randn(m, b, 100)

    def products() -> None:
        torch.baddbmm(b1, x, w1.transpose(1, 2))
        torch.baddbmm(b2, h1, w2.transpose(1, 2))
        torch.baddbmm(b3, w3, h2.transpose(1, 2))
        torch.bmm(d3, h2)
        torch.bmm(d3.transpose(1, 2), w3)
        torch.bmm(d2.transpose(1, 2), h1)
        torch.bmm(d2, w2)
        torch.bmm(d1.transpose(1, 2), x)

    for _ in range(20):
        products()
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(repeat // 3):
            products()
        best = min(best, (time.perf_counter() - t0) / (repeat // 3))
    return best


def _gemm_gflops(size: int = 2048, repeat: int = 5) -> float:
    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * size**3 / best / 1e9


def command(
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object instead of text."),
    n_models: int = typer.Option(32, help="Lecture MLPs in the population."),
    n_steps: int = typer.Option(6000, help="SGD steps per model."),
    ref_steps: int = typer.Option(200, help="Steps per model timed for the plain loop (extrapolated per step)."),
    full: bool = typer.Option(False, "--full", help="Run the plain loop for all n_steps (slow: minutes)."),
    sweep_steps: int = typer.Option(30, help="Full-batch Adam steps per width in the width sweep."),
    threads: int = typer.Option(0, help="Threads for the population (0: the default, all cores)."),
    seed: int = typer.Option(0, help="Model k (of both loops) has seed SEED + k."),
) -> None:
    """Population vs plain loop for 32 lecture MLPs; width-sweep GFLOP/s vs the GEMM rate."""
    import torch

    from genlab._checks import check_int
    from genlab.data import make_mnist1d
    from genlab.models import MLP, lecture_mlp
    from genlab.train import TrainConfig, set_threads, train_many

    owner = "genlab bench train"
    n_models = check_int(n_models, "--n-models", owner, low=1)
    n_steps = check_int(n_steps, "--n-steps", owner, low=1)
    ref_steps = check_int(ref_steps, "--ref-steps", owner, low=1)
    sweep_steps = check_int(sweep_steps, "--sweep-steps", owner, low=1)
    seed = check_int(seed, "--seed", owner, low=0, high=2**32 - 1 - n_models)
    data = make_mnist1d()

    def population_seconds() -> tuple[float, object]:
        set_threads(threads or None)
        seeds = range(seed, seed + n_models)
        models = [lecture_mlp(seed=s) for s in seeds]
        configs = [TrainConfig(lr=0.1, batch_size=100, n_steps=n_steps, eval_every=n_steps, seed=s) for s in seeds]
        t0 = time.perf_counter()
        result = train_many(models, data, configs, progress=False)
        return time.perf_counter() - t0, result

    # The shared machine's speed drifts over minutes: the population runs once before and once
    # after the reference, and the mean of the two is compared.
    pop_before, _ = population_seconds()

    # (a) the reference at its best thread count, after a warm-up (the first steps of a process
    # pay one-time start-up costs that would count against whichever count is probed first).
    _plain_loop_seconds_per_step(data, 1, 50, 2)
    probe = {t: _plain_loop_seconds_per_step(data, 1, 100, t) for t in (1, 2)}
    ref_threads = min(probe, key=probe.get)
    steps_timed = n_steps if full else min(ref_steps, n_steps)
    ref_per_step = _plain_loop_seconds_per_step(data, n_models, steps_timed, ref_threads, seed=seed)
    ref_total = ref_per_step * n_models * n_steps

    pop_threads = set_threads(threads or None)
    pop_after, result = population_seconds()
    pop_total = (pop_before + pop_after) / 2
    final_test_error = float(result.final()[("test", "error")].mean())
    floor_s = _matmul_floor_s_per_step(n_models)

    # (b) full-batch width sweep (double-descent widths), Adam, 10,000 samples.
    big = make_mnist1d(12500, train_split=0.8)
    n = len(big.y_train)
    gemm = _gemm_gflops()
    flop = 0.0
    t0 = time.perf_counter()
    for h in DD_WIDTHS:
        cfg = TrainConfig(optimizer="adam", lr=0.005, batch_size=None, n_steps=sweep_steps, eval_every=sweep_steps)
        train_many([MLP(40, 10, width=h, depth=2, seed=seed)], big, cfg, progress=False)
        # forward 2*n*(params in matmuls) FLOP, backward twice that; evaluations (2 forwards
        # of train and test) are counted too.
        macs = 40 * h + h * h + h * 10
        flop += 6 * n * macs * sweep_steps + 2 * 2 * (n + len(big.y_test)) * macs
    sweep_s = time.perf_counter() - t0
    sweep_gflops = flop / sweep_s / 1e9

    speedup = ref_total / pop_total
    max_speedup = ref_total / (floor_s * n_steps)
    result_json = {
        "benchmark": "train",
        "machine": machine(),
        "population": {"n_models": n_models, "n_steps": n_steps, "threads": pop_threads, "seconds": pop_total,
                       "seconds_before_and_after_reference": [pop_before, pop_after],
                       "ms_per_step": 1e3 * pop_total / n_steps, "mean_final_test_error": final_test_error},
        "plain_loop": {"threads": ref_threads, "probe_s_per_step": probe, "steps_timed_per_model": steps_timed,
                       "extrapolated": steps_timed < n_steps, "ms_per_model_step": 1e3 * ref_per_step,
                       "seconds_for_all": ref_total},
        "speedup": speedup,
        "matmul_floor": {"ms_per_step": 1e3 * floor_s, "max_speedup": max_speedup,
                         "population_over_floor": pop_total / (floor_s * n_steps)},
        "width_sweep": {"widths": DD_WIDTHS, "n_train": n, "steps": sweep_steps, "seconds": sweep_s,
                        "gflops": sweep_gflops, "gemm_gflops": gemm, "fraction_of_gemm": sweep_gflops / gemm},
    }
    lines = [
        f"(a) {n_models} lecture MLPs (40-100-100-10), SGD lr 0.1, batch 100, {n_steps} steps, MNIST-1D 4000 train",
        f"    plain loop (DataLoader + nn.Sequential + torch.optim, {ref_threads} thread(s)): "
        f"{1e3 * ref_per_step:.2f} ms per model-step"
        + (f", timed on {n_models} x {steps_timed} steps and extrapolated" if steps_timed < n_steps else "")
        + f" -> {ref_total:.1f} s for all",
        f"    genlab population ({pop_threads} thread(s)): {pop_total:.1f} s ({1e3 * pop_total / n_steps:.2f} ms per step "
        f"for all {n_models}; mean of {pop_before:.1f} s before and {pop_after:.1f} s after the plain loop); "
        f"mean final test error {final_test_error:.3f}",
        f"    speedup: {speedup:.1f}x less wall time",
        f"    floor: the step's 8 batched matrix products alone take {1e3 * floor_s:.2f} ms on this machine "
        f"-> at most {max_speedup:.1f}x with these float32 products; genlab's step is {pop_total / (floor_s * n_steps):.2f}x that floor",
        f"(b) width sweep, {len(DD_WIDTHS)} widths 2..400, Adam full batch, {n} samples, {sweep_steps} steps each: "
        f"{sweep_s:.1f} s, {sweep_gflops:.1f} GFLOP/s",
        f"    GEMM rate (2048^2 float32 matmul, same run): {gemm:.1f} GFLOP/s -> {100 * sweep_gflops / gemm:.0f}% of GEMM",
        f"threads: population {pop_threads}, plain loop {ref_threads} (torch {torch.__version__})",
    ]
    emit(result_json, json_out, lines)
