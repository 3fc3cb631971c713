/* Maisie: small progressive enhancements. Every page works without them. */
(function () {
  "use strict";

  // A <select> or checkbox with data-autosubmit submits its form when changed.
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches("[data-autosubmit]") && el.form) {
      if (el.form.requestSubmit) el.form.requestSubmit(); else el.form.submit();
    }
  });

  // Forms with data-confirm ask first.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });

  // Drop empty fields from GET forms so the URL carries only what is set.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || form.method.toLowerCase() !== "get" || form.id !== "table-form") return;
    event.preventDefault();
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, name) {
      if (value !== "" || name === "col") params.append(name, value);
    });
    // The lone empty `col` marks "the columns were chosen"; drop it when real ones follow.
    var cols = params.getAll("col").filter(function (v) { return v !== ""; });
    params.delete("col");
    if (cols.length) cols.forEach(function (c) { params.append("col", c); }); else params.append("col", "");
    // A fixed column left unticked is hidden (table_state.py): said as `hide=`, so that it stays
    // hidden even when every fixed column is. The optional ones (the format columns) are hidden
    // unless ticked, so they need no `hide=`.
    params.delete("hide");
    form.querySelectorAll("input[name=col][data-fixed]:not([data-optional])").forEach(function (box) {
      if (!box.checked) params.append("hide", box.value);
    });
    var action = form.getAttribute("action") || window.location.pathname;
    window.location.assign(action + "?" + params.toString());
  });

  // "Select all" for row checkboxes; the compare button needs two rows.
  function updateCompare() {
    var button = document.getElementById("compare-button");
    if (!button) return;
    var selected = document.querySelectorAll("[data-select=compare]:checked").length;
    button.disabled = selected < Number(button.dataset.minSelected || 2);
    button.textContent = selected ? "Compare selected (" + selected + ")" : "Compare selected";
  }
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches("[data-select-all]")) {
      document.querySelectorAll("[data-select=" + el.dataset.selectAll + "]").forEach(function (box) {
        box.checked = el.checked;
      });
    }
    if (el.matches("[data-select], [data-select-all]")) updateCompare();
  });

  // Buttons that tick or untick every checkbox in a list (the fixed columns stay as they are).
  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-check-all]");
    if (!el) return;
    document.querySelectorAll(el.dataset.checkAll).forEach(function (list) {
      list.querySelectorAll("input[type=checkbox]:not([data-fixed])").forEach(function (box) {
        box.checked = el.dataset.value === "true";
      });
    });
  });

  // The column chooser's arrows move a column one place; the boxes' order is the columns' order.
  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-move]");
    if (!el) return;
    var item = el.closest("[data-column-item]");
    if (Number(el.dataset.move) < 0 && item.previousElementSibling) {
      item.parentNode.insertBefore(item, item.previousElementSibling);
    } else if (Number(el.dataset.move) > 0 && item.nextElementSibling) {
      item.parentNode.insertBefore(item.nextElementSibling, item);
    }
    el.focus();
  });

  // Buttons that ask before they submit (deleting a saved view).
  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-confirm-click]");
    if (el && !window.confirm(el.dataset.confirmClick)) event.preventDefault();
  });

  // A key ticked in the catalogue joins the ordered list of shown columns, at its end: ahead of
  // the hidden fixed columns (the format columns, say), which the list keeps after the shown ones.
  document.addEventListener("change", function (event) {
    var box = event.target;
    var order = document.getElementById("column-order");
    if (!order || !box.matches("#column-list input[name=col]") || !box.checked) return;
    var template = order.querySelector("[data-column-item]");
    if (!template) return;
    var item = template.cloneNode(true);
    var label = box.closest("label");
    item.dataset.columnItem = box.value;
    label.removeAttribute("data-filter-item");
    item.querySelector("label").replaceWith(label);
    item.querySelectorAll("[data-move]").forEach(function (b) {
      b.setAttribute("aria-label", "Move " + box.value + (Number(b.dataset.move) < 0 ? " left" : " right"));
    });
    var firstHidden = Array.prototype.find.call(order.children, function (li) {
      var input = li.querySelector("input[name=col]");
      return input && input.hasAttribute("data-fixed") && !input.checked;
    });
    order.insertBefore(item, firstHidden || null);
  });

  // Type to narrow a list (the column chooser).
  document.addEventListener("input", function (event) {
    var el = event.target;
    if (!el.matches("[data-filter-list]")) return;
    var needle = el.value.trim().toLowerCase();
    document.querySelectorAll(el.dataset.filterList + " [data-filter-item]").forEach(function (item) {
      item.hidden = needle !== "" && item.dataset.filterItem.toLowerCase().indexOf(needle) === -1;
    });
  });

  // Copy buttons.
  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-copy]");
    if (!el) return;
    var source = document.querySelector(el.dataset.copy);
    if (source && navigator.clipboard) {
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        el.textContent = "Copied";
      });
    }
  });

  // Escape closes an open dropdown and puts focus back on its button.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.dropdown[open]").forEach(function (d) {
      d.open = false;
      d.querySelector("summary").focus();
    });
  });

  // The upload form has its own script (static/maisie/upload.js): metadata checked before the file is sent.

  document.addEventListener("DOMContentLoaded", function () {
    updateCompare();
    // On a phone the filter panel starts folded so the table comes first.
    if (window.matchMedia("(max-width: 980px)").matches) {
      document.querySelectorAll("details[data-close-on-phone]").forEach(function (d) {
        if (!d.querySelector(".key-filter--active")) d.open = false;
      });
    }
  });
})();
