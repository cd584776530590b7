// Small progressive enhancements; every page works without them.
(function () {
  // The inbox refreshes its rows every 30 s without reloading the page.
  var table = document.querySelector("table[data-refresh]");
  if (table) {
    setInterval(function () {
      fetch(table.dataset.refresh, {credentials: "same-origin"}).then(function (response) {
        if (response.ok && !response.redirected) {
          return response.text().then(function (html) { table.tBodies[0].innerHTML = html; });
        }
      }).catch(function () { /* offline for a moment: keep the rows shown */ });
    }, 30000);
  }
  // Print buttons (inline handlers are refused by the Content-Security-Policy).
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) { window.print(); }
  });
  // "Add a row" copies the last, empty row of a repeated group with the next index.
  document.addEventListener("click", function (event) {
    var button = event.target.closest(".add-row");
    if (!button) { return; }
    var groups = button.parentNode.querySelectorAll(".row-group");
    var last = groups[groups.length - 1];
    var copy = last.cloneNode(true);
    var next = groups.length;
    copy.querySelectorAll("[name]").forEach(function (input) {
      input.name = input.name.replace(/-(\d+)-/, "-" + next + "-");
      if (input.id) { input.id = input.id.replace(/-(\d+)-/, "-" + next + "-"); }
      if (input.type === "checkbox" || input.type === "radio") { input.checked = false; } else { input.value = ""; }
    });
    copy.querySelectorAll(".field-error").forEach(function (el) { el.remove(); });
    last.parentNode.insertBefore(copy, button);
  });
  // Signature pads: what is drawn goes into the hidden input as a PNG; 清除签名 starts again.
  document.querySelectorAll(".signature-pad").forEach(function (pad) {
    var canvas = pad.querySelector("canvas");
    var input = pad.querySelector("input[type=hidden]");
    var pen = canvas.getContext("2d");
    var drawing = false;
    pen.lineWidth = 2.5;
    pen.lineCap = "round";
    if (input.value) {  // a form shown again after an error keeps the signature
      var kept = new Image();
      kept.onload = function () { pen.drawImage(kept, 0, 0); };
      kept.src = input.value;
    }
    function at(event) {
      var box = canvas.getBoundingClientRect();
      return [(event.clientX - box.left) * canvas.width / box.width,
              (event.clientY - box.top) * canvas.height / box.height];
    }
    canvas.addEventListener("pointerdown", function (event) {
      drawing = true;
      canvas.setPointerCapture(event.pointerId);
      var p = at(event);
      pen.beginPath();
      pen.moveTo(p[0], p[1]);
      event.preventDefault();
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) { return; }
      var p = at(event);
      pen.lineTo(p[0], p[1]);
      pen.stroke();
    });
    function done() {
      if (!drawing) { return; }
      drawing = false;
      input.value = canvas.toDataURL("image/png");
    }
    canvas.addEventListener("pointerup", done);
    canvas.addEventListener("pointercancel", done);
    var clear = pad.querySelector(".clear-signature");
    if (clear) {
      clear.addEventListener("click", function () {
        pen.clearRect(0, 0, canvas.width, canvas.height);
        input.value = "";
      });
    }
  });
})();
