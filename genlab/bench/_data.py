"""MNIST-1D generation: genlab's vectorized generator against the reference package, side by side."""

from __future__ import annotations

import time

import typer

from genlab.bench._common import best_time, emit, machine


def command(
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object instead of text."),
    sizes: str = typer.Option("5000,50000", help="Comma-separated dataset sizes (n_samples)."),
    repeat: int = typer.Option(3, help="genlab runs per size (best is kept); the reference runs once."),
    seed: int = typer.Option(42, help="Seed of both generators (42: the reference's default)."),
) -> None:
    """MNIST-1D generation: genlab vs the reference mnist1d package (time and ratio)."""
    import numpy as np

    from genlab._checks import ParameterError, check_int
    from genlab.data import make_mnist1d

    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as exc:  # the reference is a test dependency
        raise ParameterError(
            "genlab bench data needs the reference package: pip install mnist1d==0.0.2.post1"
        ) from exc
    try:
        ns = [int(s) for s in sizes.split(",") if s.strip()]
    except ValueError:
        raise ParameterError(f"The '--sizes' parameter of genlab bench data must be comma-separated ints. Got {sizes!r} instead.") from None
    if not ns:
        raise ParameterError(f"The '--sizes' parameter of genlab bench data must name at least one size. Got {sizes!r} instead.")
    for n in ns:
        check_int(n, "--sizes", "genlab bench data", low=10)
    seed = check_int(seed, "--seed", "genlab bench data", low=0, high=2**32 - 1)
    repeat = check_int(repeat, "--repeat", "genlab bench data", low=1)

    rows = []
    for n in ns:
        args = get_dataset_args()
        args.num_samples = n
        args.seed = seed
        t0 = time.perf_counter()
        ref = make_dataset(args)
        ref_s = time.perf_counter() - t0
        ours_s = best_time(lambda n=n: make_mnist1d(n, seed=seed), repeat=repeat)
        err = float(np.abs(make_mnist1d(n, seed=seed).x_train - ref["x"]).max())
        # The floor of any bit-identical generator: the reference's own Gaussian draws (two per signal
        # position, legacy polar Box-Muller in NumPy's C code) in one call, with nothing else.
        n_normals = (n // 10) * 10 * 2 * (args.template_len + args.padding[1])
        floor_s = best_time(lambda k=n_normals: np.random.RandomState(seed).standard_normal(k), repeat=repeat)
        rows.append({"n_samples": n, "reference_s": ref_s, "genlab_s": ours_s, "speedup": ref_s / ours_s, "max_abs_diff": err,
                     "draws_floor_s": floor_s, "speedup_ceiling": ref_s / floor_s, "genlab_over_floor": ours_s / floor_s})
    result = {"benchmark": "data", "machine": machine(), "results": rows}
    lines = [f"MNIST-1D generation (reference: mnist1d.data.make_dataset, 1 run; genlab: best of {repeat})"]
    lines.append(f"{'n_samples':>10} {'reference s':>12} {'genlab s':>10} {'speedup':>8} {'max |diff|':>11} "
                 f"{'draws floor s':>14} {'ceiling':>8} {'genlab / floor':>15}")
    for r in rows:
        lines.append(f"{r['n_samples']:>10} {r['reference_s']:>12.3f} {r['genlab_s']:>10.4f} {r['speedup']:>7.1f}x {r['max_abs_diff']:>11.1e} "
                     f"{r['draws_floor_s']:>14.4f} {r['speedup_ceiling']:>7.1f}x {r['genlab_over_floor']:>14.2f}x")
    lines.append("draws floor: the reference's Gaussian draws alone (NumPy's legacy polar method, one call); no bit-identical "
                 "generator can be faster, so 'ceiling' = reference / floor bounds the speedup")
    emit(result, json_out, lines)
