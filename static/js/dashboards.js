// Charts for dashboards. Every chart has the same figures in a table on the page.
(function () {
  if (typeof Chart === "undefined") return;
  var colours = ["#007f3b", "#00a499", "#ffb81c", "#ed8b00", "#d5281b", "#768692"];
  function data(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }
  var segments = data("segments-data");
  if (segments && document.getElementById("segments-chart")) {
    segments.datasets.forEach(function (set, i) { set.backgroundColor = colours[i]; });
    new Chart(document.getElementById("segments-chart"), {
      type: "bar",
      data: segments,
      options: { responsive: true, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } }
    });
  }
  var history = data("history-data");
  if (history && document.getElementById("history-chart")) {
    new Chart(document.getElementById("history-chart"), {
      type: "line",
      data: { labels: history.labels, datasets: [{ label: "Final segment", data: history.segments, borderColor: "#005eb8", stepped: true }] },
      options: { responsive: true, scales: { y: { reverse: true, min: 1, max: 5, ticks: { stepSize: 1 } } } }
    });
  }
})();
