// The report page: poll the report's status until it is ready or failed, moving the progress
// bar and revealing the download link (or the error and Retry button) without a reload.
(function () {
  "use strict";
  var panel = document.getElementById("report-status");
  if (!panel) return;
  var url = panel.getAttribute("data-status-url");
  var bar = document.getElementById("report-progress");
  var state = document.getElementById("report-state");
  var ready = document.getElementById("report-ready");
  var failed = document.getElementById("report-failed");
  var error = document.getElementById("report-error");
  var delay = 500;

  function show(data) {
    bar.value = data.progress;
    bar.textContent = data.progress + "%";
    if (state.textContent !== data.label) state.textContent = data.label;
    panel.setAttribute("data-status", data.status);
    ready.hidden = !data.ready;
    failed.hidden = !data.may_retry;
    if (error.textContent !== data.error) error.textContent = data.error;
  }

  function finished(data) {
    return data.ready || data.status === "failed" || data.status === "expired";
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (data === null) { schedule(); return; }
        show(data);
        if (finished(data)) {
          if (data.ready) document.getElementById("report-download").focus();
          return;
        }
        schedule();
      })
      .catch(schedule);
  }

  function schedule() {
    // Quick at first (most reports take a second), then every two seconds.
    delay = Math.min(delay * 1.5, 2000);
    window.setTimeout(poll, delay);
  }

  var initial = panel.getAttribute("data-status");
  if (initial === "queued" || initial === "running") window.setTimeout(poll, 300);
})();
