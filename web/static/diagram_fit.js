// Fit a bpmn-js canvas into view, but never so small its labels cannot be read at 1280 px: a
// wide process is shown from its start at a readable size, to be scrolled. Shared by the
// modeler and the case diagram.
(function () {
  "use strict";
  var READABLE = 0.75;
  window.estatedeskFitReadable = function (canvas) {
    canvas.zoom("fit-viewport", "auto");
    if (canvas.zoom() < READABLE) {  // from the diagram's top left, where it starts
      var box = canvas.viewbox();
      canvas.viewbox({ x: box.inner.x - 20, y: box.inner.y - 20,
                       width: box.outer.width / READABLE, height: box.outer.height / READABLE });
    }
  };
})();
