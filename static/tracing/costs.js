// Draws the cost page's charts from the JSON the server embedded (json_script: escaped).
(function () {
  "use strict";
  function data(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.Chart) return;
    var spend = data("spend-data");
    var canvas = document.getElementById("spend-chart");
    if (spend && canvas) {
      var datasets = Object.keys(spend.lines).map(function (group) {
        return { label: group, data: spend.lines[group], stack: "spend" };
      });
      new window.Chart(canvas, {
        type: "bar",
        data: { labels: spend.labels, datasets: datasets },
        options: {
          animation: false,
          maintainAspectRatio: false,
          scales: { x: { stacked: true }, y: { stacked: true, title: { display: true, text: "USD" } } }
        }
      });
    }
    var bands = data("sessions-data");
    var sessions = document.getElementById("sessions-chart");
    if (bands && sessions) {
      new window.Chart(sessions, {
        type: "bar",
        data: {
          labels: bands.map(function (band) { return band[0]; }),
          datasets: [{ label: "sessions", data: bands.map(function (band) { return band[1]; }) }]
        },
        options: { animation: false, maintainAspectRatio: false, plugins: { legend: { display: false } } }
      });
    }
  });
})();
