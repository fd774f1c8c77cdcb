// Two small behaviours, no framework: a running task's page refreshes itself, and the
// new-token box has a copy button. Live WebSocket updates replace the polling later.
(function () {
  "use strict";
  var POLL_MS = 2000;

  function pollTask() {
    var body = document.querySelector("[data-live-url]");
    if (!body || body.dataset.final === "true") return;
    function tick() {
      var current = document.querySelector("[data-live-url]");
      if (!current || current.dataset.final === "true") return;
      fetch(current.dataset.liveUrl, { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (html === null) return;
          var next = document.createElement("template");
          next.innerHTML = html.trim();
          var fresh = next.content.firstElementChild;
          // Swap only when something changed (status, steps, spans), so open <details>
          // stay open. The fragment is rendered and escaped by the server.
          if (fresh && fresh.dataset.version !== current.dataset.version) {
            current.replaceWith(fresh);
            fresh.dispatchEvent(new CustomEvent("console:replaced", { bubbles: true }));
          }
        })
        .catch(function () { /* a network blip: the next tick tries again */ })
        .finally(function () { setTimeout(tick, POLL_MS); });
    }
    setTimeout(tick, POLL_MS);
  }

  function copyButtons() {
    document.querySelectorAll("[data-copy-from]").forEach(function (button) {
      button.addEventListener("click", function () {
        var field = document.querySelector(button.dataset.copyFrom);
        field.select();
        navigator.clipboard.writeText(field.value).then(function () { button.textContent = "Copied"; });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    pollTask();
    copyButtons();
  });
})();
