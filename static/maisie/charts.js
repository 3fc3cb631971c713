/* Maisie charts: a scatter plot and parallel coordinates as inline SVG, from the table's own
   query string with format=chart. No library; every label is set as text, never as HTML. */
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var W = 640, H = 340;
  var COLORS = ["#2f5bd3", "#d97706", "#059669", "#c026d3", "#dc2626", "#0891b2", "#65a30d", "#7c3aed"];

  function el(name, attrs, parent) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(node);
    return node;
  }
  function text(parent, x, y, value, attrs) {
    var t = el("text", Object.assign({ x: x, y: y }, attrs || {}), parent);
    t.textContent = value;
    return t;
  }
  function extent(values) {
    var lo = Math.min.apply(null, values), hi = Math.max.apply(null, values);
    if (lo === hi) { lo -= lo === 0 ? 1 : Math.abs(lo) * 0.1; hi += hi === 0 ? 1 : Math.abs(hi) * 0.1; }
    return [lo, hi];
  }
  function ticks(lo, hi, n) {
    var step = Math.pow(10, Math.floor(Math.log10((hi - lo) / n)));
    var err = (n * step) / (hi - lo);
    if (err <= 0.15) step *= 10; else if (err <= 0.35) step *= 5; else if (err <= 0.75) step *= 2;
    var out = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
    return out;
  }
  function fmt(v) {
    var a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(1);
    return String(+v.toPrecision(4));
  }
  // A positive axis spanning more than a decade (learning rates) reads better on a log scale.
  function scale(values, lo, hi) {
    var positive = values.every(function (v) { return v > 0; });
    var log = positive && hi / lo >= 20;
    return {
      log: log,
      lo: lo,
      hi: hi,
      at: function (v) { return log ? (Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo)) : (v - lo) / (hi - lo); },
      ticks: function (n) {
        if (!log) return ticks(lo, hi, n);
        var out = [];
        for (var e = Math.ceil(Math.log10(lo)); e <= Math.floor(Math.log10(hi)); e++) out.push(Math.pow(10, e));
        return out.length >= 2 ? out : [lo, hi];
      },
    };
  }
  function shortName(field) { return field.replace(/^hyperparameters\./, "hp.").replace(/^parameters\./, "params.").replace(/^metrics\./, "m."); }

  function scatter(box, data) {
    box.textContent = "";
    var pts = data.points.filter(function (p) { return data.x in p.values && data.y in p.values; });
    if (!data.x || !data.y || !pts.length) { box.textContent = "No model has both keys."; return; }
    var m = { l: 56, r: 16, t: 14, b: 42 };
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, preserveAspectRatio: "xMidYMid meet" }, box);
    var xv = pts.map(function (p) { return p.values[data.x]; });
    var yv = pts.map(function (p) { return p.values[data.y]; });
    var xe = extent(xv), ye = extent(yv);
    var xs = scale(xv, xe[0], xe[1]), ys = scale(yv, ye[0], ye[1]);
    function sx(v) { return m.l + xs.at(v) * (W - m.l - m.r); }
    function sy(v) { return H - m.b - ys.at(v) * (H - m.t - m.b); }
    xs.ticks(6).forEach(function (v) {
      el("line", { x1: sx(v), x2: sx(v), y1: m.t, y2: H - m.b, stroke: "#eef0f4" }, svg);
      text(svg, sx(v), H - m.b + 16, fmt(v), { "text-anchor": "middle" });
    });
    ys.ticks(5).forEach(function (v) {
      el("line", { x1: m.l, x2: W - m.r, y1: sy(v), y2: sy(v), stroke: "#eef0f4" }, svg);
      text(svg, m.l - 6, sy(v) + 4, fmt(v), { "text-anchor": "end" });
    });
    el("rect", { x: m.l, y: m.t, width: W - m.l - m.r, height: H - m.t - m.b, fill: "none", stroke: "#c5ccd8" }, svg);
    text(svg, (W + m.l) / 2, H - 6, shortName(data.x) + (xs.log ? " (log)" : ""), { "text-anchor": "middle", "font-weight": "600" });
    text(svg, 12, (H - m.b) / 2, shortName(data.y) + (ys.log ? " (log)" : ""), { "text-anchor": "middle", "font-weight": "600", transform: "rotate(-90 12 " + (H - m.b) / 2 + ")" });
    pts.forEach(function (p) {
      var c = el("circle", { cx: sx(p.values[data.x]), cy: sy(p.values[data.y]), r: 4, fill: COLORS[0], "fill-opacity": 0.55, stroke: "#1d3f9a", "stroke-width": 0.6 }, svg);
      var title = el("title", {}, c);
      title.textContent = p.label + "\n" + shortName(data.x) + " = " + p.values[data.x] + "\n" + shortName(data.y) + " = " + p.values[data.y];
    });
  }

  function parallel(box, data) {
    box.textContent = "";
    var keys = data.keys.filter(function (k) { return data.points.some(function (p) { return k in p.values; }); });
    if (keys.length < 2) { box.textContent = "Show two or more numeric columns to draw parallel coordinates."; return; }
    var m = { l: 40, r: 40, t: 40, b: 26 };
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, preserveAspectRatio: "xMidYMid meet" }, box);
    var scales = keys.map(function (k) {
      var values = data.points.filter(function (p) { return k in p.values; }).map(function (p) { return p.values[k]; });
      var e = extent(values);
      return scale(values, e[0], e[1]);
    });
    function ax(i) { return m.l + (i * (W - m.l - m.r)) / (keys.length - 1); }
    function ay(i, v) { return H - m.b - scales[i].at(v) * (H - m.t - m.b); }
    // Colour lines by the last axis (usually a metric) so good and bad runs stand apart.
    var last = keys.length - 1;
    data.points.forEach(function (p) {
      var d = "", pen = "M";
      keys.forEach(function (k, i) {
        if (!(k in p.values)) { pen = "M"; return; }
        d += pen + ax(i).toFixed(1) + " " + ay(i, p.values[k]).toFixed(1) + " ";
        pen = "L";
      });
      if (!d) return;
      var t = keys[last] in p.values ? scales[last].at(p.values[keys[last]]) : 0.5;
      var color = "hsl(" + Math.round(10 + t * 200) + ", 70%, 45%)";
      var path = el("path", { d: d, fill: "none", stroke: color, "stroke-opacity": 0.45, "stroke-width": 1.2 }, svg);
      el("title", {}, path).textContent = p.label;
    });
    keys.forEach(function (k, i) {
      el("line", { x1: ax(i), x2: ax(i), y1: m.t, y2: H - m.b, stroke: "#1d2330", "stroke-width": 1 }, svg);
      var anchor = i === 0 ? "start" : i === keys.length - 1 ? "end" : "middle";
      text(svg, ax(i), 14, shortName(k) + (scales[i].log ? " (log)" : ""), { "text-anchor": anchor, "font-weight": "600" });
      text(svg, ax(i), m.t - 6, fmt(scales[i].hi), { "text-anchor": anchor });
      text(svg, ax(i), H - m.b + 14, fmt(scales[i].lo), { "text-anchor": anchor });
    });
  }

  function load(section) {
    if (section.dataset.loaded) return;
    section.dataset.loaded = "1";
    var note = section.querySelector("[data-chart-note]");
    fetch(section.dataset.chartUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (data) {
        var s = section.querySelector("[data-chart=scatter]");
        var p = section.querySelector("[data-chart=parallel]");
        var caption = section.querySelector("[data-chart-caption=scatter]");
        if (caption) caption.textContent = data.x && data.y ? shortName(data.y) + " against " + shortName(data.x) : "";
        if (s) scatter(s, data);
        if (p) parallel(p, data);
        if (note) note.textContent = data.points.length + " model" + (data.points.length === 1 ? "" : "s") +
          (data.truncated ? " (the first " + data.points.length + " in the current order)" : "") + ". Hover a point or line for its model.";
      })
      .catch(function (err) { if (note) note.textContent = "Could not load the chart data: " + err.message; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var section = document.getElementById("charts");
    if (!section || !section.querySelector("[data-chart]")) return;
    var flag = section.querySelector("[data-charts-flag]");
    if (section.open) load(section);
    section.addEventListener("toggle", function () {
      // Keep "charts open" in the URL so a shared link shows them too.
      var url = new URL(window.location.href);
      if (section.open) { url.searchParams.set("charts", "1"); load(section); } else { url.searchParams.delete("charts"); }
      if (flag) flag.value = section.open ? "1" : "";
      window.history.replaceState(null, "", url.toString());
    });
  });
})();
