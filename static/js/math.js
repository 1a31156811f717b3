// Renders LaTeX ($...$, $$...$$, \(...\), \[...\]) in elements marked data-math with the vendored
// KaTeX. Pages include templates/itembank/_math_assets.html; call dreamseedMath.render(element)
// after inserting new content.
"use strict";

(() => {
  const options = {
    delimiters: [
      { left: "$$", right: "$$", display: true },
      { left: "\\[", right: "\\]", display: true },
      { left: "\\(", right: "\\)", display: false },
      { left: "$", right: "$", display: false },
    ],
    throwOnError: false,
    ignoredTags: ["script", "noscript", "style", "textarea", "pre", "code", "option", "input"],
  };

  function render(root) {
    if (typeof window.renderMathInElement !== "function" || !root) return;
    const targets = [];
    if (root.matches && root.matches("[data-math]")) targets.push(root);
    targets.push(...root.querySelectorAll("[data-math]"));
    for (const element of targets) window.renderMathInElement(element, options);
  }

  window.dreamseedMath = { render };
  document.addEventListener("DOMContentLoaded", () => render(document.body));
})();
