import json

import pytest


@pytest.fixture(scope="session")
def runs_dir(tmp_path_factory):
    """A runs directory with two complete runs, one incomplete run and a secret file beside it."""
    root = tmp_path_factory.mktemp("web") / "runs"
    for name, noise in (("run-a", 0.1), ("run-b", 0.3)):
        d = root / name
        d.mkdir(parents=True)
        (d / "config.json").write_text(json.dumps({"experiment": "toy", "scale": "smoke", "seed": 0, "device": "cpu", "config": {"noise": noise}}))
        rows = ["member,step,split,metric,value"] + [f"0,{s},{sp},loss,{(1 + noise) / (s + 1):.6f}" for s in range(5) for sp in ("train", "val")]
        (d / "metrics.csv").write_text("\n".join(rows) + "\n")
        (d / "fig.png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
        (d / "summary.json").write_text(json.dumps({"experiment": "toy", "title": f"Toy {name}", "question": "q?", "scale": "smoke",
                                                     "seed": 0, "wall_time_s": 1.0, "figures": ["fig.png"], "comparisons": [], "metrics": {}}))
    dd = root / "dd"
    dd.mkdir()
    rows = ["problem,P,N,metric,value"] + [f"{pr},{p},15,test_mse_median,{(1 + k) * p:.1f}" for k, pr in enumerate(("legendre", "diabetes")) for p in range(1, 17)]
    (dd / "metrics.csv").write_text("\n".join(rows) + "\n")
    claims = [{"name": "peak at P = N", "kind": "published", "source": "Schaeffer et al. 2023, Fig. 1", "published": 15,
               "band": [14, 16], "values": [15, 12], "holds": [True, False], "fraction": 0.5, "note": "per seed"}]
    (dd / "summary.json").write_text(json.dumps({"experiment": "double-descent-linear", "title": "DD", "scale": "smoke", "seed": 0,
                                                 "wall_time_s": 2.0, "figures": [], "comparisons": [], "claims": claims, "metrics": {}}))
    (root / "half").mkdir()
    (root / "half" / "config.json").write_text(json.dumps({"experiment": "toy", "scale": "smoke", "seed": 1}))
    (root.parent / "secret.png").write_bytes(b"secret")
    (root.parent / "secret.txt").write_text("secret")
    return root


@pytest.fixture(scope="session")
def app(runs_dir, tmp_path_factory):
    pytest.importorskip("fastapi", reason="the web extra is not installed (pip install -e '.[web]')")
    from genlab.web import create_app

    # The shipped curves (genlab/web/data): nothing is computed, as on a user's cold start.
    return create_app(runs_dir, cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def client(app):
    from fastapi.testclient import TestClient

    return TestClient(app)
