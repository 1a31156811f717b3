// Refresh the live progress table of an assignment every few seconds (staff page).
(function () {
  "use strict";
  var table = document.getElementById("live-progress");
  if (!table) return;
  var body = table.querySelector("tbody");
  var url = table.getAttribute("data-url");
  function refresh() {
    if (document.hidden) return;
    // Do not replace rows while someone is using a button in them.
    if (body.contains(document.activeElement)) return;
    fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) { if (html !== null) body.innerHTML = html; })
      .catch(function () {});
  }
  window.setInterval(refresh, 5000);
})();
