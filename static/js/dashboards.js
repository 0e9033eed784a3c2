// Charts for dashboards. Every chart has the same figures in a table on the page.
// Each canvas sits in a .dashboard-chart__canvas box whose height the stylesheet sets, and
// the chart fills it (maintainAspectRatio: false): on a phone the plot keeps its height
// rather than shrinking with the width.
(function () {
  if (typeof Chart === "undefined") return;
  var colours = ["#007f3b", "#00a499", "#ffb81c", "#ed8b00", "#d5281b", "#768692"];
  Chart.defaults.color = "#4c6272"; // NHS.UK secondary text colour (4.5:1 on the page)
  Chart.defaults.font.family = window.getComputedStyle(document.body).fontFamily;
  Chart.defaults.font.size = 14;

  function data(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  // "Mental health and community trusts" as lines of about 14 characters, so category
  // labels stay level and readable on a narrow chart.
  function wrap(label) {
    var lines = [];
    String(label).split(" ").forEach(function (word) {
      var last = lines.length - 1;
      if (last >= 0 && (lines[last] + " " + word).length <= 14) lines[last] += " " + word;
      else lines.push(word);
    });
    return lines;
  }

  var legend = { position: "bottom", labels: { boxWidth: 14, boxHeight: 14, padding: 12 } };

  var segments = data("segments-data");
  if (segments && document.getElementById("segments-chart")) {
    segments.datasets.forEach(function (set, i) { set.backgroundColor = colours[i]; });
    segments.labels = segments.labels.map(wrap);
    new Chart(document.getElementById("segments-chart"), {
      type: "bar",
      data: segments,
      options: {
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: legend },
        scales: {
          x: { stacked: true, ticks: { maxRotation: 0, autoSkip: false } },
          y: { stacked: true, beginAtZero: true, title: { display: true, text: "Trusts" } }
        }
      }
    });
  }

  var history = data("history-data");
  if (history && document.getElementById("history-chart")) {
    new Chart(document.getElementById("history-chart"), {
      type: "line",
      data: {
        labels: history.labels,
        datasets: [{ label: "Final segment", data: history.segments, borderColor: "#005eb8", backgroundColor: "#005eb8", stepped: true }]
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        layout: { padding: { left: 4, right: 24 } },
        plugins: { legend: legend },
        scales: {
          x: { ticks: { maxRotation: 0 } },
          y: { reverse: true, min: 1, max: 5, ticks: { stepSize: 1 }, title: { display: true, text: "Segment (1 is best)" } }
        }
      }
    });
  }

  // The average against the cut points over time (a lower average is better).
  if (history && history.cut_points && document.getElementById("average-chart")) {
    var cut = function (i) {
      return history.cut_points.map(function (c) { return c ? c[i] : null; });
    };
    var dashed = function (label, data, colour) {
      return { label: label, data: data, borderColor: colour, backgroundColor: colour, borderDash: [5, 4], pointRadius: 0, stepped: true };
    };
    new Chart(document.getElementById("average-chart"), {
      type: "line",
      data: {
        labels: history.labels,
        datasets: [
          { label: "Average score", data: history.averages, borderColor: "#005eb8", backgroundColor: "#005eb8" },
          dashed("T1 (segment 1 up to here)", cut(0), "#007f3b"),
          dashed("T2", cut(1), "#768692"),
          dashed("T3 (segment 4 above)", cut(2), "#d5281b")
        ]
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        layout: { padding: { left: 4, right: 24 } },
        plugins: { legend: legend },
        scales: {
          x: { ticks: { maxRotation: 0 } },
          y: { reverse: true, title: { display: true, text: "Average score (lower is better)" } }
        }
      }
    });
  }
})();
