// Small helpers for the class pages; everything works without them.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // "Select all" checkboxes tick every student checkbox in the same form.
  for (const toggle of document.querySelectorAll("input[data-select-all]")) {
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

  for (const button of document.querySelectorAll("button[data-print]")) {
    button.hidden = false;
    button.addEventListener("click", () => window.print());
  }

  // Move keyboard and screen-reader focus to a summary of problems, so they are read first.
  const focusTarget = document.querySelector("[data-focus-on-load]");
  if (focusTarget) focusTarget.focus();
});
