// Live training shared by the input-normalization and spectral-bias pages.
// The server trains this page's run (its own, per settings, no global lock) and answers with the
// state after `step` steps, at most 250 steps further per request. Playing asks for step + STRIDE
// as soon as the previous frame is drawn, so frames never pile up; a link to a far step is
// reached in a few requests, shown as "computing… step k of n" meanwhile. While playing, the
// next frame is already asked for while the current one is drawn.
"use strict";
function trainingPage(endpoint, defaults, hyper, maxStep, stride) {
  const S = G.readState(Object.assign({ step: 0, seed: 0 }, defaults));
  let playing = false, frames = 0, t0 = performance.now(), fourierAt = 0;
  // The points and the clean function are fixed for a run: asked for once per run (same arrays,
  // so Plotly.react redraws only what changed).
  let fixed = null, fixedKey = null;
  const runKey = () => JSON.stringify(hyper.map((k) => S[k]));
  const btn = document.getElementById("play"), progress = document.getElementById("progress");
  function keep(d) {
    if (d.x_train) { fixed = { x_train: d.x_train, y_train: d.y_train, x_val: d.x_val, y_val: d.y_val, x_grid: d.x_grid, y_true: d.y_true }; fixedKey = runKey(); }
  }
  function draw(d) {
    keep(d);
    d = Object.assign({}, fixed, d);
    const div = d.diverged_at !== null;
    Plotly.react("fit", [
      { x: d.x_grid, y: d.y_true, mode: "lines", name: "true function", line: { dash: "dash", color: "#444" } },
      { x: d.x_train, y: d.y_train, mode: "markers", name: "train", marker: { color: "#1f77b4", size: 6 } },
      { x: d.x_val, y: d.y_val, mode: "markers", name: "validation", marker: { color: "#ff7f0e", size: 6 } },
      { x: d.x_grid, y: d.y_pred, mode: "lines", name: "network", line: { color: "#d62728", width: 2.5 } }],
      G.layout({ title: { text: div ? `DIVERGED at step ${d.diverged_at}` : `fit after ${d.step} steps`, font: { color: div ? "#b00" : "#222" } },
        yaxis: { range: [Math.min(...d.y_true) - 1.8, Math.max(...d.y_true) + 1.8] }, xaxis: { title: "x" } }), G.config);
    const best = { x: [d.best_step], y: [d.best_val_loss], mode: "markers", name: `best validation (step ${d.best_step})`,
      marker: { symbol: "star", size: 14, color: "green" } };
    Plotly.react("loss", [
      { x: d.loss_steps, y: d.train_loss, mode: "lines", name: "train loss", line: { color: "#1f77b4" } },
      { x: d.loss_steps, y: d.val_loss, mode: "lines", name: "validation loss", line: { color: "#ff7f0e" } }, best],
      G.layout({ title: { text: "mean squared error" }, xaxis: { title: "step" }, yaxis: { type: "log" } }), G.config);
    // The Fourier bars: at most 4 redraws a second while playing (the fit and the curves get every frame).
    if (document.getElementById("fourier") && d.amplitude && (!playing || performance.now() - fourierAt > 250)) {
      fourierAt = performance.now();
      Plotly.react("fourier", [{ type: "bar", x: d.amplitude.map((_, k) => k), y: d.amplitude,
        marker: { color: d.amplitude.map((_, k) => (k === 2 ? "#2ca02c" : k >= 6 ? "#d62728" : "#999")) } }],
        G.layout({ showlegend: false, title: { text: G.narrow() ? "Fourier amplitude of the fit<br>(green: the sine; red: ≥ 6 cycles, noise)" : "Fourier amplitude of the fit (green: the sine's 2 cycles; red: ≥ 6 cycles, noise)" },
          xaxis: { title: "cycles per [−1, 1)" }, yaxis: { type: "log", range: [-4, 0.3] } }), G.config);
    }
    document.getElementById("status").innerHTML = div ?
      `<span class="diverged">Training diverged at step ${d.diverged_at}: the loss became ${d.train_loss_now === null ? "infinite/NaN" : "huge"}. ` +
      `Lower the learning rate, remove the offset or normalize, then Reset.</span>` : "";
    frames += 1;
    const fps = frames / Math.max(1e-3, (performance.now() - t0) / 1000);
    const sum = document.getElementById("summary");
    sum.dataset.frames = String(frames); sum.dataset.fps = fps.toFixed(1);
    G.summary(Object.entries(S).map(([k, v]) => `${k}=${v}`).join(" ") + ` | step=${d.step} train=${G.fmt(d.train_loss_now, 4)} ` +
      `val=${G.fmt(d.val_loss_now, 4)} best_step=${d.best_step} best_val=${G.fmt(d.best_val_loss, 4)}` + (div ? ` DIVERGED at ${d.diverged_at}` : ""), d.step);
    sum.dataset.frames = String(frames);
    G.say(`After ${d.step} steps the network's fit (red) ` + (div ? `has diverged. ` : `has train loss ${G.fmt(d.train_loss_now, 3)} and validation loss ` +
      `${G.fmt(d.val_loss_now, 3)}; the best validation loss so far, ${G.fmt(d.best_val_loss, 3)}, was at step ${d.best_step}.`));
  }
  // Ask for S.step; follow partial answers (the server trains at most 250 steps per request).
  async function frame() {
    for (;;) {
      const withData = fixed === null || fixedKey !== runKey();
      const d = await G.get(endpoint, Object.assign({}, S, { data: withData ? 1 : 0 }), "train"); if (!d) return null;
      if (d.complete) { progress.textContent = ""; draw(d); return d; }
      progress.textContent = `computing… step ${d.step} of ${d.requested_step}`;
      draw(d);
    }
  }
  function setPlaying(p) { playing = p; btn.textContent = p ? "Pause ❚❚" : "Train ▶"; if (p) { frames = 0; t0 = performance.now(); } }
  const ask = (step) => G.get(endpoint, Object.assign({}, S, { step, data: fixed === null || fixedKey !== runKey() ? 1 : 0 }), "train");
  // Playing is pipelined: the next frame is asked for before the current one is drawn, so the
  // server trains while the browser redraws (one request in flight at a time).
  async function loop() {
    let want = Math.min(maxStep, S.step + stride), pending = ask(want);
    while (playing) {
      const d = await pending;
      if (!playing) return;  // paused meanwhile: the frame in flight is dropped
      if (!d) { setPlaying(false); return; }
      keep(d);
      const stop = d.diverged_at !== null || (d.complete && d.step >= maxStep);
      if (!stop) { want = d.complete ? Math.min(maxStep, d.step + stride) : want; pending = ask(want); }
      progress.textContent = d.complete ? "" : `computing… step ${d.step} of ${d.requested_step}`;
      S.step = d.step; draw(d); G.writeState(S);
      if (stop) setPlaying(false);
    }
  }
  btn.onclick = () => { setPlaying(!playing); if (playing) loop(); };
  document.getElementById("stepbtn").onclick = () => { setPlaying(false); S.step = Math.min(maxStep, S.step + stride); G.writeState(S); frame(); };
  document.getElementById("reset").onclick = () => { setPlaying(false); S.step = 0; G.writeState(S); G.notice(null); frame(); };
  G.bind(S, (k) => {
    // A new setting is a new run: say so instead of silently starting over.
    if (hyper.includes(k) && S.step > 0) {
      G.notice(`${k} changed: this is a new training run, restarted from step 0 (the previous run was at step ${S.step}). Press Train ▶ to continue.`);
      setPlaying(false); S.step = 0; G.writeState(S);
    }
    frame();
  });
  G.writeState(S); frame();
  return S;
}
