// Item bank pages: live preview in the editor, calibration progress, select-all, confirmations.
// Every page works without this file (the editor has a Preview button, the run page a Refresh
// link).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  setUpKinds();
  setUpPreview();
  setUpImageInsert();
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

// The editor's "Item type" select shows only the fields that type needs. Hidden fields keep
// what was typed (switching back restores it); the server reads only the chosen type's fields.
function setUpKinds() {
  const form = document.querySelector("form[data-item-form]");
  const select = form && form.querySelector("[data-kind-select]");
  if (!select) return;
  const parts = form.querySelectorAll("[data-kind-show]");
  const show = () => {
    for (const part of parts) {
      part.hidden = !part.dataset.kindShow.split(" ").includes(select.value);
    }
  };
  select.addEventListener("change", show);
  show();
}

function setUpPreview() {
  const form = document.querySelector("form[data-item-form]");
  if (!form) return;
  const target = document.querySelector("[data-preview-target]");
  const status = document.querySelector("[data-preview-status]");
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
    if (!event.target.closest("[data-preview-source]")) return;
    clearTimeout(timer);
    timer = setTimeout(refresh, 350);
  });
}

// "Insert image": upload a file, require its alt text, then put an <img> where the cursor was in
// the stem or option text area (the live preview follows through the input event).
function setUpImageInsert() {
  const template = document.querySelector("template[data-image-insert-template]");
  const form = document.querySelector("form[data-item-form]");
  if (!template || !form) return;
  const texts = template.dataset;
  const tokenInput = form.querySelector("input[name=csrfmiddlewaretoken]");
  const areas = form.querySelectorAll('textarea[name="stem"], textarea[name^="option_"]');
  for (const area of areas) {
    const block = template.content.firstElementChild.cloneNode(true);
    area.insertAdjacentElement("afterend", block);
    wireImageInsert(block, area, texts, tokenInput ? tokenInput.value : "");
  }
}

function escapeAttribute(text) {
  return text.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function wireImageInsert(block, area, texts, csrfToken) {
  const toggle = block.querySelector("[data-image-toggle]");
  const panel = block.querySelector("[data-image-panel]");
  const file = block.querySelector("[data-image-file]");
  const alt = block.querySelector("[data-image-alt]");
  const insert = block.querySelector("[data-image-insert]");
  const cancel = block.querySelector("[data-image-cancel]");
  const status = block.querySelector("[data-image-status]");
  const label = area.id && document.querySelector(`label[for="${area.id}"]`);
  if (label) {
    // Seven "Insert image" buttons: each says which field it is for, to a screen reader.
    const field = label.textContent.replace(/\s+/g, " ").trim();
    const shown = document.createElement("span");
    shown.setAttribute("aria-hidden", "true");
    shown.textContent = toggle.textContent.trim();
    const name = document.createElement("span");
    name.className = "visually-hidden";
    name.textContent = texts.toggleLabel.replace("%(field)s", field);
    toggle.replaceChildren(shown, name);
  }
  const panelId = `${area.id || area.name}-image-insert`;
  panel.id = panelId;
  toggle.setAttribute("aria-controls", panelId);
  let url = "";
  let upload = 0;

  const sync = () => {
    insert.disabled = !(url && alt.value.trim());
  };
  const reset = () => {
    url = "";
    upload++;
    file.value = "";
    alt.value = "";
    status.textContent = "";
    sync();
  };
  const close = (focus) => {
    panel.hidden = true;
    toggle.setAttribute("aria-expanded", "false");
    reset();
    if (focus) focus.focus();
  };

  toggle.addEventListener("click", () => {
    if (!panel.hidden) return close(toggle);
    panel.hidden = false;
    toggle.setAttribute("aria-expanded", "true");
    file.focus();
  });
  cancel.addEventListener("click", () => close(toggle));
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      close(toggle);
    }
  });

  file.addEventListener("change", async () => {
    url = "";
    sync();
    if (!file.files.length) return;
    const request = ++upload;
    const body = new FormData();
    body.append("image", file.files[0]);
    status.textContent = texts.uploading;
    try {
      const response = await fetch(texts.uploadUrl, {
        method: "POST",
        body,
        credentials: "same-origin",
        headers: { "X-Requested-With": "fetch", "X-CSRFToken": csrfToken },
      });
      const answer = await response.json().catch(() => ({}));
      if (request !== upload) return; // another file was chosen meanwhile
      if (response.ok && answer.url) {
        url = answer.url;
        status.textContent = texts.uploaded;
        if (!alt.value.trim()) alt.focus();
      } else {
        status.textContent = answer.error || texts.uploadFailed;
        file.value = "";
      }
    } catch (error) {
      if (request === upload) status.textContent = texts.uploadFailed;
    }
    sync();
  });
  alt.addEventListener("input", sync);
  alt.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault(); // not the item form's submit
    if (!insert.disabled) insert.click();
  });

  insert.addEventListener("click", () => {
    const description = alt.value.trim();
    if (!url || !description) return;
    const tag = `<img src="${escapeAttribute(url)}" alt="${escapeAttribute(description)}">`;
    const start = area.selectionStart ?? area.value.length;
    const end = area.selectionEnd ?? start;
    area.value = area.value.slice(0, start) + tag + area.value.slice(end);
    close(null);
    area.focus();
    area.setSelectionRange(start + tag.length, start + tag.length);
    area.dispatchEvent(new Event("input", { bubbles: true }));
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
