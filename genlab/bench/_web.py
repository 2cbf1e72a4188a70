"""Web explorer, side by side in one run: cold first response per demo, slider latency (server
and end to end in Chromium), live-training frame rate, and latency with 20 concurrent clients."""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import threading
import time
import urllib.request

import typer

from genlab.bench._common import emit, machine

TARGET_SERVER_MS, TARGET_E2E_MS = 100.0, 150.0
TARGET_COLD_S, TARGET_FPS, TARGET_CONCURRENT_S = 3.0, 10.0, 2.0
N_CLIENTS = 20
# The first request each demo page makes (what a cold link asks for).
COLD_URLS = {
    "init": "/api/init", "gradflow": "/api/gradflow", "activations": "/api/activations", "optimizer": "/api/optimizer",
    "ema": "/api/ema", "normalization": "/api/normalization?step=0", "spectral": "/api/spectral?step=3000",
    "double-descent": "/api/double-descent", "bias-variance": "/api/bias-variance", "backprop": "/api/backprop",
    "grokking": "/api/grokking", "implicit-bias": "/api/implicit-bias", "early-stopping": "/api/early-stopping",
    "knots": "/api/knots",
}

# (page, slider selector, query parameter, values the slider visits)
E2E_MOVES = [
    ("init", '[data-param="scale"]', "scale", [1.0, 0.95, 0.9, 0.85, 0.9, 0.95]),
    ("gradflow", '[data-param="scale"]', "scale", [1.0, 1.05, 1.1, 1.15, 1.1, 1.05]),
    ("activations", '[data-param="z_max"]', "z_max", [5.0, 5.5, 6.0, 6.5, 6.0, 5.5]),
    ("ema", '[data-param="beta"]', "beta", [0.9, 0.91, 0.92, 0.93, 0.92, 0.91]),
    ("backprop", '[data-param="w"]', "w", [1.0, 1.5, 2.0, 2.5, 2.0, 1.5]),
    ("normalization", '[data-param="y_offset"]', "y_offset", [0.0, 0.5, 1.0, 1.5, 1.0, 0.5]),  # a new run: its first frame
    ("spectral", '[data-param="log_lr"]', "log_lr", [-3.0, -2.9, -2.8, -2.7, -2.8, -2.9]),  # a new run: its first frame
    ("optimizer", '[data-param="log_lr"]', "log_lr", [-1.3, -1.25, -1.2, -1.15, -1.2, -1.25]),
    ("double-descent", "#pidx", "features", [13, 14, 15, 16, 15, 14]),  # slider index
    ("bias-variance", '[data-param="hidden"]', "hidden", [3, 4, 5, 6, 5, 4]),
    ("grokking", "#wd", "weight_decay", [0, 1, 2, 1, 0, 1]),  # slider index
    ("implicit-bias", "#alpha", "alpha", [2, 3, 4, 5, 4, 3]),  # slider index
    ("early-stopping", "#noise", "noise", [0, 1, 2, 3, 2, 1]),  # slider index
    ("knots", "#K", "K", [2, 3, 4, 5, 6, 5]),  # slider index
]
SERVER_MOVES = {
    "init": [{"scale": 0.5 + 0.05 * i} for i in range(20)],
    "gradflow": [{"activation": a, "scale": 1.0 + 0.05 * i} for i, a in enumerate(["relu", "sigmoid", "tanh", "gelu"] * 5)],
    "activations": [{"z_max": 1.0 + 0.25 * i} for i in range(20)],
    "optimizer": [{"log_lr": -2 + 0.05 * i} for i in range(20)],
    "double-descent": [{"features": 1 + i, "ridge": (0, 0.001)[i % 2]} for i in range(20)],
    "bias-variance": [{"hidden": 1 + i % 12, "noise": 0.3} for i in range(20)],
    "backprop": [{"w": 0.1 * i} for i in range(20)],
    "normalization": [{"step": 5 * i} for i in range(20)],  # one live-training frame = 5 SGD steps
    "ema": [{"beta": 0.5 + 0.02 * i} for i in range(20)],
    "spectral": [{"log_lr": -3.5 + 0.1 * i} for i in range(20)],  # a new run each (step 0, with its data)
    "grokking": [{"fraction": (0.3, 0.5)[i % 2], "weight_decay": (0.0, 0.3, 1.0)[i % 3]} for i in range(20)],
    "implicit-bias": [{"alpha": (3.0, 1.0, 0.5, 0.3, 0.1, 0.05, 0.03, 0.01, 0.003)[i % 9]} for i in range(20)],
    "early-stopping": [{"noise": (0.0, 0.15, 0.3, 0.45)[i % 4]} for i in range(20)],
    "knots": [{"K": i, "draw": i % 3} for i in range(20)],
}


