// The upload form (templates/registry/model_upload.html), in two steps.
//
// 1. The metadata alone is posted with validate_only=1: the server runs the upload's own form
//    and service checks (ModelUploadView, services.model_upload_check) and answers 200, or the
//    form with its errors. Nothing of the file is sent yet.
// 2. Only then is the whole form sent, by XHR, with a progress bar.
//
// When the server refuses (at either step), its form is shown in place and the chosen file is
// kept: a file input cannot be filled again once a page has loaded, so the page never reloads.
// Without JavaScript the form posts as it always did.
(function () {
  "use strict";

  var form = document.querySelector("form[data-upload]");
  if (!form || !window.fetch || !window.FormData || !window.XMLHttpRequest || !window.DOMParser) return;
  var action = form.getAttribute("action") || window.location.href;

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

  // The server's form with its errors, in place of ours, keeping our file input (and its file).
  function showForm(html, status) {
    var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(form.id);
    if (!fresh) {
      say("The server refused the upload (HTTP " + status + ").", false);
      return;
    }
    var chosen = form.querySelector("input[type=file]");
    form.innerHTML = fresh.innerHTML;
    var placeholder = form.querySelector("input[type=file][name='" + chosen.name + "']");
    if (placeholder) placeholder.replaceWith(chosen);
    var p = parts();
    p.box.hidden = true;
    p.button.disabled = false;
    var first = form.querySelector(".field--error input, .field--error textarea, .field--error select");
    if (first) first.focus();
  }

  function formatBytes(n) {
    var units = ["B", "KB", "MB", "GB", "TB"];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : n) + " " + units[i];
  }

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

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!form.reportValidity()) return;
    say("Checking the details…", true);
    var metadata = new FormData(form);
    metadata.delete("file");
    metadata.append("validate_only", "1");
    fetch(action, {
      method: "POST",
      body: metadata,
      credentials: "same-origin",
      headers: { "X-Requested-With": "XMLHttpRequest" },
    }).then(function (response) {
      var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
      if (response.ok && json) {
        sendAll();
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
