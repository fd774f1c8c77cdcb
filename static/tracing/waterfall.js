// The task page's waterfall grows while the task runs: the server pushes one small
// "spans added" message per step over a WebSocket, and this fetches the new rows (rendered
// and escaped by the server) and appends them, then redraws every bar on the new time axis.
(function () {
  "use strict";
  var RETRY_MS = 3000;
  var FORBIDDEN = 4403;
  var fetching = false;
  var again = false;
  var againFromStart = false;

  function section() { return document.getElementById("waterfall"); }

  function rescale(sec) {
    var rows = sec.querySelectorAll("tr.span-row");
    var total = 1;
    rows.forEach(function (row) {
      total = Math.max(total, parseFloat(row.dataset.offsetMs) + parseFloat(row.dataset.durationMs));
    });
    rows.forEach(function (row) {
      var bar = row.querySelector(".bar");
      if (!bar) return;
      var left = Math.min(Math.max(100 * parseFloat(row.dataset.offsetMs) / total, 0), 100);
      bar.style.marginLeft = left.toFixed(2) + "%";
      bar.style.width = Math.max(100 * parseFloat(row.dataset.durationMs) / total, 0.5).toFixed(2) + "%";
    });
  }

  // Each new row goes in start order (a span can start before the last one shown: the task's
  // root span starts first and is written last).
  function append(sec, html) {
    var body = sec.querySelector("tbody");
    var holder = document.createElement("template");
    holder.innerHTML = "<table><tbody>" + html + "</tbody></table>";
    var added = 0;
    holder.content.querySelectorAll("tr.span-row").forEach(function (row) {
      var id = row.dataset.spanId;
      if (body.querySelector('tr.span-row[data-span-id="' + CSS.escape(id) + '"]')) return;
      var payloads = holder.content.querySelector('tr[data-payloads-of="' + CSS.escape(id) + '"]');
      var offset = parseFloat(row.dataset.offsetMs);
      var before = null;
      body.querySelectorAll("tr.span-row").forEach(function (shown) {
        if (!before && parseFloat(shown.dataset.offsetMs) > offset) before = shown;
      });
      body.insertBefore(row, before);
      if (payloads) body.insertBefore(payloads, before);
      added += 1;
    });
    if (added) {
      var empty = body.querySelector("tr.empty-row");
      if (empty) empty.remove();
      rescale(sec);
      sec.dataset.appended = String(parseInt(sec.dataset.appended || "0", 10) + added);
    }
  }

  // New rows: those after the last one shown, or (`fromStart`, once the task has ended) the
  // trace's first page again, for the root span that starts before every other.
  function fetchNew(fromStart) {
    var sec = section();
    // On an earlier page of a long trace, new spans belong to a later page.
    if (!sec || sec.dataset.hasNext === "true") return;
    if (fromStart === true) againFromStart = true;
    if (fetching) { again = true; return; }
    fetching = true;
    var rows = sec.querySelectorAll("tr.span-row");
    var last = rows.length && !againFromStart ? rows[rows.length - 1].dataset.spanId : "";
    againFromStart = false;
    var url = sec.dataset.rowsUrl + (last ? "?after=" + encodeURIComponent(last) : "");
    fetch(url, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) return null;
        return response.text().then(function (html) {
          append(section() || sec, html);
          if (response.headers.get("X-Trace-Next")) again = true;
        });
      })
      .catch(function () { /* the next push or poll tick catches up */ })
      .finally(function () {
        fetching = false;
        if (again) { again = false; fetchNew(); }
      });
  }

  function connect(path) {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + path);
    var finished = false;
    socket.onopen = function () { document.documentElement.dataset.traceSocket = "open"; };
    socket.onmessage = function (message) {
      var data = JSON.parse(message.data);
      if (data.event !== "spans_added") return;
      fetchNew(data.finished === true);
      // The task's summary (console.js) follows the same push.
      document.dispatchEvent(new CustomEvent("trace:pushed"));
      if (data.finished) { finished = true; socket.close(); }
    };
    socket.onclose = function (event) {
      document.documentElement.dataset.traceSocket = "closed";
      if (!finished && event.code !== FORBIDDEN) setTimeout(function () { connect(path); }, RETRY_MS);
    };
  }

  // The server's bar positions arrive as data attributes: the Content-Security-Policy refuses
  // style attributes in markup, not styles set from a script.
  function draw(sec) {
    sec.querySelectorAll(".bar[data-left]").forEach(function (bar) {
      bar.style.marginLeft = bar.dataset.left + "%";
      bar.style.width = bar.dataset.width + "%";
    });
  }

  // While the socket is down, the task page's poll (console.js) asks for new rows instead.
  document.addEventListener("console:tick", function () { fetchNew(false); });
  document.addEventListener("console:finished", function () { fetchNew(true); });

  document.addEventListener("DOMContentLoaded", function () {
    var sec = section();
    if (sec) draw(sec);
    if (!sec || sec.dataset.final === "true" || !("WebSocket" in window)) return;
    connect(sec.dataset.socketPath);
  });
})();