def _stats(ms: list[float]) -> dict:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return {"median_ms": statistics.median(ms), "p95_ms": p95, "n": len(ms)}


def _get(url: str) -> float:
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as r:
        r.read()
    return time.perf_counter() - t0


def _cold_times(url: str) -> dict:
    """Seconds to the first answer of each demo on a server that has computed nothing yet."""
    return {demo: _get(url + path) for demo, path in COLD_URLS.items()}


def _concurrent(url: str, n_clients: int = N_CLIENTS, n_requests: int = 10) -> dict:
    """``n_clients`` threads at once, each training its own spectral-bias run frame by frame and
    moving sliders in between; every request's latency."""
    lat, errors = [], []

    def client(k: int) -> None:
        for i in range(n_requests):
            try:
                lat.append(_get(f"{url}/api/spectral?seed={100 + k}&step={5 * (i + 1)}"))
                lat.append(_get(f"{url}/api/init?scale={0.5 + 0.05 * i}&seed={k}"))
            except OSError as exc:
                errors.append(str(exc))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(n_clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ms = [x * 1e3 for x in lat]
    return {"clients": n_clients, "requests": len(lat), "errors": len(errors), "wall_s": time.perf_counter() - t0,
            "max_s": max(lat) if lat else None, **_stats(ms)}


def _server_times(url: str) -> dict:
    out = {}
    for demo, moves in SERVER_MOVES.items():
        endpoint = "/api/" + demo
        urllib.request.urlopen(f"{url}{endpoint}").read()  # warm caches (first call, not a slider move)
        server, roundtrip = [], []
        for params in moves:
            q = "&".join(f"{k}={v}" for k, v in params.items())
            t0 = time.perf_counter()
            with urllib.request.urlopen(f"{url}{endpoint}?{q}") as r:
                r.read()
                server.append(float(r.headers["Server-Timing"].split("dur=")[1]))
            roundtrip.append((time.perf_counter() - t0) * 1e3)
        out[demo] = {"server": _stats(server), "http_roundtrip": _stats(roundtrip)}
    return out


_MOVE_JS = """async ([sel, value]) => {
  const el = document.querySelector(sel), s = document.getElementById('summary');
  const before = s.dataset.version;
  const t0 = performance.now();
  const ok = await new Promise((resolve) => {
    const obs = new MutationObserver(() => { if (s.dataset.version !== before) { obs.disconnect(); resolve(true); } });
    obs.observe(s, { attributes: true, childList: true, characterData: true, subtree: true });
    setTimeout(() => { obs.disconnect(); resolve(false); }, 10000);  // never redrawn: reported as 10 s
    // What a user's move fires: sliders 'input', number fields 'change'.
    el.value = value; el.dispatchEvent(new Event(el.type === 'range' ? 'input' : 'change', { bubbles: true }));
  });
  if (!ok) return 10000;
  // The DOM is updated; wait for the frame that paints it.
  await new Promise((r) => requestAnimationFrame(() => r()));
  return performance.now() - t0;
}"""


def _e2e_times(url: str, moves: int) -> dict:
    from playwright.sync_api import sync_playwright

    from genlab.web._server import BROWSER_ARGS, CHROMIUM

    out = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1250, "height": 900})
        for demo, sel, _, values in E2E_MOVES:
            page.goto(f"{url}/demo/{demo}")
            page.wait_for_function("document.getElementById('summary').textContent.length > 0", timeout=120_000)
            ms = []
            for i in range(moves + 2):
                t = page.evaluate(_MOVE_JS, [sel, str(values[i % len(values)] if i % len(values) else values[1])])
                if i >= 2:  # the first moves warm the page's JIT and Plotly
                    ms.append(t)
            out[demo] = _stats(ms)
        fps = {}
        for demo in ("spectral", "normalization", "optimizer"):
            page.goto(f"{url}/demo/{demo}")
            page.wait_for_function("document.getElementById('summary').textContent.length > 0", timeout=120_000)
            page.click("#play")
            t0 = time.perf_counter()
            f0 = int(page.evaluate("document.getElementById('summary').dataset.frames || 0"))
            page.wait_for_timeout(3000)
            f1 = int(page.evaluate("document.getElementById('summary').dataset.frames || 0"))
            fps[demo] = (f1 - f0) / (time.perf_counter() - t0)
            page.click("#play")
        browser.close()
    return out, fps


