// Shared page helpers: URL state, control binding, latest-wins fetch, messages.
"use strict";
const G = {};
// Read the page state from the query string, typed after the defaults.
G.readState = function (defaults) {
  const q = new URLSearchParams(location.search), s = {};
  for (const [k, d] of Object.entries(defaults)) {
    const v = q.get(k);
    if (v === null) { s[k] = d; continue; }
    if (typeof d === "boolean") s[k] = v === "1" || v === "true";
    else if (typeof d === "number") s[k] = isFinite(Number(v)) ? Number(v) : d;
    else s[k] = v;
  }
  return s;
};
G.writeState = function (s) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(s)) q.set(k, typeof v === "boolean" ? (v ? "1" : "0") : String(v));
  history.replaceState(null, "", location.pathname + "?" + q.toString());
};
G.fmt = (v, d = 2) => (v === null || v === undefined ? "—" : Number(v).toFixed(d));
// Bind every [data-param] control to state[param]; onChange(param) after each change.
G.bind = function (state, onChange) {
  document.querySelectorAll("[data-param]").forEach((el) => {
    const k = el.dataset.param;
    if (el.type === "checkbox") el.checked = !!state[k]; else el.value = state[k];
    const show = () => { const o = document.getElementById(k + "-val"); if (o) o.textContent = el.dataset.fmt ? G[el.dataset.fmt](state[k]) : state[k]; };
    show();
    el.addEventListener(el.type === "range" ? "input" : "change", () => {
      state[k] = el.type === "checkbox" ? el.checked : (el.tagName === "SELECT" && isNaN(Number(el.value)) ? el.value : Number(el.value));
      show(); G.writeState(state); onChange(k);
    });
  });
};
G.setControl = function (state, k, v) {
  state[k] = v;
  const el = document.querySelector(`[data-param="${k}"]`);
  if (el) { if (el.type === "checkbox") el.checked = !!v; else el.value = v; }
  const o = document.getElementById(k + "-val");
  if (o && el) o.textContent = el.dataset.fmt ? G[el.dataset.fmt](v) : v;
};
G.lr = (v) => (10 ** v).toPrecision(2);
let controllers = {};
// Fetch JSON; a newer request on the same channel aborts the older one (latest wins).
G.get = async function (path, params, channel = "main") {
  if (controllers[channel]) controllers[channel].abort();
  const ctl = new AbortController(); controllers[channel] = ctl;
  const url = path + "?" + new URLSearchParams(params).toString();
  let r, body;
  try { r = await fetch(url, { signal: ctl.signal }); body = await r.json(); }
  catch (e) { if (e.name === "AbortError" || ctl.signal.aborted) return null; G.error(String(e)); return null; }
  if (ctl.signal.aborted) return null;  // superseded while the body was read
  if (!r.ok) { G.error(body.detail || r.statusText); return null; }
  G.error(null);
  G.lastServerMs = Number((r.headers.get("Server-Timing") || "dur=NaN").split("dur=")[1]);
  return body;
};
G.error = function (msg) {
  const e = document.getElementById("error"); if (!e) return;
  e.hidden = !msg; e.textContent = msg ? "Request refused: " + msg : "";
};
G.notice = function (msg) {
  const e = document.getElementById("notice"); if (!e) return;
  e.hidden = !msg; e.textContent = msg || "";
};
G._drawn = 0;
G.summary = function (text) {  // data-version counts the redraws (genlab bench web waits for it to change)
  const e = document.getElementById("summary");
  e.textContent = text; e.dataset.version = String(++G._drawn);
};
// A plain sentence saying what the plots now show, read out by screen readers (aria-live).
G.say = function (text) { const e = document.getElementById("said"); if (e) e.textContent = text; };
G.narrow = () => window.innerWidth < 600;
// Plotly.js 3 dropped the string shorthand for axis titles (`title: "x"` draws nothing): turn it
// into `title: { text: "x" }` here, so that every axis the pages label shows its label.
G.layout = (extra) => {
  const out = Object.assign({ margin: { l: 50, r: 15, t: 30, b: 40 }, font: { size: 11 }, showlegend: true,
    legend: G.narrow() ? { orientation: "h", y: -0.25 } : undefined }, extra);
  for (const [key, axis] of Object.entries(out)) {
    if (/^[xy]axis\d*$/.test(key) && axis && typeof axis.title === "string") out[key] = { ...axis, title: { text: axis.title } };
  }
  return out;
};
// On a phone the mode bar would cover the titles: show it on hover on wide screens only.
G.config = { displaylogo: false, responsive: true, displayModeBar: G.narrow() ? false : "hover" };
// A range input that steps through a fixed list of values (a precomputed grid): state[key] is the value.
G.gridSlider = function (id, values, state, key, onChange, fmt = (v) => String(v)) {
  const el = document.getElementById(id), out = document.getElementById(id + "-val");
  el.min = 0; el.max = values.length - 1; el.step = 1;
  const near = (v) => values.reduce((b, a, i) => (Math.abs(a - v) < Math.abs(values[b] - v) ? i : b), 0);
  const show = () => { out.textContent = fmt(state[key]); };
  el.value = near(state[key]); state[key] = values[el.value]; show();
  el.addEventListener("input", () => { state[key] = values[el.value]; show(); G.writeState(state); onChange(key); });
};
