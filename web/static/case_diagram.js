// The case on its diagram: colour what the audit trail says ran, list an element's
// history when it is clicked, and drill into called processes. Data: diagram.json.
(function () {
  "use strict";
  var canvasEl = document.getElementById("canvas");
  if (!canvasEl || typeof BpmnJS === "undefined") { return; }
  var text = canvasEl.dataset;
  var panel = document.getElementById("element-panel");
  var crumbs = document.getElementById("crumbs");
  var viewer = new BpmnJS({ container: canvasEl });
  var trail = [];   // processes drilled into, the case's own first
  var picture = null;

  var MARKERS = ["completed", "current", "cancelled", "failed", "breached"];

  function el(tag, cls, content) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (content !== undefined) { node.textContent = content; }
    return node;
  }

  var fitReadable = window.estatedeskFitReadable;  // diagram_fit.js

  document.querySelectorAll("[data-zoom]").forEach(function (button) {
    button.addEventListener("click", function () {
      var canvas = viewer.get("canvas");
      var how = button.dataset.zoom;
      if (how === "fit") { canvas.zoom("fit-viewport", "auto"); }
      else { canvas.zoom(canvas.zoom() * (how === "in" ? 1.25 : 0.8)); }
    });
  });

  function load(processId) {
    var url = text.url + "?process=" + encodeURIComponent(processId);
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status); }
        return response.json();
      })
      .then(function (data) {
        picture = data;
        panel.replaceChildren(el("p", "", text.textHint));
        return viewer.importXML(data.xml).then(function () { show(data); });
      })
      .catch(function () { panel.replaceChildren(el("p", "error", text.textFailed)); });
  }

  function show(data) {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    // A file may hold several processes; show the one drilled into.
    var root = registry.filter(function (e) { return e.businessObject && e.businessObject.processRef
      && e.businessObject.processRef.id === data.process_id; });
    fitReadable(canvas);
    MARKERS.forEach(function (kind) {
      data[kind].forEach(function (id) {
        if (registry.get(id)) { canvas.addMarker(id, "ed-" + kind); }
      });
    });
    data.flows.forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, "ed-flow"); } });
    Object.keys(data.called).forEach(function (id) {
      if (registry.get(id)) { canvas.addMarker(id, "ed-drill"); }
    });
    drawCrumbs();
    canvasEl.dataset.loaded = data.process_id;  // lets browser tests wait for the picture
    return root;
  }

  function drawCrumbs() {
    crumbs.replaceChildren();
    trail.forEach(function (step, index) {
      if (index > 0) { crumbs.appendChild(el("span", "sep", " › ")); }
      if (index === trail.length - 1) { crumbs.appendChild(el("strong", "", step.name)); return; }
      var link = el("a", "", step.name);
      link.href = "#";
      link.addEventListener("click", function (event) {
        event.preventDefault();
        trail = trail.slice(0, index + 1);
        load(step.id);
      });
      crumbs.appendChild(link);
    });
  }

  function describe(id) {
    var entry = picture.history[id];
    var bo = viewer.get("elementRegistry").get(id).businessObject;
    var box = [el("h2", "", (entry && entry.name) || bo.name || id)];
    if (entry && entry.clause) { box.push(el("p", "clause", text.textClause + ": " + entry.clause)); }
    if (entry && entry.role) { box.push(el("p", "", text.textRole + ": " + entry.role)); }
    if (!entry || !entry.events.length) { box.push(el("p", "", text.textNone)); }
    var list = el("ol", "timeline");
    (entry ? entry.events : []).forEach(function (e) {
      var item = el("li");
      item.appendChild(el("span", "time", e.at + " "));
      item.appendChild(el("strong", "", e.label));
      if (e.actor) { item.appendChild(el("span", "", " · " + e.actor + (e.role ? " (" + e.role + ")" : ""))); }
      if (e.details.length) {
        var dl = el("dl", "details");
        e.details.forEach(function (pair) { dl.appendChild(el("dt", "", pair[0])); dl.appendChild(el("dd", "", pair[1])); });
        item.appendChild(dl);
      }
      list.appendChild(item);
    });
    box.push(list);
    var called = picture.called[id];
    if (called) {
      var enter = el("button", "drill", text.textEnter);
      enter.type = "button";
      enter.addEventListener("click", function () {
        trail.push({ id: called, name: called });
        load(called).then(function () { trail[trail.length - 1].name = picture.process_name; drawCrumbs(); });
      });
      box.push(enter);
    }
    panel.replaceChildren.apply(panel, box);
  }

  viewer.get("eventBus").on("element.click", function (event) {
    if (picture && event.element.type !== "bpmn:Process" && event.element.type !== "label") {
      describe(event.element.id);
    }
  });

  trail.push({ id: text.process, name: text.process });
  load(text.process).then(function () { trail[0].name = picture.process_name; drawCrumbs(); });
})();