def command(
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object instead of text."),
    moves: int = typer.Option(20, help="Slider moves timed per demo in the browser."),
) -> None:
    """Web explorer: server and end-to-end time per slider move (median, p95) vs 100 / 250 ms targets."""
    import torch

    from genlab._checks import ParameterError, check_int

    moves = check_int(moves, "--moves", "genlab bench web", low=1)
    try:
        from genlab.web._app import create_app
        from genlab.web._server import CHROMIUM, running_server
    except ImportError as exc:
        raise ParameterError(f"genlab bench web needs the web extra: pip install 'genlab[web]' ({exc}).") from None
    from genlab.web import _curves, _training

    torch.set_num_threads(1)
    _curves._MEMORY.clear()  # a cold start: nothing in memory, an empty cache folder
    _training._CACHE.clear()
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(os.path.join(tmp, "runs"), cache_dir=tmp)
        with running_server(app) as url:
            cold = _cold_times(url)
            server = _server_times(url)
            concurrent = _concurrent(url)
            e2e, fps, e2e_note = None, None, None
            if os.path.exists(CHROMIUM):
                try:
                    e2e, fps = _e2e_times(url, moves)
                except ImportError:
                    e2e_note = "playwright not installed"
            else:
                e2e_note = f"{CHROMIUM} not installed"
    slider_demos = [d for d, *_ in E2E_MOVES]
    worst_server = max(server[d]["server"]["p95_ms"] for d in slider_demos)
    result = {
        "benchmark": "web", "machine": machine(), "targets_ms": {"server": TARGET_SERVER_MS, "end_to_end": TARGET_E2E_MS},
        "cold_first_response_s": cold, "cold_worst_s": max(cold.values()), "concurrent": concurrent, "live_fps": fps,
        "server": server, "end_to_end": e2e, "end_to_end_note": e2e_note,
        "server_median_ms": statistics.median(server[d]["server"]["median_ms"] for d in slider_demos),
        "server_worst_p95_ms": worst_server,
        "server_ratio_to_target": worst_server / TARGET_SERVER_MS,
    }
    lines = [f"genlab bench web (targets: cold first answer <= {TARGET_COLD_S:.0f} s, slider < {TARGET_E2E_MS:.0f} ms end to end, "
             f">= {TARGET_FPS:.0f} frames/s live, {N_CLIENTS} clients without a request over {TARGET_CONCURRENT_S:.0f} s)",
             "cold first response (s): " + " ".join(f"{d}={t:.2f}" for d, t in cold.items())
             + f"  worst {max(cold.values()):.2f} s = {max(cold.values()) / TARGET_COLD_S:.2f} x target",
             f"{N_CLIENTS} concurrent clients: {concurrent['requests']} requests, median {concurrent['median_ms']:.0f} ms, "
             f"p95 {concurrent['p95_ms']:.0f} ms, max {concurrent['max_s']:.2f} s = {concurrent['max_s'] / TARGET_CONCURRENT_S:.2f} x target, "
             f"{concurrent['errors']} errors",
             "live training frames/s in chromium: " + (" ".join(f"{d}={v:.1f}" for d, v in fps.items()) if fps else "not measured"),
             f"per slider move, target < {TARGET_SERVER_MS:.0f} ms server, < {TARGET_E2E_MS:.0f} ms end to end",
             f"{'demo':16s} {'server med':>10s} {'p95':>8s} {'http med':>9s} {'e2e med':>8s} {'e2e p95':>8s}"]
    for demo, r in server.items():
        e = (e2e or {}).get(demo)
        lines.append(f"{demo:16s} {r['server']['median_ms']:10.2f} {r['server']['p95_ms']:8.2f} {r['http_roundtrip']['median_ms']:9.2f} "
                     + (f"{e['median_ms']:8.1f} {e['p95_ms']:8.1f}" if e else f"{'—':>8s} {'—':>8s}"))
    lines.append(f"worst server p95 {worst_server:.1f} ms = {result['server_ratio_to_target']:.2f} x target")
    if e2e:
        worst = max(v["p95_ms"] for v in e2e.values())
        result["end_to_end_worst_p95_ms"] = worst
        result["end_to_end_ratio_to_target"] = worst / TARGET_E2E_MS
        lines.append(f"worst end-to-end p95 {worst:.1f} ms = {worst / TARGET_E2E_MS:.2f} x target")
    else:
        lines.append(f"end to end not measured: {e2e_note}")
    lines.append("(normalization: one live-training frame of 5 full-batch SGD steps, not a slider move)")
    emit(json.loads(json.dumps(result, default=float)), json_out, lines)
