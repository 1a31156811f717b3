// Small behaviours shared by every page (no inline scripts: the CSP forbids them).
(function () {
  "use strict";
  // <form data-confirm="Are you sure?"> asks before submitting.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  }, true);

  // New-test presets: the links reload the page with ?preset= (works without JavaScript); here
  // they fill the form in place instead, so a name already typed is kept.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-preset-values]");
    var form = document.getElementById("blueprint-form");
    if (!link || !form) return;
    var values = JSON.parse(link.getAttribute("data-preset-values"));
    Object.keys(values).forEach(function (name) {
      var field = form.elements[name];
      if (field) field.value = values[name] === null ? "" : values[name];
    });
    document.querySelectorAll("a[data-preset-values]").forEach(function (other) {
      var chosen = other === link;
      other.classList.toggle("button-primary", chosen);
      if (chosen) other.setAttribute("aria-current", "true"); else other.removeAttribute("aria-current");
    });
    var status = document.getElementById("preset-status");
    if (status) status.textContent = status.getAttribute("data-applied");
    event.preventDefault();
  });
})();
