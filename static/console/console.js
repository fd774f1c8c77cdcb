// Small behaviours, no framework: a live part of a page (a running task's summary, an active
// rollout's numbers) keeps itself current, the new-token box has a copy button, and a form with
// data-confirm asks before it submits.
(function () {
  "use strict";
  var POLL_MS = 2000;

  function socketOpen() { return document.documentElement.dataset.traceSocket === "open"; }

  // Fetch the task's summary (status, usage, result, steps; not the spans) and swap it in if
  // it changed. The waterfall grows by itself (waterfall.js).
  function refresh() {
    var current = document.querySelector("[data-live-url]");
    if (!current || current.dataset.final === "true") return Promise.resolve();
    return fetch(current.dataset.liveUrl, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var next = document.createElement("template");
        next.innerHTML = html.trim();
        var fresh = next.content.firstElementChild;
        // Swap only when something changed (status, steps, usage), so open <details>
        // stay open. The fragment is rendered and escaped by the server.
        if (fresh && fresh.dataset.version !== current.dataset.version) {
          current.replaceWith(fresh);
          // The task ended: the waterfall fetches what it has not shown (its root span).
          if (fresh.dataset.final === "true") document.dispatchEvent(new CustomEvent("console:finished"));
        }
      })
      .catch(function () { /* a network blip: the next push or tick tries again */ });
  }

  // Polls only while the trace socket is down: while it is up, each push refreshes instead.
  function pollTask() {
    var body = document.querySelector("[data-live-url]");
    if (!body || body.dataset.final === "true") return;
    function tick() {
      var current = document.querySelector("[data-live-url]");
      if (!current || current.dataset.final === "true") return;
      if (socketOpen()) { setTimeout(tick, POLL_MS); return; }
      document.dispatchEvent(new CustomEvent("console:tick"));
      refresh().finally(function () { setTimeout(tick, POLL_MS); });
    }
    setTimeout(tick, POLL_MS);
  }

  document.addEventListener("trace:pushed", refresh);

  function copyButtons() {
    document.querySelectorAll("[data-copy-from]").forEach(function (button) {
      button.addEventListener("click", function () {
        var field = document.querySelector(button.dataset.copyFrom);
        field.select();
        navigator.clipboard.writeText(field.value).then(function () { button.textContent = "Copied"; });
      });
    });
  }

  // Delegated, so that forms inside a fragment swapped in later ask too (CSP forbids inline JS).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () {
    pollTask();
    copyButtons();
  });
})();
