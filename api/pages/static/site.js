/* Kim Long land records: small progressive enhancements. Every page works without this
   file (forms post, links navigate); with it, a survey file can be dropped on the page and
   its upload shows progress, and lists of findings get a "select all" box. No inline
   script anywhere: the pages run under a Content-Security-Policy of 'self'. */
(function () {
  "use strict";

  function onReady(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }

  // "Go back" links on error pages: the previous page when there is one.
  function backLinks() {
    document.querySelectorAll("a[data-back]").forEach(function (a) {
      a.addEventListener("click", function (e) {
        if (window.history.length > 1) { e.preventDefault(); window.history.back(); }
      });
    });
  }

  // A file dropped on the drop zone becomes the form's file; the upload then runs with
  // XMLHttpRequest so that its progress shows, and the browser follows the answer.
  function uploads() {
    document.querySelectorAll("form[data-upload]").forEach(function (form) {
      var input = form.querySelector("input[type=file]");
      var zone = form.querySelector(".dropzone");
      var bar = form.querySelector("progress");
      var status = form.querySelector("[data-upload-status]");
      var chosen = form.querySelector("[data-file-name]");
      if (!input) { return; }
      function show() {
        if (chosen) { chosen.textContent = input.files.length ? input.files[0].name : ""; }
      }
      input.addEventListener("change", show);
      if (zone) {
        ["dragenter", "dragover"].forEach(function (type) {
          zone.addEventListener(type, function (e) { e.preventDefault(); zone.classList.add("over"); });
        });
        ["dragleave", "drop"].forEach(function (type) {
          zone.addEventListener(type, function (e) { e.preventDefault(); zone.classList.remove("over"); });
        });
        zone.addEventListener("drop", function (e) {
          if (e.dataTransfer && e.dataTransfer.files.length) {
            input.files = e.dataTransfer.files;
            show();
          }
        });
      }
      form.addEventListener("submit", function (e) {
        if (!window.XMLHttpRequest || !window.FormData) { return; }
        e.preventDefault();
        var xhr = new XMLHttpRequest();
        var button = form.querySelector("button[type=submit]");
        if (button) { button.disabled = true; }
        if (bar) { bar.hidden = false; bar.value = 0; }
        xhr.upload.addEventListener("progress", function (ev) {
          if (ev.lengthComputable && bar) {
            bar.max = ev.total;
            bar.value = ev.loaded;
            if (status) { status.textContent = Math.round(100 * ev.loaded / ev.total) + "%"; }
          }
        });
        xhr.addEventListener("load", function () {
          if (xhr.status < 400 && xhr.responseURL) {
            window.location.assign(xhr.responseURL);
            return;
          }
          // A refusal is a page: show its message in place of this one's main part.
          var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
          var main = doc.querySelector("main");
          if (main) { document.querySelector("main").innerHTML = main.innerHTML; }
          if (button) { button.disabled = false; }
        });
        xhr.addEventListener("error", function () {
          if (status) { status.textContent = form.getAttribute("data-network-error") || "!"; }
          if (button) { button.disabled = false; }
        });
        xhr.open("POST", form.action);
        xhr.send(new FormData(form));
      });
    });
  }

  // "Select all" for a list of checkboxes (findings to override at once).
  function selectAll() {
    document.querySelectorAll("input[data-select-all]").forEach(function (box) {
      var scope = document.getElementById(box.getAttribute("data-select-all"));
      if (!scope) { return; }
      box.addEventListener("change", function () {
        scope.querySelectorAll("input[type=checkbox][name]").forEach(function (c) {
          if (!c.disabled) { c.checked = box.checked; }
        });
      });
    });
  }

  onReady(function () { backLinks(); uploads(); selectAll(); });
}());
