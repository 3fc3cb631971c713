// Completion of fields and keys in the query box (#q): the word at the cursor is completed from
// the key catalogue (registry/web/views/completion.py), whose URL the script tag carries in
// data-keys-url. A small listbox under the box: arrow keys move, Enter or Tab picks, Escape
// closes; the box is an ARIA combobox (aria-autocomplete="list", aria-activedescendant).
// A <datalist> would complete the whole value, not the word at the cursor, so it does not fit.
(function () {
  "use strict";

  var script = document.currentScript;
  var input = document.getElementById("q");
  if (!script || !input || !script.dataset.keysUrl) return;

  var MAX_SHOWN = 12;
  // What ends a word of the query: spaces, operators, parentheses, commas and quotes.
  var BOUNDARY = /[\s()=<>!,"']/;
  var ALIASES = {}; // "m" -> "metrics", filled from the fields' list
  var entries = null; // [{name, kind}], fetched on first use
  var loading = null;
  var options = [];
  var active = -1;
  var word = null; // {start, end} of the word being completed

  var list = document.createElement("ul");
  list.id = "q-complete";
  list.className = "query-complete";
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", "Fields and keys");
  list.hidden = true;
  Object.assign(list.style, {
    position: "absolute", zIndex: "20", left: "0", top: "100%", margin: "2px 0 0", padding: "2px 0",
    listStyle: "none", background: "var(--bg, #fff)", border: "1px solid var(--border, #ccc)",
    borderRadius: "4px", boxShadow: "0 4px 12px rgba(0,0,0,.12)", maxHeight: "18rem", overflowY: "auto",
    minWidth: "16rem", fontFamily: "var(--mono, monospace)", fontSize: ".9rem",
  });
  var box = input.parentNode;
  if (getComputedStyle(box).position === "static") box.style.position = "relative";
  box.appendChild(list);

  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-controls", list.id);
  input.setAttribute("aria-expanded", "false");

  function load() {
    if (!loading) {
      loading = fetch(script.dataset.keysUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { fields: [], keys: [] }; })
        .then(function (body) {
          // Every name of a JSON field leads to its long one, as keys are listed: m -> metrics.
          body.fields.forEach(function (field) {
            if (field.section) ALIASES[field.name.slice(0, -1).toLowerCase()] = field.section;
          });
          entries = body.fields.concat(body.keys);
        })
        .catch(function () { entries = []; });
    }
    return loading;
  }

  function currentWord() {
    var end = input.selectionStart;
    if (end !== input.selectionEnd) return null;
    var start = end;
    var value = input.value;
    while (start > 0 && !BOUNDARY.test(value.charAt(start - 1))) start--;
    // A word that goes on after the cursor is completed as a whole.
    var after = end;
    while (after < value.length && !BOUNDARY.test(value.charAt(after))) after++;
    return { start: start, end: after, text: value.slice(start, end) };
  }

  // The long form of a typed prefix: "m.acc" -> "metrics.acc", so it matches "metrics.accuracy".
  function expand(text) {
    var dot = text.indexOf(".");
    if (dot < 0) return text.toLowerCase();
    var section = ALIASES[text.slice(0, dot).toLowerCase()];
    return ((section || text.slice(0, dot)) + text.slice(dot)).toLowerCase();
  }

  function matches(text) {
    if (!entries || !text) return [];
    var wanted = expand(text);
    var typed = text.toLowerCase();
    var dot = wanted.indexOf(".");
    var section = dot > 0 ? wanted.slice(0, dot + 1) : "";
    var rest = wanted.slice(section.length);
    // Names that start with what was typed first, then those of the same field that contain it.
    var first = [], then = [];
    entries.forEach(function (entry) {
      var name = entry.name.toLowerCase();
      if (name === wanted || name === typed) return;
      if (name.indexOf(wanted) === 0 || name.indexOf(typed) === 0) first.push(entry);
      else if (rest && name.indexOf(section) === 0 && name.indexOf(rest, section.length) > 0) then.push(entry);
    });
    return first.concat(then).slice(0, MAX_SHOWN);
  }

  function render() {
    list.textContent = "";
    options.forEach(function (entry, index) {
      var item = document.createElement("li");
      item.id = "q-complete-" + index;
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", index === active ? "true" : "false");
      item.dataset.index = String(index);
      item.textContent = entry.name;
      Object.assign(item.style, {
        padding: "2px 8px", cursor: "pointer", whiteSpace: "nowrap",
        background: index === active ? "var(--accent-soft, #e6efff)" : "",
      });
      if (entry.kind && entry.kind !== "json") {
        var kind = document.createElement("span");
        kind.textContent = " " + entry.kind;
        kind.className = "muted small";
        kind.style.opacity = ".6";
        item.appendChild(kind);
      }
      list.appendChild(item);
    });
    var open = options.length > 0;
    list.hidden = !open;
    input.setAttribute("aria-expanded", open ? "true" : "false");
    if (open && active >= 0) {
      input.setAttribute("aria-activedescendant", "q-complete-" + active);
      list.children[active].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function close() {
    options = [];
    active = -1;
    word = null;
    render();
  }

  function update() {
    load().then(function () {
      var current = currentWord();
      if (!current || !current.text) return close();
      word = current;
      options = matches(current.text);
      active = options.length ? 0 : -1;
      render();
    });
  }

  function pick(index) {
    var entry = options[index];
    if (!entry || !word) return;
    var value = input.value;
    input.value = value.slice(0, word.start) + entry.name + value.slice(word.end);
    var caret = word.start + entry.name.length;
    input.setSelectionRange(caret, caret);
    close();
    input.focus();
    // A field prefix (`metrics.`) goes on to its keys.
    if (entry.kind === "json") update();
  }

  input.addEventListener("input", update);
  input.addEventListener("focus", function () { load(); });
  input.addEventListener("blur", function () { setTimeout(close, 150); });
  input.addEventListener("keydown", function (event) {
    if (list.hidden) {
      if (event.key === "ArrowDown" && event.altKey) update();
      return;
    }
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      var step = event.key === "ArrowDown" ? 1 : -1;
      active = (active + step + options.length) % options.length;
      render();
    } else if ((event.key === "Enter" || event.key === "Tab") && active >= 0) {
      event.preventDefault(); // Enter picks instead of submitting; Enter again submits
      pick(active);
    } else if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  });
  list.addEventListener("mousedown", function (event) {
    var item = event.target.closest("li[role=option]");
    if (!item) return;
    event.preventDefault(); // keep the focus in the box
    pick(Number(item.dataset.index));
  });
})();
