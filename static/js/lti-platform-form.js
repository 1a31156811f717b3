/* LMS registration pages (templates/lti/platform_form.html, platform_list.html):
   - choosing Canvas fills the Canvas cloud URLs into empty fields; choosing Moodle fills the
     Moodle URLs from the site address (the issuer) as it is typed; the LMS's instructions follow
     the choice;
   - "Copy" buttons next to the values to paste into the LMS. */
(function () {
  "use strict";

  var form = document.getElementById("lti-platform-form");
  if (form) {
    var vendor = form.querySelector("[data-lti-vendor]");
    var issuer = form.querySelector("[data-moodle-site]");
    var autoFilled = new WeakSet();

    var fill = function (field, value) {
      if (!field.value || autoFilled.has(field)) {
        field.value = value;
        autoFilled.add(field);
      }
    };

    var apply = function () {
      var choice = vendor ? vendor.value : "";
      document.querySelectorAll("[data-vendor-help]").forEach(function (block) {
        block.hidden = block.getAttribute("data-vendor-help") !== (choice || "other");
      });
      if (choice === "canvas") {
        form.querySelectorAll("[data-canvas-default]").forEach(function (field) {
          fill(field, field.getAttribute("data-canvas-default"));
        });
      } else if (choice === "moodle" && issuer && /^https?:\/\/[^/]+/.test(issuer.value)) {
        var site = issuer.value.replace(/\/+$/, "");
        form.querySelectorAll("[data-moodle-path]").forEach(function (field) {
          fill(field, site + field.getAttribute("data-moodle-path"));
        });
      }
    };

    if (vendor) vendor.addEventListener("change", apply);
    if (issuer) issuer.addEventListener("input", apply);
  }

  document.querySelectorAll("[data-copy-label]").forEach(function (list) {
    if (!navigator.clipboard) return;
    list.querySelectorAll("input[data-copy]").forEach(function (input) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button button-small";
      button.textContent = list.getAttribute("data-copy-label");
      var label = list.querySelector('label[for="' + input.id + '"]');
      if (label) button.setAttribute("aria-label", button.textContent + ": " + label.textContent);
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(input.value).then(function () {
          button.textContent = list.getAttribute("data-copied-label");
          button.removeAttribute("aria-label");
        });
      });
      button.style.justifySelf = "start";
      input.insertAdjacentElement("afterend", button);
    });
  });
})();
