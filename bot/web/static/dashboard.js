/* Draws each dashboard chart with Apache ECharts (served from /static/vendor) from the JSON in
   its data-chart attribute: {"kind": "bar"|"line"|"pie", "x": [...], "series": [{"name", "data"}],
   "stack": bool}. No inline script: the page's CSP allows scripts from this origin only, and
   tooltips are drawn on the canvas (renderMode "richText"), as HTML tooltips carry inline styles. */
(function () {
  "use strict";

  function option(spec) {
    if (spec.kind === "pie") {
      return {
        tooltip: { trigger: "item", renderMode: "richText" },
        legend: { type: "scroll", bottom: 0 },
        series: [{ type: "pie", radius: ["35%", "65%"], top: 0, bottom: 30,
          data: spec.x.map(function (name, i) { return { name: name, value: spec.series[0].data[i] }; }) }]
      };
    }
    return {
      tooltip: { trigger: "axis", confine: true, renderMode: "richText" },
      legend: { type: "scroll", top: 0 },
      grid: { left: 8, right: 12, top: 36, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: spec.x, axisLabel: { hideOverlap: true } },
      yAxis: { type: "value", minInterval: 1 },
      series: spec.series.map(function (s) {
        return { type: spec.kind, name: s.name, data: s.data, stack: spec.stack ? "all" : undefined,
                 connectNulls: true };
      })
    };
  }

  function draw() {
    if (!window.echarts) { return; }
    var charts = [];
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var chart = window.echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(option(JSON.parse(el.getAttribute("data-chart"))));
      el.setAttribute("data-drawn", "1");
      charts.push(chart);
    });
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
