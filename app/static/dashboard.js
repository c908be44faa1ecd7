// The supervisors' dashboard: draws each chart from its canvas's data-chart attribute (the
// page's own figures, the same as the table under it) with the vendored Chart.js, again each
// time the live region brings new figures. No inline script: the CSP allows only files from
// this site.
(function () {
  "use strict";
  var lang = document.documentElement.lang || "vi";
  // Colours with at least 3:1 contrast against the white card (WCAG 1.4.11, graphics).
  var palette = ["#1d5fbf", "#a3221b", "#6b4fa0", "#1a6e35"];
  var named = { ok: "#1a6e35", warn: "#b35c00", late: "#a3221b" };

  function format(value, spec) {
    if (value === null || value === undefined) { return "—"; }
    var text = new Intl.NumberFormat(lang, { maximumFractionDigits: spec.integer ? 0 : 2 })
      .format(value);
    return spec.percent ? text + "%" : text;
  }

  // A long label on several lines, so a narrow screen never cuts it (Chart.js draws an array
  // of strings as lines).
  function wrap(label, width) {
    var lines = [], line = "";
    String(label).split(" ").forEach(function (word) {
      if (line && (line + " " + word).length > width) { lines.push(line); line = word; }
      else { line = line ? line + " " + word : word; }
    });
    lines.push(line);
    return lines.length > 1 ? lines : lines[0];
  }

  function draw(canvas) {
    var spec = JSON.parse(canvas.dataset.chart);
    var horizontal = !!spec.horizontal;
    var datasets = spec.datasets.map(function (d, i) {
      var colour = palette[i % palette.length];
      var colours = d.colors ? d.colors.map(function (c) { return named[c]; }) : colour;
      return { label: d.label, data: d.data, backgroundColor: colours, borderColor: colours,
               borderWidth: spec.type === "line" ? 3 : 0, pointRadius: 5, spanGaps: true,
               maxBarThickness: 38 };
    });
    var valueAxis = {
      beginAtZero: true, stacked: !!spec.stacked,
      max: spec.percent ? 100 : undefined,
      title: { display: true, text: spec.value_axis, color: "#1d2733", font: { size: 14 } },
      ticks: { color: "#1d2733", precision: spec.integer ? 0 : undefined,
               callback: function (v) { return format(v, spec); } },
      grid: { color: "#e3e8ef" }
    };
    var width = canvas.parentNode.clientWidth < 480 ? 16 : 30;
    var labels = spec.labels.map(function (l) { return wrap(l, width); });
    if (horizontal) {  // room for every bar and its label, however many lines it takes
      var lines = labels.reduce(function (n, l) { return n + (Array.isArray(l) ? l.length : 1); }, 0);
      var needed = Math.max(labels.length * 44, lines * 18 + 70);
      if (needed > canvas.parentNode.clientHeight) { canvas.parentNode.style.height = needed + "px"; }
    }
    var categoryAxis = { stacked: !!spec.stacked, offset: true,
                         ticks: { color: "#1d2733", font: { size: 13 }, autoSkip: false },
                         grid: { display: false } };
    /* global Chart */
    new Chart(canvas, {
      type: spec.type,
      data: { labels: labels, datasets: datasets },
      options: {
        indexAxis: horizontal ? "y" : "x",
        locale: lang,
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis },
        plugins: {
          legend: { display: datasets.length > 1,
                    labels: { color: "#1d2733", font: { size: 13 } } },
          tooltip: { callbacks: { label: function (item) {
            return item.dataset.label + ": " + format(item.raw, spec);
          } } }
        }
      }
    });
  }

  // The live region (live.js) brings new figures: the charts it replaced are let go, the new
  // canvases drawn, and the tables the reader had opened are opened again.
  var opened = {};
  document.addEventListener("toggle", function (event) {
    var card = event.target.closest && event.target.closest(".dash-card");
    if (card && event.target.matches("details")) { opened[card.id] = event.target.open; }
  }, true);

  function redraw() {
    Object.values(Chart.instances).forEach(function (c) {
      if (!c.canvas.isConnected) { c.destroy(); }
    });
    Object.keys(opened).forEach(function (id) {
      var details = document.querySelector("#" + id + " details");
      if (details) { details.open = opened[id]; }
    });
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (!Chart.getChart(canvas)) { draw(canvas); }
    });
  }

  function start() {
    if (typeof Chart === "undefined") { return; }
    Chart.defaults.font.family = '"Be Vietnam Pro", "Noto Sans", Arial, sans-serif';
    document.addEventListener("live:updated", redraw);
    var all = function () { document.querySelectorAll("canvas[data-chart]").forEach(draw); };
    // Labels are measured in the page's font: wait for it, or a label may be cut.
    (document.fonts && document.fonts.load ? Promise.all([
      document.fonts.load('13px "Be Vietnam Pro"', "Tư pháp"),
      document.fonts.load('bold 13px "Be Vietnam Pro"', "Tư pháp")]) : Promise.resolve())
      .then(all, all);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
