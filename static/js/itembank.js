// Item bank pages: live preview in the editor, calibration progress, select-all, confirmations.
// Every page works without this file (the editor has a Preview button, the run page a Refresh
// link).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  setUpPreview();
  setUpProgress();
  setUpSelectAll();
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
  const focusTarget = document.querySelector("[data-focus-on-load]");
  if (focusTarget) focusTarget.focus();
});

function setUpPreview() {
  const form = document.querySelector("form[data-item-form]");
  if (!form) return;
  const target = form.querySelector("[data-preview-target]");
  const status = form.querySelector("[data-preview-status]");
  const panel = target.closest(".preview-panel");
  let timer = null;
  let latest = 0;

  async function refresh() {
    const request = ++latest;
    panel.classList.add("preview-updating");
    try {
      const response = await fetch(form.dataset.previewUrl, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { "X-Requested-With": "fetch" },
      });
      if (!response.ok) throw new Error(String(response.status));
      const html = await response.text();
      if (request !== latest) return; // a newer preview is on its way
      target.innerHTML = html; // server-sanitised fragment
      if (window.dreamseedMath) window.dreamseedMath.render(target);
      status.textContent = "";
    } catch (error) {
      if (request === latest) status.textContent = form.dataset.previewError;
    } finally {
      if (request === latest) panel.classList.remove("preview-updating");
    }
  }

  form.addEventListener("input", (event) => {
    if (!event.target.closest("[data-preview-source]") && event.target.name !== "correct_key") return;
    clearTimeout(timer);
    timer = setTimeout(refresh, 350);
  });
}

function setUpProgress() {
  const box = document.querySelector("[data-status-url]");
  if (!box) return;
  const bar = box.querySelector("[data-progress]");
  const text = box.querySelector("[data-progress-text]");
  async function poll() {
    try {
      const response = await fetch(box.dataset.statusUrl, { credentials: "same-origin" });
      if (response.ok) {
        const run = await response.json();
        bar.value = run.progress;
        bar.textContent = `${run.progress}%`;
        text.textContent = `${run.progress}% · ${run.stage || run.status_label}`;
        if (run.finished) {
          window.location.reload();
          return;
        }
      }
    } catch (error) {
      // The network blinked; try again on the next tick.
    }
    setTimeout(poll, 1000);
  }
  setTimeout(poll, 700);
}

function setUpSelectAll() {
  for (const toggle of document.querySelectorAll("input[data-select-all]")) {
    toggle.hidden = false;
    const boxes = () => toggle.form.querySelectorAll(`input[name="${toggle.dataset.selectAll}"]`);
    const sync = () => {
      const all = [...boxes()];
      toggle.checked = all.length > 0 && all.every((box) => box.checked);
      toggle.indeterminate = !toggle.checked && all.some((box) => box.checked);
    };
    toggle.addEventListener("change", () => {
      for (const box of boxes()) box.checked = toggle.checked;
    });
    for (const box of boxes()) box.addEventListener("change", sync);
    sync();
  }
}
