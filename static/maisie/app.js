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

  // Buttons that tick or untick every checkbox in a list.
  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-check-all]");
    if (!el) return;
    document.querySelectorAll(el.dataset.checkAll + " input[type=checkbox]").forEach(function (box) {
      box.checked = el.dataset.value === "true";
    });
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

  // Uploads with a progress bar: the same POST, sent by XHR so its progress can be shown.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("[data-upload]") || !window.XMLHttpRequest || !window.FormData) return;
    event.preventDefault();
    var box = form.querySelector("[data-upload-progress]");
    var bar = box.querySelector("progress");
    var status = box.querySelector("[data-upload-status]");
    var button = form.querySelector("button[type=submit]");
    var xhr = new XMLHttpRequest();
    var started = Date.now();
    box.hidden = false;
    button.disabled = true;
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      var pct = Math.floor((e.loaded / e.total) * 100);
      var seconds = (Date.now() - started) / 1000;
      var rate = seconds > 0 ? e.loaded / seconds : 0;
      bar.value = pct;
      status.textContent = pct + "% · " + formatBytes(e.loaded) + " of " + formatBytes(e.total) +
        (rate ? " · " + formatBytes(rate) + "/s" : "");
    });
    xhr.upload.addEventListener("load", function () {
      status.textContent = "Storing and checking the file…";
    });
    xhr.addEventListener("load", function () {
      if (xhr.status >= 200 && xhr.status < 300 && xhr.responseURL && xhr.responseURL.indexOf("/models/upload/") === -1) {
        window.location.assign(xhr.responseURL);
        return;
      }
      // The server answered with the form and its errors: show them in place.
      var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var fresh = doc.getElementById(form.id);
      if (fresh) {
        form.innerHTML = fresh.innerHTML;
      } else {
        box.hidden = false;
        status.textContent = "The upload failed (HTTP " + xhr.status + ").";
        button.disabled = false;
      }
    });
    xhr.addEventListener("error", function () {
      status.textContent = "The connection failed; nothing was stored. Try again.";
      button.disabled = false;
    });
    xhr.open("POST", form.action || window.location.href);
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    xhr.send(new FormData(form));
  });

  function formatBytes(n) {
    var units = ["B", "KB", "MB", "GB", "TB"];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : n) + " " + units[i];
  }

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
