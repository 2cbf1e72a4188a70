"""The FastAPI app: one JSON endpoint per demo (bounded query parameters), static pages, runs.

Every parameter is declared with its bounds, so a bad value gets a 422 with a message naming
it; nothing is computed from an unchecked value. The maths lives in _demos, _training and
_curves; this module only validates, dispatches and serves files.
"""

import math
import os
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import torch
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from genlab.web import _curves, _demos, _phenomena, _runs, _training

STATIC = Path(__file__).resolve().parent / "static"
DEMOS = ("init", "gradflow", "activations", "optimizer", "ema", "normalization", "spectral",
         "double-descent", "bias-variance", "backprop", "grokking", "implicit-bias", "early-stopping", "knots", "runs")
MAX_TRAIN_STEPS = 5000
TRAIN_SECONDS = 1.0  # one request trains for at most about this long (then answers with its progress)
DATA_DOC = "include the data points and the clean function (fixed for a run; a playing page asks once)"


class Detail(BaseModel):
    """Every error answer: one sentence naming the parameter or file, the allowed values and what was given."""

    detail: str


# Declared once for every route, so the OpenAPI schema says what each error answer holds (and
# FastAPI's default 422 schema, a list of objects, is replaced by the string genlab sends).
ERRORS = {
    400: {"model": Detail, "description": "A malformed run or file name."},
    404: {"model": Detail, "description": "No such demo, run or file."},
    409: {"model": Detail, "description": "A run's file on disk is damaged (named in the message)."},
    422: {"model": Detail, "description": "A query parameter outside its declared range."},
}


def _num(default: float, lo: float, hi: float, doc: str):
    return Annotated[float, Query(ge=lo, le=hi, allow_inf_nan=False, description=doc)]


Seed = Annotated[int, Query(ge=0, le=10_000, description="random seed")]
Step = Annotated[int, Query(ge=0, le=MAX_TRAIN_STEPS, description="optimizer steps taken")]


@lru_cache(maxsize=1)
def _plotly_js() -> bytes:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().encode()


def _message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ())[1:]) or "request"
        parts.append(f"The {where!r} parameter: {err.get('msg')} (got {err.get('input')!r}).")
    return " ".join(parts)


def _warm_up() -> None:
    """Pay torch's first-use costs (module construction, autograd, torch.optim's lazy imports:
    seconds on a busy machine) at start-up rather than in a user's first request."""
    _demos.init_explorer()
    _demos.gradient_flow()
    for demo in ("normalization", "spectral"):
        _training.warm_up(demo)
    _phenomena.knot_fit(4, 0)  # imports the knots experiment (and its package) now, not in a first request


