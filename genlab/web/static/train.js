// Training animation shared by the input-normalization and spectral-bias pages.
// The server returns the state after `step` optimizer steps of a deterministic run; playing asks
// for step + STRIDE after each frame arrives, so frames never pile up.
"use strict";
function trainingPage(endpoint, defaults, hyper, maxStep, stride) {
  const S = G.readState(Object.assign({ step: 0, seed: 0 }, defaults));
  let playing = false;
  const btn = document.getElementById("play");
  async function frame() {
    const d = await G.get(endpoint, S, "train"); if (!d) return null;
    const div = d.diverged_at !== null;
    await Plotly.react("fit", [
      { x: d.x_grid, y: d.y_true, mode: "lines", name: "true function", line: { dash: "dash", color: "#444" } },
      { x: d.x_train, y: d.y_train, mode: "markers", name: "train", marker: { color: "#1f77b4", size: 6 } },
      { x: d.x_val, y: d.y_val, mode: "markers", name: "validation", marker: { color: "#ff7f0e", size: 6 } },
      { x: d.x_grid, y: d.y_pred, mode: "lines", name: "network", line: { color: "#d62728", width: 2.5 } }],
      G.layout({ title: { text: div ? `DIVERGED at step ${d.diverged_at}` : `fit after ${d.step} steps`, font: { color: div ? "#b00" : "#222" } },
        yaxis: { range: [Math.min(...d.y_true) - 1.8, Math.max(...d.y_true) + 1.8] }, xaxis: { title: "x" } }), G.config);
    const best = { x: [d.best_step], y: [d.best_val_loss], mode: "markers", name: `best validation (step ${d.best_step})`,
      marker: { symbol: "star", size: 14, color: "green" } };
    await Plotly.react("loss", [
      { x: d.loss_steps, y: d.train_loss, mode: "lines", name: "train loss", line: { color: "#1f77b4" } },
      { x: d.loss_steps, y: d.val_loss, mode: "lines", name: "validation loss", line: { color: "#ff7f0e" } }, best],
      G.layout({ title: { text: "mean squared error" }, xaxis: { title: "step" }, yaxis: { type: "log" } }), G.config);
    document.getElementById("status").innerHTML = div ?
      `<span class="diverged">Training diverged at step ${d.diverged_at}: the loss became ${d.train_loss_now === null ? "infinite/NaN" : "huge"}. ` +
      `Lower the learning rate or remove the offset, then Reset.</span>` : "";
    G.summary(Object.entries(S).map(([k, v]) => `${k}=${v}`).join(" ") + ` | step=${d.step} train=${G.fmt(d.train_loss_now, 4)} ` +
      `val=${G.fmt(d.val_loss_now, 4)} best_step=${d.best_step} best_val=${G.fmt(d.best_val_loss, 4)}` + (div ? ` DIVERGED at ${d.diverged_at}` : ""), d.step);
    return d;
  }
  function setPlaying(p) { playing = p; btn.textContent = p ? "Pause ❚❚" : "Train ▶"; }
  async function loop() {
    while (playing) {
      const next = Math.min(maxStep, S.step + stride);
      S.step = next; G.writeState(S);
      const d = await frame();
      if (!d || d.diverged_at !== null || next >= maxStep) { if (d) S.step = d.step; G.writeState(S); setPlaying(false); }
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
