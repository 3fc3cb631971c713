// The upload form (templates/registry/model_upload.html), in two steps.
//
// 1. The metadata alone is posted with validate_only=1: the server runs the upload's own form
//    and service checks (ModelUploadView, services.model_upload_check) and answers 200, or the
//    form with its errors. Nothing of the files is sent yet.
// 2. Only then are the files sent, with one progress bar:
//    - one file chosen in the form's own file field: the whole form, by XHR (as without script);
//    - a folder or several files: through the upload session API (docs/storage.md, "Upload
//      sessions"), with the page's session cookie and CSRF token as the API's session
//      authentication wants. Each file's SHA-256 is computed here first; the server answers which
//      blobs it still needs, and each is sent in its numbered parts (File.slice, never the whole
//      file in memory). A dropped part is retried from what the server acknowledged; pressing
//      Upload again resumes the same session (kept in localStorage, so a reload resumes too).
//
// When the server refuses (at either step), its form is shown in place and the chosen files are
// kept: a file input cannot be filled again once a page has loaded, so the page never reloads.
// Without JavaScript the form posts its one file as it always did.
(function () {
  "use strict";

  var form = document.querySelector("form[data-upload]");
  if (!form || !window.fetch || !window.FormData || !window.XMLHttpRequest || !window.DOMParser) return;
  var action = form.getAttribute("action") || window.location.href;

  // crypto.subtle hashes a whole ArrayBuffer at once (the file in memory), so it is used only up
  // to this size; larger files go through js-sha256 (static/vendor) a slice at a time, about a
  // tenth of its speed. crypto.subtle is also missing outside a secure context (plain HTTP to a
  // host other than localhost): js-sha256 then does all. The form's data-subtle-max-bytes, when
  // present, overrides the size (the browser tests use it to take the slicing path).
  var SUBTLE_MAX_BYTES = 256 * 1024 * 1024;
  var HASH_SLICE_BYTES = 8 * 1024 * 1024;
  var PARALLEL_BLOBS = 3;
  var RETRIES = 5; // per part, after a network error or a 5xx, with growing pauses
  var hashes = new WeakMap(); // File -> its SHA-256, so Upload pressed again does not hash again

  function parts() {
    var box = form.querySelector("[data-upload-progress]");
    return {
      box: box,
      bar: box.querySelector("progress"),
      status: box.querySelector("[data-upload-status]"),
      button: form.querySelector("button[type=submit]"),
    };
  }

  function say(text, busy) {
    var p = parts();
    p.box.hidden = false;
    p.status.textContent = text;
    p.button.disabled = !!busy;
  }

  function formatBytes(n) {
    var units = ["B", "KB", "MB", "GB", "TB"];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : n) + " " + units[i];
  }

  // ---- Choosing: one file (the form's field), or a folder / several files (ours) ----

  var many = form.querySelector("[data-upload-many]");

  function singleInput() { return form.querySelector("input[type=file][name=file]"); }

  // The files of the folder or several-files input, with their paths in the version: inside a
  // folder, its own name is left out (the folder is the version), as `mai models upload DIR` does.
  function chosenMany() {
    var folder = many.querySelector("[data-upload-folder]");
    var loose = many.querySelector("[data-upload-files]");
    var list = [];
    Array.prototype.forEach.call(folder.files, function (file) {
      var path = (file.webkitRelativePath || file.name).split("/").slice(1).join("/") || file.name;
      list.push({ file: file, path: path.normalize("NFC") });
    });
    Array.prototype.forEach.call(loose.files, function (file) {
      list.push({ file: file, path: file.name.normalize("NFC") });
    });
    return list;
  }

  function describeChoice() {
    var list = chosenMany();
    var single = singleInput();
    if (single) single.required = list.length === 0; // either kind of choice will do
    var total = list.reduce(function (sum, item) { return sum + item.file.size; }, 0);
    many.querySelector("[data-upload-chosen]").textContent = list.length
      ? list.length + " file" + (list.length === 1 ? "" : "s") + " chosen, " + formatBytes(total) + "."
      : "";
  }

  // One kind of choice at a time: choosing in one input clears the others.
  function placeMany() {
    var single = singleInput();
    var field = single && single.closest(".field");
    if (field && field.nextElementSibling !== many) field.after(many);
    many.hidden = false;
    describeChoice();
  }

  form.addEventListener("change", function (event) {
    var input = event.target;
    if (input.type !== "file") return;
    form.querySelectorAll("input[type=file]").forEach(function (other) {
      if (other !== input && input.files.length) other.value = "";
    });
    describeChoice();
  });
  placeMany();

  // The server's form with its errors, in place of ours, keeping our file inputs (and their files).
  function showForm(html, status) {
    var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(form.id);
    if (!fresh) {
      say("The server refused the upload (HTTP " + status + ").", false);
      return;
    }
    var chosen = singleInput();
    many.remove();
    form.innerHTML = fresh.innerHTML;
    var placeholder = singleInput();
    if (placeholder && chosen) placeholder.replaceWith(chosen);
    var theirs = form.querySelector("[data-upload-many]");
    if (theirs) theirs.remove();
    placeMany();
    var p = parts();
    p.box.hidden = true;
    p.button.disabled = false;
    var first = form.querySelector(".field--error input, .field--error textarea, .field--error select");
    if (first) first.focus();
  }

  // ---- One file: the whole form by XHR ----

  function sendAll() {
    var p = parts();
    var xhr = new XMLHttpRequest();
    var started = Date.now();
    p.bar.value = 0;
    say("Sending the file…", true);
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      var pct = Math.floor((e.loaded / e.total) * 100);
      var seconds = (Date.now() - started) / 1000;
      var rate = seconds > 0 ? e.loaded / seconds : 0;
      p.bar.value = pct;
      p.status.textContent = pct + "% · " + formatBytes(e.loaded) + " of " + formatBytes(e.total) +
        (rate ? " · " + formatBytes(rate) + "/s" : "");
    });
    xhr.upload.addEventListener("load", function () {
      p.status.textContent = "Storing and checking the file…";
    });
    xhr.addEventListener("load", function () {
      // Success redirects to the model's page; the form itself answers only refusals.
      if (xhr.status >= 200 && xhr.status < 300 && xhr.responseURL && xhr.responseURL.indexOf("/models/upload/") === -1) {
        window.location.assign(xhr.responseURL);
        return;
      }
      showForm(xhr.responseText, xhr.status);
    });
    xhr.addEventListener("error", function () {
      say("The connection failed; nothing was stored. Try again.", false);
    });
    xhr.open("POST", action);
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    xhr.send(new FormData(form));
  }

  // ---- A folder or several files: the upload session API ----

  function hex(buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (b) {
      return (b < 16 ? "0" : "") + b.toString(16);
    }).join("");
  }

  async function sha256Of(file, onBytes) {
    if (hashes.has(file)) {
      onBytes(file.size);
      return hashes.get(file);
    }
    var digest;
    var subtleMax = form.dataset.subtleMaxBytes ? Number(form.dataset.subtleMaxBytes) : SUBTLE_MAX_BYTES;
    if (window.crypto && crypto.subtle && file.size <= subtleMax) {
      digest = hex(await crypto.subtle.digest("SHA-256", await file.arrayBuffer()));
      onBytes(file.size);
    } else {
      var hasher = window.sha256.create();
      for (var offset = 0; offset < file.size; offset += HASH_SLICE_BYTES) {
        var slice = await file.slice(offset, offset + HASH_SLICE_BYTES).arrayBuffer();
        hasher.update(slice);
        onBytes(slice.byteLength);
      }
      digest = hasher.hex();
    }
    hashes.set(file, digest);
    return digest;
  }

  function value(name) {
    var el = form.elements[name];
    return el ? el.value.trim() : "";
  }

  function jsonObject(name) {
    return value(name) ? JSON.parse(value(name)) : {}; // the server's form check passed it already
  }

  // The form's fields as POST uploads/ names them (the names of POST models/).
  function metadata(files) {
    var body = {
      project_id: Number(value("project")),
      name: value("name"),
      hyperparameters: jsonObject("hyperparameters"),
      parameters: jsonObject("parameters"),
      metrics: jsonObject("metrics"),
      tags: value("tags").split(",").map(function (t) { return t.trim(); }).filter(Boolean),
      private: !!(form.elements.private && form.elements.private.checked),
      files: files,
    };
    var text = {
      dataset_name: "dataset_name",
      dataset_description: "dataset_description",
      git_active_branch: "git_branch",
      git_commit_hash: "git_commit",
      git_remote_url: "git_remote_url",
    };
    Object.keys(text).forEach(function (key) {
      if (value(text[key])) body[key] = value(text[key]);
    });
    var dirty = value("git_dirty"); // Django's NullBooleanSelect: "unknown", "true", "false"
    if (dirty === "true" || dirty === "false") body.git_dirty = dirty === "true";
    return body;
  }

  function csrfToken() {
    var el = form.querySelector("input[name=csrfmiddlewaretoken]");
    return el ? el.value : "";
  }

  function pathOf(url) {
    return new URL(url, window.location.href).pathname; // the API's links are absolute
  }

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.message) || "The server answered HTTP " + status + ".");
      this.status = status;
      this.body = body || {};
    }
  }

  async function api(method, url, body) {
    var response;
    // 503 is the server saying "try again shortly" (the database busy or restarting: Retry-After).
    for (var attempt = 0; attempt <= RETRIES; attempt++) {
      if (attempt) await pause(1000 * Math.pow(2, attempt - 1));
      response = await fetch(url, {
        method: method,
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (response.status !== 503) break;
    }
    var json = null;
    try { json = await response.json(); } catch (e) { json = null; }
    if (!response.ok) throw new ApiError(response.status, json);
    return { status: response.status, json: json };
  }

  // PUT one part by XHR, for its upload progress (fetch has none); resolves with the HTTP answer.
  function putPart(url, slice, onSent) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open("PUT", url);
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      xhr.setRequestHeader("X-CSRFToken", csrfToken());
      xhr.upload.addEventListener("progress", function (e) { onSent(e.loaded); });
      xhr.addEventListener("load", function () {
        var json = null;
        try { json = JSON.parse(xhr.responseText); } catch (e) { json = null; }
        resolve({ status: xhr.status, json: json });
      });
      xhr.addEventListener("error", function () { reject(new Error("The connection failed.")); });
      xhr.send(slice); // a slice of the File: the browser reads it from disk as it goes
    });
  }

  function pause(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  // A session is resumed only for the very same request: the same files and the same metadata
  // (a session keeps the metadata it was opened with, so a corrected field needs a new one).
  function resumeKey(body) {
    return "maisie-upload:" + window.sha256(JSON.stringify(body));
  }

  async function openSession(body, key) {
    var kept = window.localStorage && localStorage.getItem(key);
    if (kept) {
      try {
        return (await api("GET", kept)).json;
      } catch (error) {
        localStorage.removeItem(key); // expired, completed or aborted: open a new one
      }
    }
    var answer = await api("POST", form.dataset.uploadsUrl, body);
    if (answer.status === 201 && window.localStorage) localStorage.setItem(key, pathOf(answer.json.data._links.self));
    return answer.json;
  }

  // Sends one needed blob from what the server has acknowledged; `progress(sha, bytes)` keeps
  // the bar. Returns when the server has every byte of it.
  async function sendBlob(session, blob, file, progress) {
    var base = pathOf(session._links.self) + "blobs/" + blob.sha256 + "/parts/";
    var received = blob.received;
    var failures = 0;
    progress(blob.sha256, received);
    while (received < blob.size || (blob.size === 0 && !blob.done)) {
      var n = Math.floor(received / blob.part_size);
      var start = n * blob.part_size;
      var end = Math.min(blob.size, start + blob.part_size);
      var answer;
      try {
        answer = await putPart(base + n, file.slice(start, end), function (sent) {
          progress(blob.sha256, start + sent);
        });
      } catch (error) {
        answer = { status: 0, json: null };
      }
      var data = answer.json && (answer.json.data || answer.json);
      if (answer.status === 200 && data) {
        received = data.received;
        blob.done = data.complete;
        failures = 0;
      } else if (answer.status === 409 && data && typeof data.received === "number") {
        received = data.received; // the server has more or less than we thought: go on from there
      } else if (answer.status === 0 || answer.status >= 500) {
        if (++failures > RETRIES) throw new Error("The connection keeps failing.");
        await pause(1000 * Math.pow(2, failures - 1));
        received = await acknowledged(session, blob, received);
      } else {
        throw new ApiError(answer.status, answer.json);
      }
      progress(blob.sha256, received);
    }
  }

  // What the server holds of a blob, asked again after a failed part.
  async function acknowledged(session, blob, fallback) {
    try {
      var fresh = (await api("GET", pathOf(session._links.self))).json.data;
      var mine = fresh.blobs.filter(function (b) { return b.sha256 === blob.sha256; })[0];
      return mine ? mine.received : blob.size;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) throw error; // the session is gone
      return fallback;
    }
  }

  async function sendMany(list) {
    var p = parts();
    p.bar.value = 0;
    var totalBytes = list.reduce(function (sum, item) { return sum + item.file.size; }, 0);
    var hashed = 0;
    say("Computing SHA-256 of " + list.length + " files…", true);
    var files = [];
    var bySha = {};
    for (var i = 0; i < list.length; i++) {
      var sha = await sha256Of(list[i].file, function (bytes) {
        hashed += bytes;
        p.bar.value = totalBytes ? Math.floor((hashed / totalBytes) * 100) : 100;
        p.status.textContent = "Computing SHA-256: " + formatBytes(hashed) + " of " + formatBytes(totalBytes) + "…";
      });
      files.push({ path: list[i].path, size: list[i].file.size, sha256: sha });
      bySha[sha] = list[i].file;
    }

    var body = metadata(files);
    var key = resumeKey(body);
    say("Checking the files with the server…", true);
    var opened = await openSession(body, key);
    if (opened.created === false) {
      say("This registered model already has these files: opening that version.", true);
      window.location.assign(form.dataset.modelUrl.replace(/0\/$/, opened.data.id + "/"));
      return;
    }
    var session = opened.data;
    var needed = session.blobs;
    var toSend = needed.reduce(function (sum, b) { return sum + b.size; }, 0);
    var skipped = files.length - files.filter(function (f) {
      return needed.some(function (b) { return b.sha256 === f.sha256; });
    }).length;
    var sent = {};
    var started = Date.now();
    var firstSent = null;
    function progress(sha, bytes) {
      sent[sha] = bytes;
      var done = Object.keys(sent).reduce(function (sum, k) { return sum + sent[k]; }, 0);
      if (firstSent === null) firstSent = done; // resumed bytes do not count towards the rate
      var seconds = (Date.now() - started) / 1000;
      var rate = seconds > 0.5 ? (done - firstSent) / seconds : 0;
      var pct = toSend ? Math.floor((done / toSend) * 100) : 100;
      p.bar.value = pct;
      p.status.textContent = pct + "% · " + formatBytes(done) + " of " + formatBytes(toSend) +
        (rate ? " · " + formatBytes(rate) + "/s" : "") +
        (skipped ? " · " + skipped + " file" + (skipped === 1 ? "" : "s") + " already stored" : "");
    }
    progress("", 0);

    var queue = needed.slice();
    async function worker() {
      while (queue.length) {
        var blob = queue.shift();
        await sendBlob(session, blob, bySha[blob.sha256], progress);
      }
    }
    var workers = [];
    for (var w = 0; w < Math.min(PARALLEL_BLOBS, queue.length); w++) workers.push(worker());
    await Promise.all(workers);

    p.status.textContent = "Creating the version…";
    var done = (await api("POST", pathOf(session._links.complete))).json;
    if (window.localStorage) localStorage.removeItem(key);
    window.location.assign(form.dataset.modelUrl.replace(/0\/$/, done.data.id + "/"));
  }

  function refusal(error) {
    if (!(error instanceof ApiError)) return error.message || String(error);
    var text = error.message;
    var errors = error.body.errors;
    if (errors && typeof errors === "object") {
      var details = [];
      Object.keys(errors).forEach(function (field) {
        [].concat(errors[field]).forEach(function (m) {
          details.push(typeof m === "string" ? m : JSON.stringify(m));
        });
      });
      if (details.length && details.join(" ") !== text) text += " " + details.join(" ");
    }
    return text;
  }

  function startMany(list) {
    sendMany(list).catch(function (error) {
      // A refusal of the request itself (400, 403, 413) will not change by sending it again; a
      // broken connection, a server error or blobs still missing (409 on complete) resume.
      var resumable = !(error instanceof ApiError) || error.status >= 500 || error.status === 409;
      say(
        (resumable ? "The upload stopped: " : "The server refused the upload: ") + refusal(error) +
          (resumable ? " Press Upload to go on from where it stopped." : ""),
        false,
      );
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!form.reportValidity()) return;
    var list = chosenMany();
    if (list.length && !window.sha256) {
      say("The page's hashing script did not load; reload the page.", false);
      return;
    }
    say("Checking the details…", true);
    var check = new FormData(form);
    check.delete("file");
    check.append("validate_only", "1");
    fetch(action, {
      method: "POST",
      body: check,
      credentials: "same-origin",
      headers: { "X-Requested-With": "XMLHttpRequest" },
    }).then(function (response) {
      var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
      if (response.ok && json) {
        if (list.length) startMany(list);
        else sendAll();
      } else if (response.ok) {
        form.submit(); // not the answer this script knows (signed out?): let the browser post the form
      } else {
        return response.text().then(function (html) { showForm(html, response.status); });
      }
    }).catch(function () {
      say("The connection failed; nothing was sent. Try again.", false);
    });
  });
})();
