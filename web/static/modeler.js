// The browser modeler: bpmn-js for drawing, the server for lint, drafts and deploys.
// Our extension properties (clause, form, sla in spiffworkflow:properties) and a lane's
// role name are edited in the side panel. They are read and written on the exported
// XML, so no moddle extension has to mirror SpiffWorkflow's schema.
(function () {
  "use strict";
  var data = document.getElementById("modeler-config");
  if (!data || typeof BpmnJS === "undefined") { return; }
  var config = JSON.parse(data.textContent);
  var SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core";
  var BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL";
  var PROPS = ["clause", "form", "sla"];
  var modeler = new BpmnJS({ container: "#canvas" });
  window.estatedeskModeler = modeler;  // for browser tests and the curious
  var form = document.getElementById("properties");
  var statusEl = document.getElementById("status");
  var findingsEl = document.getElementById("findings");
  var csrf = (document.querySelector("input[name=csrf_token]") || {}).value;
  var selected = null;
  var checkTimer = null;

  function say(text, isError) {
    statusEl.textContent = text;
    statusEl.className = isError ? "error" : "ok";
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try { data = JSON.parse(text); } catch (e) { data = null; }
        if (!response.ok) {
          throw new Error((data && (data.detail || data.error)) || config.text.failed + " (" + response.status + ")");
        }
        return data;
      });
    });
  }

  function currentXml() {
    return modeler.saveXML({ format: true }).then(function (result) { return result.xml; });
  }

  // -- lint as you work ------------------------------------------------------------
  function check() {
    return currentXml().then(function (xml) { return post(config.urls.check, { xml: xml }); })
      .then(showFindings)
      .catch(function (error) { say(error.message, true); });
  }

  function showFindings(data) {
    var canvas = modeler.get("canvas");
    var registry = modeler.get("elementRegistry");
    registry.forEach(function (element) {
      canvas.removeMarker(element.id, "lint-error");
      canvas.removeMarker(element.id, "lint-warning");
    });
    findingsEl.replaceChildren();
    if (!data.findings.length) {
      var ok = document.createElement("li");
      ok.textContent = config.text.clean;
      findingsEl.appendChild(ok);
    }
    data.findings.forEach(function (finding) {
      var item = document.createElement("li");
      item.className = finding.severity;
      item.textContent = finding.message;
      item.title = finding.detail || "";  // the technical English, file and line, on hover
      if (finding.element_id && registry.get(finding.element_id)) {
        canvas.addMarker(finding.element_id, "lint-" + finding.severity);
        item.addEventListener("click", function () {
          modeler.get("selection").select(registry.get(finding.element_id));
        });
      }
      findingsEl.appendChild(item);
    });
    findingsEl.dataset.checked = String(Date.now());
  }

  modeler.on("commandStack.changed", function () {
    clearTimeout(checkTimer);
    checkTimer = setTimeout(check, 800);
  });

  // -- properties of the selected element, read and written on the XML --------------
  function nodeOf(doc, id) {
    var all = doc.getElementsByTagName("*");
    for (var i = 0; i < all.length; i++) { if (all[i].getAttribute("id") === id) { return all[i]; } }
    return null;
  }

  function propertiesOf(node) {
    var found = {};
    var props = node.getElementsByTagNameNS(SPIFF, "property");
    for (var i = 0; i < props.length; i++) {
      if (props[i].parentNode.parentNode.parentNode === node) {
        found[props[i].getAttribute("name")] = props[i].getAttribute("value");
      }
    }
    return found;
  }

  modeler.on("selection.changed", function (event) {
    selected = event.newSelection.length === 1 ? event.newSelection[0] : null;
    if (!selected || selected.type === "label" || selected.type === "bpmn:Process") { form.hidden = true; return; }
    currentXml().then(function (xml) {
      var node = nodeOf(new DOMParser().parseFromString(xml, "application/xml"), selected.id);
      var values = node ? propertiesOf(node) : {};
      var isLane = selected.type === "bpmn:Lane";
      document.getElementById("prop-title").textContent = selected.id;
      form.elements.name.value = selected.businessObject.name || "";
      PROPS.forEach(function (key) { form.elements[key].value = values[key] || ""; });
      PROPS.forEach(function (key) { form.elements[key].parentNode.hidden = isLane; });
      document.getElementById("lane-row").hidden = true;  // a lane's role is its name
      form.hidden = false;
    });
  });

  function setProperties(doc, node, values) {
    var ext = null;
    for (var i = 0; i < node.childNodes.length; i++) {
      var child = node.childNodes[i];
      if (child.namespaceURI === BPMN && child.localName === "extensionElements") { ext = child; }
    }
    if (!ext) {
      ext = doc.createElementNS(BPMN, "bpmn:extensionElements");
      // extensionElements come first, after documentation (BPMN schema order).
      var after = null;
      for (var j = 0; j < node.childNodes.length; j++) {
        var c = node.childNodes[j];
        if (c.nodeType === 1 && !(c.namespaceURI === BPMN && c.localName === "documentation")) { after = c; break; }
      }
      node.insertBefore(ext, after);
    }
    var holder = ext.getElementsByTagNameNS(SPIFF, "properties")[0];
    if (!holder) { holder = doc.createElementNS(SPIFF, "spiffworkflow:properties"); ext.appendChild(holder); }
    PROPS.forEach(function (key) {
      var existing = null;
      var props = holder.getElementsByTagNameNS(SPIFF, "property");
      for (var k = 0; k < props.length; k++) { if (props[k].getAttribute("name") === key) { existing = props[k]; } }
      if (!values[key]) { if (existing) { holder.removeChild(existing); } return; }
      if (!existing) {
        existing = doc.createElementNS(SPIFF, "spiffworkflow:property");
        existing.setAttribute("name", key);
        holder.appendChild(existing);
      }
      existing.setAttribute("value", values[key]);
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!selected) { return; }
    var id = selected.id;
    var values = {};
    PROPS.forEach(function (key) { values[key] = form.elements[key].value.trim(); });
    modeler.get("modeling").updateProperties(selected, { name: form.elements.name.value });
    var isLane = selected.type === "bpmn:Lane";
    currentXml().then(function (xml) {
      if (isLane) { return null; }
      var doc = new DOMParser().parseFromString(xml, "application/xml");
      var node = nodeOf(doc, id);
      if (!node) { return null; }
      setProperties(doc, node, values);
      var viewbox = modeler.get("canvas").viewbox();
      return modeler.importXML(new XMLSerializer().serializeToString(doc)).then(function () {
        modeler.get("canvas").viewbox(viewbox);
        modeler.get("selection").select(modeler.get("elementRegistry").get(id));
      });
    }).then(check);
  });

  // -- drafts and deploys ------------------------------------------------------------
  document.getElementById("save-draft").addEventListener("click", function () {
    currentXml().then(function (xml) {
      return post(config.urls.draft, { xml: xml, base_version: config.base_version });
    }).then(function () { say(config.text.saved); }).catch(function (error) { say(error.message, true); });
  });

  document.getElementById("deploy").addEventListener("click", function () {
    var note = document.getElementById("deploy-note").value;
    currentXml().then(function (xml) { return post(config.urls.deploy, { xml: xml, note: note }); })
      .then(function (data) {
        var runnable = data.results.filter(function (r) { return r.runnable; });
        var own = runnable.filter(function (r) { return r.process_id === config.process; })[0];
        if (own) {  // what is open now is the version just deployed (and no longer a draft)
          config.base_version = own.version;
          document.getElementById("base-version").textContent = config.text.based_on + " v" + own.version;
        }
        if (data.write_error) {
          say(config.text.not_written + ": " + data.write_error, true);
          return;
        }
        say(runnable.length
          ? config.text.deployed + ": " + runnable.map(function (r) { return r.process_id + " v" + r.version; }).join(", ")
          : config.text.kept, !runnable.length);
      })
      .catch(function (error) { say(error.message, true); });
  });

  var fitReadable = window.estatedeskFitReadable;  // diagram_fit.js

  // The tool palette sits over the canvas's left edge, where a process starts: move the
  // fitted diagram right until its left edge is clear of it.
  function clearOfPalette(canvas) {
    var palette = document.querySelector(".djs-palette");
    var drawn = document.querySelector(".djs-container .viewport");
    if (!palette || !drawn) { return; }
    var overlap = palette.getBoundingClientRect().right - drawn.getBoundingClientRect().left + 16;
    if (overlap > 0) { canvas.scroll({ dx: overlap, dy: 0 }); }
  }

  modeler.importXML(config.xml).then(function () {
    var canvas = modeler.get("canvas");
    fitReadable(canvas);
    clearOfPalette(canvas);
    document.getElementById("canvas").dataset.loaded = "true";
    return check();
  }).catch(function (error) { say(config.text.failed + ": " + error.message, true); });
})();
