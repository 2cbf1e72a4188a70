"""The CUDA path: populations, measurements and experiments on ``device='cuda'`` give the CPU's
numbers (to float round-off). Runs where a CUDA device is present; skipped with a reason here."""

import json

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")


def tiny_data(n=64, seed=0):
    from genlab.data import make_mnist1d

    return make_mnist1d(2 * n, train_split=0.5, seed=seed)


@pytest.mark.parametrize("mode", ["mlp", "vmap", "loop"])
def test_population_on_cuda_equals_cpu(mode):
    from genlab.models import MLP
    from genlab.train import TrainConfig, train_many

    data = tiny_data()
    results = {}
    for device in ("cpu", "cuda"):
        models = [MLP(40, 10, width=w, depth=2, seed=k).double() for k, w in enumerate((8, 8, 16))]
        cfg = [TrainConfig(optimizer="adam", lr=0.01, batch_size=16, n_steps=30, eval_every=10, seed=k) for k in range(3)]
        r = train_many(models, data, cfg, device=device, mode=mode, progress=False)
        results[device] = (r.final().to_numpy(), [torch.cat([p.detach().cpu().flatten() for p in m.parameters()])
                                                 for m in r.models])
    assert np.allclose(results["cpu"][0], results["cuda"][0], atol=1e-9)
    for a, b in zip(results["cpu"][1], results["cuda"][1]):
        assert torch.allclose(a, b, atol=1e-9)


def test_packed_widths_on_cuda_equal_each_member_alone():
    """Widths 3 and 5 zero-padded to 8 train on the GPU as one population; each equals itself
    trained alone there, unpadded (float64), and the padding stays exactly zero."""
    from genlab.models import MLP, pad_mlp, unpad_mlp
    from genlab.train import TrainConfig, train_many

    data = tiny_data()
    cfg = TrainConfig(optimizer="adam", lr=0.01, weight_decay=1e-3, batch_size=16, n_steps=30, eval_every=30, seed=0)
    alone = [MLP(40, 10, width=w, depth=2, seed=w).double() for w in (3, 5)]
    packed = [pad_mlp(m, 8) for m in alone]
    for m in alone:
        train_many([m], data, [cfg], device="cuda", progress=False)
    train_many(packed, data, [cfg, cfg], device="cuda", progress=False)
    for small, big in zip(alone, packed):
        back = unpad_mlp(big, small.width)
        for p, q in zip(back.parameters(), small.parameters()):
            assert torch.allclose(p, q, atol=1e-9)
        w = big.linears[1].weight.detach()
        assert (w[small.width:] == 0).all() and (w[:, small.width:] == 0).all()


def test_measurements_on_cuda_equal_cpu():
    from genlab.measure import hessian_eigenvalues
    from genlab.models import MLP

    data = tiny_data()
    x, y = torch.tensor(data.x_train, dtype=torch.float64), torch.tensor(data.y_train)
    model = MLP(40, 10, width=8, depth=1, seed=0).double()
    cpu = hessian_eigenvalues(model, (x, y), k=2, seed=0).eigenvalues
    gpu = hessian_eigenvalues(model.cuda(), (x.cuda(), y.cuda()), k=2, seed=0).eigenvalues
    assert np.allclose(np.asarray(cpu), np.asarray(gpu), rtol=1e-6)


def test_experiment_on_cuda_runs_and_states_its_claims(tmp_path):
    from genlab.experiments import run_experiment

    run = run_experiment("double-descent", scale="smoke", device="cuda", out=tmp_path / "dd", backend="serial")
    summary = json.loads((run / "summary.json").read_text())
    assert summary["machine"]["device"] == "cuda" and summary["machine"]["gpu"]
    assert summary["claims"] and all(len(c["values"]) == 2 for c in summary["claims"])
