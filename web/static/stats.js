// The statistics dashboard's four charts (ECharts), from the JSON the page carries.
// A bar that stands for cases opens the list of those cases, like the numbers in the tables.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("stats-data").textContent);
  var charts = [];

  function draw(id, option, links) {
    var element = document.getElementById(id);
    if (!element) return;
    var chart = echarts.init(element, null, { renderer: "canvas" });
    chart.setOption(Object.assign({ animation: false, grid: { left: 48, right: 48, top: 36, bottom: 40 },
                                    tooltip: { trigger: "axis" } }, option));
    if (links) {
      chart.on("click", function (params) {
        if (links[params.dataIndex]) window.location.href = links[params.dataIndex];
      });
    }
    charts.push(chart);
  }

  var t = data.trend;
  draw("chart-trend", {
    legend: { top: 0 },
    xAxis: { type: "category", data: t.months },
    yAxis: [{ type: "value", minInterval: 1 }, { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } }],
    series: [
      { name: t.names[0], type: "bar", data: t.cases },
      { name: t.names[1], type: "bar", data: t.completed },
      { name: t.names[2], type: "line", yAxisIndex: 1, data: t.rate, connectNulls: true }
    ]
  });

  var c = data.category;
  draw("chart-category", {
    xAxis: { type: "category", data: c.labels, axisLabel: { interval: 0, rotate: c.labels.length > 4 ? 30 : 0 } },
    yAxis: { type: "value", minInterval: 1 },
    series: [{ name: c.name, type: "bar", data: c.cases, cursor: "pointer" }]
  }, c.links);

  var h = data.histogram;
  var limitLine = h.limit === null ? undefined : {
    symbol: "none", label: { formatter: h.names[2] + " {c}" }, lineStyle: { color: "#c0392b", type: "dashed", width: 2 },
    data: [{ xAxis: h.limit }]
  };
  draw("chart-histogram", {
    tooltip: { trigger: "item", formatter: function (p) { return p.value[1] + " · " + p.value[0].toFixed(1); } },
    xAxis: { type: "value", name: h.names[0], nameLocation: "middle", nameGap: 26, min: 0,
             max: h.width * h.bins.length },
    yAxis: { type: "value", name: h.names[1], minInterval: 1 },
    series: [{
      name: h.names[1], type: "bar", barWidth: "90%",
      data: h.bins.map(function (b) {
        return { value: [b[0], b[1]], itemStyle: { color: b[2] ? "#e67e22" : "#3c7dd9" } };
      }),
      markLine: limitLine
    }]
  });

  var b = data.backlog;
  draw("chart-backlog", {
    xAxis: { type: "category", data: b.labels },
    yAxis: { type: "value", minInterval: 1 },
    series: [{ name: b.name, type: "bar", data: b.cases, cursor: "pointer", itemStyle: { color: "#8e44ad" } }]
  }, b.links);

  window.addEventListener("resize", function () { charts.forEach(function (chart) { chart.resize(); }); });
})();