def create_app(runs_dir: str | Path = "runs", *, cache_dir: str | Path | None = None,
               curves_scale: str = "quick", precompute: bool = False) -> FastAPI:
    """Build the genlab web app.

    Parameters
    ----------
    runs_dir : path
        Directory whose run directories the runs browser shows (read only; nothing outside it
        can be requested).
    cache_dir : path, optional
        Where the double-descent and bias-variance curves are stored once computed; defaults
        to ``$GENLAB_CACHE`` or ``~/.cache/genlab/web``.
    curves_scale : {'quick', 'smoke'}
        Size of the precomputation ('smoke' is for tests).
    precompute : bool
        Start computing the curves in a background thread at start-up.
    """
    runs_root = Path(runs_dir).resolve()
    cache = Path(cache_dir or os.environ.get("GENLAB_CACHE") or Path.home() / ".cache" / "genlab" / "web")
    app = FastAPI(title="genlab explorer", docs_url="/api/docs", redoc_url=None, responses=ERRORS)
    app.add_middleware(GZipMiddleware, minimum_size=2000)
    torch.set_num_threads(1)  # tiny models: threads only add contention
    _warm_up()

    @app.middleware("http")
    async def server_timing(request: Request, call_next):
        t0 = time.perf_counter()
        response = await call_next(request)
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - t0) * 1e3:.2f}"
        return response

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError):
        return JSONResponse(status_code=422, content={"detail": _message(exc)})

    @app.exception_handler(_runs.RunError)
    async def run_error(request: Request, exc: _runs.RunError):
        return JSONResponse(status_code=exc.status, content={"detail": exc.message})

    def curves(kind: str) -> dict:
        return _curves.precomputed(kind, cache, scale=curves_scale)

    if precompute:
        threading.Thread(target=lambda: [curves(k) for k in ("double_descent", "bias_variance")],
                         daemon=True).start()

    # ------------------------------------------------------------------ pages and assets
    @app.get("/healthz")
    def healthz() -> dict:
        return {"ok": True}

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/demo/{name}", include_in_schema=False)
    def demo_page(name: str) -> FileResponse:
        if name not in DEMOS:
            raise HTTPException(404, f"No demo named {name!r}; the demos are {', '.join(DEMOS)}.")
        return FileResponse(STATIC / f"{name}.html")

    @app.get("/assets/plotly.min.js", include_in_schema=False)
    def plotly_js() -> Response:
        return Response(_plotly_js(), media_type="application/javascript",
                        headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    # ------------------------------------------------------------------ demos
    @app.get("/api/init")
    def init(scale: _num(1.0, 0.1, 3.0, "multiplier on the He std") = 1.0,
             mean: _num(0.0, -5.0, 5.0, "input mean") = 0.0,
             std: _num(1.0, 0.0, 5.0, "input std") = 1.0,
             layer_norm: bool = False, seed: Seed = 0) -> dict:
        return _demos.init_explorer(scale, mean, std, layer_norm, seed)

    @app.get("/api/gradflow")
    def gradflow(activation: Literal[_demos.ACTIVATIONS] = "relu",  # type: ignore[valid-type]
                 scale: _num(1.0, 0.1, 3.0, "multiplier on the He std") = 1.0, seed: Seed = 0) -> dict:
        return _demos.gradient_flow(activation, scale, seed)

    @app.get("/api/activations")
    def activations(z_max: _num(5.0, 1.0, 10.0, "the plot covers z in [-z_max, z_max]") = 5.0) -> dict:
        return _demos.activation_curves(z_max)

    @app.get("/api/ema")
    def ema(beta: _num(0.9, 0.0, 0.999, "smoothing factor") = 0.9,
            n_steps: Annotated[int, Query(ge=5, le=1000, description="length of the noisy signal")] = 100,
            noise: _num(1.0, 0.0, 5.0, "noise std of the signal") = 1.0, seed: Seed = 0) -> dict:
        return _demos.ema_trace(beta, n_steps, noise, seed)

    @app.get("/api/optimizer")
    def optimizer(log_lr: _num(-1.3, -4.0, 0.5, "log10 of the learning rate") = -1.3,
                  beta1: _num(0.9, 0.0, 0.999, "first-moment decay") = 0.9,
                  beta2: _num(0.999, 0.0, 0.9999, "second-moment decay") = 0.999,
                  batch_size: Annotated[int, Query(ge=1, le=256, description="a power of 2")] = 32,
                  n_steps: Annotated[int, Query(ge=1, le=1000)] = 200, seed: Seed = 0,
                  contour: bool = True) -> dict:
        if batch_size & (batch_size - 1):
            raise HTTPException(422, f"The 'batch_size' parameter must be a power of 2 in [1, 256]. Got {batch_size} instead.")
        out = _demos.optimizer_path(log_lr, beta1, beta2, batch_size, n_steps, seed)
        if not contour:  # the page keeps the (fixed) contour grid from its first request
            del out["contour"]
        return out

    @app.get("/api/normalization")
    def normalization(x_offset: _num(0.0, -5.0, 5.0, "shift of the inputs") = 0.0,
                      y_offset: _num(0.0, -10.0, 10.0, "shift of the targets") = 0.0,
                      log_lr: _num(-1.0, -4.0, 0.0, "log10 of the SGD learning rate") = -1.0,  # the experiment's 0.1
                      normalize: Annotated[bool, Query(description="standardize inputs and targets first")] = False,
                      step: Step = 0, seed: Seed = 0, data: Annotated[bool, Query(description=DATA_DOC)] = True) -> dict:
        s = _training.TrainSettings("normalization", x_offset, y_offset, log_lr, seed, normalize)
        return _training.training_state(s, step, seconds=TRAIN_SECONDS, data=data)

    @app.get("/api/spectral")
    def spectral(log_lr: _num(-3.0, -4.0, -1.0, "log10 of the Adam learning rate") = -3.0,  # the experiment's 1e-3
                 step: Step = 0, seed: Seed = 0, data: Annotated[bool, Query(description=DATA_DOC)] = True) -> dict:
        return _training.training_state(_training.TrainSettings("spectral", log_lr=log_lr, seed=seed), step,
                                        seconds=TRAIN_SECONDS, data=data)

    def _grid_value(name: str, value: float, allowed) -> str:
        for a in allowed:
            if math.isclose(value, a, abs_tol=1e-9):
                return str(a)
        raise HTTPException(422, f"The {name!r} parameter must be one of {list(allowed)}. Got {value} instead.")

    @app.get("/api/double-descent")
    def double_descent(ridge: _num(0.0, 0.0, 1.0, "ridge penalty: 0 (min-norm least squares) or the experiment's 0.001") = 0.0,
                       features: Annotated[int, Query(ge=1, le=1000)] = 15) -> dict:
        key = _grid_value("ridge", ridge, _curves.DD_RIDGE)
        p = str(int(_grid_value("features", features, _curves.DD_FEATURES)))
        d = curves("double_descent")
        return {"ridge": float(key), "features": int(p), "n_train": d["n_train"], "all_features": d["features"],
                "all_ridge": d["ridge"], "curve": d["curves"][key], "fit": d["fits"][key][p],
                "smallest_singular_value": d["smallest_singular_value"], "x_grid": d["x_grid"], "y_true": d["y_true"]}

    @app.get("/api/bias-variance")
    def bias_variance(noise: _num(0.3, 0.0, 1.0, "noise std of the targets") = 0.3,
                      hidden: Annotated[int, Query(ge=1, le=12)] = 3) -> dict:
        key = _grid_value("noise", noise, _curves.BV_NOISE)
        d = curves("bias_variance")
        return {"noise": float(key), "hidden": hidden, "all_hidden": d["hidden"], "all_noise": d["noise"],
                "curve": d["curves"][key], "fit": d["fits"][key][str(hidden)],
                "x_grid": d["x_grid"], "y_true": d["y_true"]}

    @app.get("/api/grokking")
    def grokking(fraction: _num(0.3, 0.0, 1.0, "training fraction of the p^2 pairs") = 0.3,
                 weight_decay: _num(1.0, 0.0, 10.0, "AdamW weight decay") = 1.0) -> dict:
        f = float(_grid_value("fraction", fraction, _phenomena.GROK_FRACTIONS))  # refused before anything is loaded
        wd = float(_grid_value("weight_decay", weight_decay, _phenomena.GROK_WEIGHT_DECAYS))
        d = curves("grokking")
        grid = {k: {"final_test": r["final_test"], "steps_to_fit": r["steps_to_fit"],
                    "steps_to_generalize": r["steps_to_generalize"]} for k, r in d["runs"].items()}
        return {"fraction": f, "weight_decay": wd, "run": d["runs"][f"{f:g}/{wd:g}"], "grid": grid,
                **{k: d[k] for k in ("fractions", "weight_decays", "steps", "modulus", "width", "lr", "n_steps", "fit",
                                     "generalize")}}

    @app.get("/api/implicit-bias")
    def implicit_bias(alpha: _num(1.0, 0.0, 10.0, "initialization scale of u = v") = 1.0) -> dict:
        a = float(_grid_value("alpha", alpha, _phenomena.IB_ALPHAS))
        d = curves("implicit_bias")
        return {"alpha": a, "diagonal": d["diagonal"][f"{a:g}"],
                "path": {k: [d["diagonal"][f"{b:g}"]["metrics"][k] for b in d["alphas"]]
                         for k in ("dist_to_min_l2", "dist_to_min_l1", "test_error", "l1_norm")},
                **{k: d[k] for k in ("alphas", "n_train", "n_freq", "diag_steps", "diag_lr", "x_grid", "y_true", "x_train",
                                     "y_train", "target_coef", "min_l2", "min_l1")}}

    @app.get("/api/early-stopping")
    def early_stopping(noise: _num(0.3, 0.0, 0.9, "fraction of wrong training and validation labels") = 0.3) -> dict:
        p = float(_grid_value("noise", noise, _phenomena.ES_NOISE))
        d = curves("early_stopping")
        gains = {k: v["gain_points"] for k, v in d["levels"].items()}
        return {"noise": p, "level": d["levels"][f"{p:g}"], "gains": gains, "all_noise": d["noise"],
                **{k: d[k] for k in ("patience", "eval_every", "n_steps", "width", "lr")}}

    @app.get("/api/knots")
    def knots(K: Annotated[int, Query(ge=0, le=1000, description="number of knots")] = 4,  # noqa: N803
              draw: Annotated[int, Query(ge=0, le=10_000, description="which random draw of the knots")] = 0) -> dict:
        d = curves("knots")
        return {**_phenomena.knot_fit(K, draw), "sweep": d}

    @app.get("/api/backprop")
    def backprop(x: _num(2.0, -10, 10, "input") = 2.0, y: _num(3.0, -10, 10, "target") = 3.0,
                 w: _num(1.0, -10, 10, "weight") = 1.0, lam: _num(0.1, 0.0, 10, "L2 penalty") = 0.1) -> dict:
        return _demos.backprop_trace(x, y, w, lam)

    # ------------------------------------------------------------------ runs browser
    @app.get("/api/runs")
    def runs() -> dict:
        listed, skipped = _runs.list_runs(runs_root)
        return {"runs_dir": str(runs_root), "runs": listed, "skipped": skipped}

    @app.get("/api/runs/{name}")
    def run(name: str) -> dict:
        return _runs.run_info(runs_root, name)

    @app.get("/api/runs/{name}/metrics")
    def run_metrics(name: str) -> dict:
        return _runs.run_metrics(runs_root, name)

    @app.get("/api/runs/{name}/files/{filename}", response_class=FileResponse,
             responses={200: {"description": "The figure.", "content": {"image/png": {}, "image/svg+xml": {}}}})
    def run_file(name: str, filename: str) -> FileResponse:
        return FileResponse(_runs.run_file(runs_root, name, filename))

    return app
