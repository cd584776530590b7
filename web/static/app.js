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
})();
