/* The model table's selection for "Compare selected", kept across pages, sorts and filters.

   The ticked ids live in sessionStorage under the table's path (one project, or /models/), so
   they last as long as the tab and never leak to another project's table. The checkboxes are
   the table's own (`data-select="compare"`, `form="compare-form"`); sending #compare-form asks
   for every stored id, in the order they were ticked (the first is the baseline). app.js's handler counts only
   this page's ticks; this one runs after it and shows the whole selection. */
(function () {
  "use strict";
  var KEY = "maisie.compare:" + window.location.pathname;

  function stored() {
    try { return JSON.parse(window.sessionStorage.getItem(KEY) || "[]").map(String); } catch (e) { return []; }
  }
  function store(ids) {
    try { window.sessionStorage.setItem(KEY, JSON.stringify(ids)); } catch (e) { /* private mode: the page's ticks still work */ }
  }
  function boxes() { return document.querySelectorAll("[data-select=compare]"); }

  function update() {
    var button = document.getElementById("compare-button");
    if (!button) return;
    var count = stored().length;
    button.disabled = count < Number(button.dataset.minSelected || 2);
    button.textContent = count ? "Compare selected (" + count + ")" : "Compare selected";
    var clear = document.getElementById("compare-clear");
    if (clear) clear.hidden = count === 0;
  }

  function remember() {
    var ids = stored();
    boxes().forEach(function (box) {
      var at = ids.indexOf(box.value);
      if (box.checked && at < 0) ids.push(box.value);
      if (!box.checked && at >= 0) ids.splice(at, 1);
    });
    store(ids);
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("compare-button");
    var form = document.getElementById("compare-form");
    if (!button || !form) return;
    var ids = stored();
    boxes().forEach(function (box) { box.checked = ids.indexOf(box.value) >= 0; });

    var clear = document.createElement("button");
    clear.type = "button";
    clear.id = "compare-clear";
    clear.className = "button button--small";
    clear.textContent = "Clear selection";
    button.insertAdjacentElement("afterend", clear);
    clear.addEventListener("click", function () {
      store([]);
      boxes().forEach(function (box) { box.checked = false; });
      document.querySelectorAll("[data-select-all=compare]").forEach(function (box) { box.checked = false; });
      update();
    });

    document.addEventListener("change", function (event) {
      if (event.target.matches("[data-select=compare], [data-select-all=compare]")) remember();
    });
    // Sent in the order they were ticked: the first is the comparison's baseline.
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var params = new URLSearchParams();
      stored().forEach(function (id) { params.append("id", id); });
      window.location.assign(form.action + "?" + params.toString());
    });
    update();
  });
})();
