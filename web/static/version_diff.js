// Two versions side by side: removed elements red on the older one, added green and
// changed amber on the newer one.
(function () {
  "use strict";
  var data = document.getElementById("version-diff");
  if (!data || typeof BpmnJS === "undefined") { return; }
  var diff = JSON.parse(data.textContent);
  function draw(container, xml, marks) {
    var viewer = new BpmnJS({ container: container });
    return viewer.importXML(xml).then(function () {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      canvas.zoom("fit-viewport", "auto");
      Object.keys(marks).forEach(function (marker) {
        marks[marker].forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, marker); } });
      });
      document.querySelector(container).dataset.loaded = "true";
    });
  }
  draw("#old-diagram", diff.old, { "ed-failed": diff.removed, "ed-current": diff.changed });
  draw("#new-diagram", diff.new, { "ed-completed": diff.added, "ed-current": diff.changed });
})();
