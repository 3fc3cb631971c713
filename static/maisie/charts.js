/* Maisie charts: a scatter plot and parallel coordinates as inline SVG, from the table's own
   query string with format=chart (registry/web/charts.py: the whole filtered set, up to its cap).
   No library; every label is set as text, never as HTML.

   Axes are linear unless the user ticks "log" for that axis (the tick is a form field, so the URL
   keeps it); a text key is a categorical axis. Clicking a point or a line opens its model;
   dragging along a parallel axis writes the range into the query box (#q) and applies it. */
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var W = 640, H = 340;
  var PALETTE = ["#2f5bd3", "#d97706", "#059669", "#c026d3", "#dc2626", "#0891b2", "#65a30d", "#7c3aed", "#db2777", "#57534e"];
  var OTHER = "#a3aab8";  // categories past the palette, and models without the colour key
  var RAMP = [[68, 1, 84], [33, 145, 140], [253, 231, 37]];  // viridis' ends and middle: readable, and in grey too

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
  // Styles go through the CSSOM: the CSP (style-src 'self') refuses style attributes.
  function html(name, attrs, parent, content, style) {
    var node = document.createElement(name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    Object.keys(style || {}).forEach(function (k) { node.style[k] = style[k]; });
    if (content !== undefined) node.textContent = content;
    if (parent) parent.appendChild(node);
    return node;
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
  function clip(s, n) { return s.length > n ? s.slice(0, n - 1) + "…" : s; }
  function shortName(field) { return field.replace(/^hyperparameters\./, "hp.").replace(/^parameters\./, "params.").replace(/^metrics\./, "m."); }

  // registry/keypaths.quote, ported: a part is bare unless it holds a dot or a backquote (or is empty).
  function quotePart(part) {
    if (part && part.indexOf(".") < 0 && part.indexOf("`") < 0) return part;
    return "`" + part.replace(/`/g, "``") + "`";
  }
  function queryKey(key) { return shortName(key.section + ".") + key.parts.map(quotePart).join("."); }
  function queryString(value) { return '"' + String(value).replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"'; }

  // --- scales: t in [0, 1] along an axis

  function valuesOf(points, name) {
    return points.filter(function (p) { return name in p.values; }).map(function (p) { return p.values[name]; });
  }
  function canLog(key, points) {
    var values = valuesOf(points, key.name);
    return key.kind === "number" && values.length > 0 && values.every(function (v) { return v > 0; });
  }
  function makeScale(key, points, log) {
    if (key.kind === "text") {
      var index = {};
      key.categories.forEach(function (c, i) { index[c] = i; });
      var n = Math.max(key.categories.length, 1);
      return {
        kind: "text", log: false, categories: key.categories,
        at: function (v) { return (index[v] + 0.5) / n; },
        band: 1 / n,
      };
    }
    var values = valuesOf(points, key.name);
    var lo = Math.min.apply(null, values), hi = Math.max.apply(null, values);
    log = log && values.every(function (v) { return v > 0; });
    if (lo === hi) {
      if (log) { lo /= 2; hi *= 2; } else { lo -= lo === 0 ? 1 : Math.abs(lo) * 0.1; hi += hi === 0 ? 1 : Math.abs(hi) * 0.1; }
    }
    var L = Math.log;
    return {
      kind: "number", log: log, lo: lo, hi: hi,
      at: function (v) { return log ? (L(v) - L(lo)) / (L(hi) - L(lo)) : (v - lo) / (hi - lo); },
      invert: function (t) { return log ? Math.exp(L(lo) + t * (L(hi) - L(lo))) : lo + t * (hi - lo); },
      ticks: function (count) {
        if (!log) return ticks(lo, hi, count);
        var out = [];
        for (var e = Math.ceil(Math.log10(lo)); e <= Math.floor(Math.log10(hi)); e++) out.push(Math.pow(10, e));
        return out.length >= 2 ? out : [lo, hi];
      },
    };
  }
  // Text axes spread a category's points across its band, the same way on every render.
  function jitter(id) { return (((id * 2654435761) % 1000) / 1000 - 0.5) * 0.6; }

  // --- colour

  function ramp(t) {
    var i = t < 0.5 ? 0 : 1, u = t < 0.5 ? t * 2 : (t - 0.5) * 2;
    var a = RAMP[i], b = RAMP[i + 1];
    return "rgb(" + a.map(function (c, j) { return Math.round(c + (b[j] - c) * u); }).join(",") + ")";
  }
  function colouring(key, points) {
    if (!key) return { of: function () { return PALETTE[0]; }, key: null };
    var missing = points.some(function (p) { return !(key.name in p.values); });
    if (key.kind === "text") {
      var counts = {};
      valuesOf(points, key.name).forEach(function (v) { counts[v] = (counts[v] || 0) + 1; });
      var shown = Object.keys(counts).sort(function (a, b) { return counts[b] - counts[a] || (a < b ? -1 : 1); }).slice(0, PALETTE.length);
      var colour = {};
      shown.forEach(function (c, i) { colour[c] = PALETTE[i]; });
      return {
        key: key, kind: "text", missing: missing, entries: shown.map(function (c) { return [c, colour[c], counts[c]]; }),
        others: Object.keys(counts).length - shown.length,
        of: function (p) { return key.name in p.values ? colour[p.values[key.name]] || OTHER : OTHER; },
      };
    }
    var scale = makeScale(key, points, false);
    return {
      key: key, kind: "number", missing: missing, lo: scale.lo, hi: scale.hi,
      of: function (p) { return key.name in p.values ? ramp(scale.at(p.values[key.name])) : OTHER; },
    };
  }
  function legend(box, colours) {
    box.textContent = "";
    if (!colours.key) { html("span", { class: "muted small" }, box, "One colour: pick a key in “Colour by” to tell models apart."); return; }
    html("span", { class: "chart-legend__title" }, box, "Colour: " + shortName(colours.key.name));
    var list = html("ul", { class: "chart-legend__items" }, box);
    function item(colour, label) {
      var li = html("li", {}, list);
      html("span", { class: "chart-legend__swatch" }, li, undefined, { background: colour });
      html("span", {}, li, label);
    }
    if (colours.kind === "text") {
      colours.entries.forEach(function (e) { item(e[1], clip(e[0], 30) + " (" + e[2] + ")"); });
      if (colours.others) item(OTHER, colours.others + " other value" + (colours.others === 1 ? "" : "s"));
    } else {
      var li = html("li", { class: "chart-legend__ramp" }, list);
      html("span", {}, li, fmt(colours.lo));
      html("span", { class: "chart-legend__bar" }, li, undefined, { background: "linear-gradient(to right," + ramp(0) + "," + ramp(0.5) + "," + ramp(1) + ")" });
      html("span", {}, li, fmt(colours.hi));
    }
    if (colours.missing) item(OTHER, "no value");
  }

  function open(point) { window.location.assign(point.url); }

  // --- scatter

  function scatter(box, data, keys, logs, colours) {
    box.textContent = "";
    var xk = keys[data.x], yk = keys[data.y];
    var pts = data.points.filter(function (p) { return xk && yk && data.x in p.values && data.y in p.values; });
    if (!pts.length) { box.textContent = "No model has both keys."; return; }
    var m = { l: 64, r: 16, t: 14, b: 42 };
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, preserveAspectRatio: "xMidYMid meet" }, box);
    var xs = makeScale(xk, pts, logs.x), ys = makeScale(yk, pts, logs.y);
    var iw = W - m.l - m.r, ih = H - m.t - m.b;
    function sx(v) { return m.l + xs.at(v) * iw; }
    function sy(v) { return H - m.b - ys.at(v) * ih; }
    if (xs.kind === "text") {
      var every = Math.ceil(xs.categories.length / 12);
      xs.categories.forEach(function (c, i) { if (i % every === 0) text(svg, sx(c), H - m.b + 16, clip(c, 14), { "text-anchor": "middle", class: "chart-category" }); });
    } else {
      xs.ticks(6).forEach(function (v) {
        el("line", { x1: sx(v), x2: sx(v), y1: m.t, y2: H - m.b, stroke: "#eef0f4" }, svg);
        text(svg, sx(v), H - m.b + 16, fmt(v), { "text-anchor": "middle" });
      });
    }
    if (ys.kind === "text") {
      var each = Math.ceil(ys.categories.length / 10);
      ys.categories.forEach(function (c, i) { if (i % each === 0) text(svg, m.l - 6, sy(c) + 4, clip(c, 10), { "text-anchor": "end", class: "chart-category" }); });
    } else {
      ys.ticks(5).forEach(function (v) {
        el("line", { x1: m.l, x2: W - m.r, y1: sy(v), y2: sy(v), stroke: "#eef0f4" }, svg);
        text(svg, m.l - 6, sy(v) + 4, fmt(v), { "text-anchor": "end" });
      });
    }
    el("rect", { x: m.l, y: m.t, width: iw, height: ih, fill: "none", stroke: "#c5ccd8" }, svg);
    text(svg, (W + m.l) / 2, H - 6, shortName(data.x) + (xs.log ? " (log)" : ""), { "text-anchor": "middle", "font-weight": "600", "data-axis-title": "x" });
    text(svg, 12, (H - m.b) / 2, shortName(data.y) + (ys.log ? " (log)" : ""), { "text-anchor": "middle", "font-weight": "600", "data-axis-title": "y", transform: "rotate(-90 12 " + (H - m.b) / 2 + ")" });
    pts.forEach(function (p) {
      var x = sx(p.values[data.x]) + (xs.kind === "text" ? jitter(p.id) * xs.band * iw : 0);
      var y = sy(p.values[data.y]) + (ys.kind === "text" ? jitter(p.id + 7) * ys.band * ih : 0);
      var c = el("circle", { cx: x.toFixed(1), cy: y.toFixed(1), r: 4, fill: colours.of(p), "fill-opacity": 0.7, stroke: "#1d2330", "stroke-opacity": 0.35, "stroke-width": 0.6, class: "chart-point", "data-id": p.id }, svg);
      el("title", {}, c).textContent = p.label + "\n" + shortName(data.x) + " = " + p.values[data.x] + "\n" + shortName(data.y) + " = " + p.values[data.y];
      c.addEventListener("click", function () { open(p); });
    });
  }

  // --- parallel coordinates, with a brush on every axis

  function parallel(box, data, keys, logs, colours, onBrush) {
    box.textContent = "";
    var axes = data.axes.map(function (k) { return keys[k]; }).filter(function (k) {
      return data.points.some(function (p) { return k.name in p.values; });
    });
    if (axes.length < 2) { box.textContent = "Show two or more key columns in the table to draw parallel coordinates."; return; }
    var m = { l: 44, r: 44, t: 40, b: 26 };
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, preserveAspectRatio: "xMidYMid meet" }, box);
    var scales = axes.map(function (k) { return makeScale(k, data.points, !!logs[k.name]); });
    var ih = H - m.t - m.b;
    function ax(i) { return m.l + (i * (W - m.l - m.r)) / (axes.length - 1); }
    function ay(i, v) { return H - m.b - scales[i].at(v) * ih; }
    data.points.forEach(function (p) {
      var d = "", pen = "M";
      axes.forEach(function (k, i) {
        if (!(k.name in p.values)) { pen = "M"; return; }
        d += pen + ax(i).toFixed(1) + " " + ay(i, p.values[k.name]).toFixed(1) + " ";
        pen = "L";
      });
      if (!d) return;
      var path = el("path", { d: d, fill: "none", stroke: colours.of(p), "stroke-opacity": 0.55, "stroke-width": 1.4, class: "chart-line", "data-id": p.id }, svg);
      el("title", {}, path).textContent = p.label;
      path.addEventListener("click", function () { open(p); });
    });
    axes.forEach(function (k, i) {
      var s = scales[i];
      el("line", { x1: ax(i), x2: ax(i), y1: m.t, y2: H - m.b, stroke: "#1d2330", "stroke-width": 1 }, svg);
      var anchor = i === 0 ? "start" : i === axes.length - 1 ? "end" : "middle";
      text(svg, ax(i), 14, clip(shortName(k.name), 22) + (s.log ? " (log)" : ""), { "text-anchor": anchor, "font-weight": "600" });
      if (s.kind === "text") {
        var every = Math.ceil(s.categories.length / 8);
        s.categories.forEach(function (c, j) { if (j % every === 0) text(svg, ax(i) + 4, ay(i, c) + 4, clip(c, 12), { class: "chart-category" }); });
      } else {
        text(svg, ax(i), m.t - 6, fmt(s.hi), { "text-anchor": anchor });
        text(svg, ax(i), H - m.b + 14, fmt(s.lo), { "text-anchor": anchor });
      }
      brushArea(svg, ax(i), m.t, ih, k, s, onBrush);
    });
  }

  function brushArea(svg, x, top, height, key, scale, onBrush) {
    var area = el("rect", { x: x - 12, y: top, width: 24, height: height, fill: "transparent", class: "chart-brush-area", "data-key": key.name }, svg);
    el("title", {}, area).textContent = "Drag along " + shortName(key.name) + " to filter";
    var start = null, band = null;
    function svgY(event) {
      var pt = svg.createSVGPoint();
      pt.x = event.clientX; pt.y = event.clientY;
      return Math.max(top, Math.min(top + height, pt.matrixTransform(svg.getScreenCTM().inverse()).y));
    }
    area.addEventListener("pointerdown", function (event) {
      event.preventDefault();
      area.setPointerCapture(event.pointerId);
      start = svgY(event);
      if (band) band.remove();
      band = el("rect", { x: x - 8, y: start, width: 16, height: 0, class: "chart-brush" }, svg);
    });
    area.addEventListener("pointermove", function (event) {
      if (start === null) return;
      var y = svgY(event);
      band.setAttribute("y", Math.min(start, y));
      band.setAttribute("height", Math.abs(y - start));
    });
    area.addEventListener("pointerup", function (event) {
      if (start === null) return;
      var y = svgY(event), from = start;
      start = null;
      if (Math.abs(y - from) < 3) { band.remove(); band = null; return; }
      var t1 = (top + height - Math.max(from, y)) / height, t2 = (top + height - Math.min(from, y)) / height;
      // A brush that reaches an end of the axis takes in its last value, not all but the last pixels.
      if (t1 < 0.02) t1 = 0;
      if (t2 > 0.98) t2 = 1;
      onBrush(brushQuery(key, scale, t1, t2));
    });
  }

  // The search language's spelling of a brushed range: bounds rounded outwards to 4 digits.
  function rounded(v, direction) {
    if (v === 0) return 0;
    var unit = Math.pow(10, Math.floor(Math.log10(Math.abs(v))) - 3);
    return +((direction < 0 ? Math.floor(v / unit) : Math.ceil(v / unit)) * unit).toPrecision(4);
  }
  function brushQuery(key, scale, t1, t2) {
    var name = queryKey(key);
    if (scale.kind === "text") {
      var picked = scale.categories.filter(function (c) { var t = scale.at(c); return t >= t1 && t <= t2; });
      if (!picked.length) return "";
      if (picked.length === 1) return name + " = " + queryString(picked[0]);
      return name + " in (" + picked.map(queryString).join(", ") + ")";
    }
    return name + " >= " + rounded(scale.invert(t1), -1) + " and " + name + " <= " + rounded(scale.invert(t2), 1);
  }

  // --- the section: load once, render on every log toggle

  function applyQuery(section, clause) {
    if (!clause) return;
    var box = document.getElementById("q");
    var current = box.value.trim();
    // An `or` in the current query would otherwise bind looser than the new `and`.
    box.value = !current ? clause : (/\bor\b/i.test(current) ? "(" + current + ")" : current) + " and " + clause;
    var url = new URL(window.location.href);
    url.searchParams.set("q", box.value);
    url.searchParams.delete("page");
    url.searchParams.set("charts", "1");
    window.history.replaceState(null, "", url.toString());
    var flag = section.querySelector("[data-charts-flag]");
    if (flag) flag.value = "1";
    var note = section.querySelector("[data-chart-note]");
    if (note) note.textContent = "Filtering: " + clause;
    if (box.form.requestSubmit) box.form.requestSubmit(); else box.form.submit();
  }

  function syncUrl(section) {
    var url = new URL(window.location.href);
    section.querySelectorAll("[data-chart-log=x], [data-chart-log=y]").forEach(function (box) {
      var name = box.dataset.chartLog + "log";
      if (box.checked) url.searchParams.set(name, "1"); else url.searchParams.delete(name);
    });
    url.searchParams.delete("log");
    section.querySelectorAll("[data-chart-axis-log]:checked").forEach(function (box) { url.searchParams.append("log", box.value); });
    window.history.replaceState(null, "", url.toString());
  }

  function pick(section, role, value) {
    var select = section.querySelector("[data-chart-pick=" + role + "]");
    if (!select) return;
    var wanted = value || "none";
    if (!Array.prototype.some.call(select.options, function (o) { return o.value === wanted; })) {
      html("option", { value: wanted }, select, wanted);
    }
    select.value = wanted;
  }

  function axisLogToggles(section, data, keys) {
    var box = section.querySelector("[data-chart-axis-logs]");
    if (!box) return;
    var asked = new URL(window.location.href).searchParams.getAll("log");
    box.textContent = "";
    data.axes.forEach(function (name) {
      var key = keys[name];
      if (!key || key.kind !== "number") return;
      var label = html("label", { class: "chart-log" }, box);
      var input = html("input", { type: "checkbox", name: "log", value: name, "data-chart-axis-log": "" }, label);
      input.checked = asked.indexOf(name) >= 0;
      label.appendChild(document.createTextNode(" " + clip(shortName(name), 22) + " log"));
    });
    if (box.children.length) box.insertBefore(html("span", { class: "muted small" }, null, "Log scale: "), box.firstChild);
  }

  function render(section, data) {
    var keys = {};
    data.keys.forEach(function (k) { keys[k.name] = k; });
    var logs = {};
    section.querySelectorAll("[data-chart-log]").forEach(function (box) {
      var key = keys[data[box.dataset.chartLog]];
      var allowed = !!key && canLog(key, data.points);
      box.disabled = !allowed;
      box.closest("label").title = allowed ? "Logarithmic scale" : "A log scale needs a number axis with values above zero";
      logs[box.dataset.chartLog] = allowed && box.checked;
    });
    section.querySelectorAll("[data-chart-axis-log]").forEach(function (box) {
      var allowed = canLog(keys[box.value], data.points);
      box.disabled = !allowed;
      box.closest("label").title = allowed ? "Logarithmic scale" : "A log scale needs values above zero";
      logs[box.value] = allowed && box.checked;
    });
    var colours = colouring(keys[data.color], data.points);
    var s = section.querySelector("[data-chart=scatter]");
    var p = section.querySelector("[data-chart=parallel]");
    var l = section.querySelector("[data-chart-legend]");
    if (s) scatter(s, data, keys, logs, colours);
    if (p) parallel(p, data, keys, axisLogs(logs, data.axes), colours, function (clause) { applyQuery(section, clause); });
    if (l) legend(l, colours);
  }
  function axisLogs(logs, axes) {
    var out = {};
    axes.forEach(function (name) { out[name] = !!logs[name]; });
    return out;
  }

  function load(section) {
    if (section.dataset.loaded) return;
    section.dataset.loaded = "1";
    var note = section.querySelector("[data-chart-note]");
    fetch(section.dataset.chartUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (body) {
          if (!r.ok) throw new Error((body.errors || []).join(" ") || "HTTP " + r.status);
          return body;
        });
      })
      .then(function (data) {
        pick(section, "x", data.x);
        pick(section, "y", data.y);
        pick(section, "color", data.color);
        axisLogToggles(section, data, data.keys.reduce(function (o, k) { o[k.name] = k; return o; }, {}));
        var caption = section.querySelector("[data-chart-caption=scatter]");
        if (caption) caption.textContent = data.x && data.y ? shortName(data.y) + " against " + shortName(data.x) : "";
        render(section, data);
        section.addEventListener("change", function (event) {
          if (!event.target.matches("[data-chart-log], [data-chart-axis-log]")) return;
          syncUrl(section);
          render(section, data);
        });
        if (note) {
          var n = data.count.toLocaleString("en");
          note.textContent = data.truncated
            ? "Plotted " + n + " models: the cap. " + data.total.toLocaleString("en") + " models match; these are the newest " + n + ". Narrow the filters to see the others."
            : "Plotted " + n + " model" + (data.count === 1 ? "" : "s") + ": every model the filters match (up to " + data.cap.toLocaleString("en") + ").";
          note.dataset.count = data.count;
        }
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
