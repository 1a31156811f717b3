/* LTI Dynamic Registration (templates/lti/register.html): when registration is over, tell the
   LMS to close its dialog, as the 1EdTech spec says: the message
   {subject: "org.imsglobal.lti.close"} to the window that opened this page (or its frame's
   parent). The LMS's origin is not known here, hence "*": the message carries nothing. */
(function () {
  "use strict";
  var page = document.getElementById("lti-registration");
  if (!page) return;
  function close() {
    var target = window.opener || (window.parent !== window ? window.parent : null);
    if (target) target.postMessage({ subject: "org.imsglobal.lti.close" }, "*");
  }
  var button = page.querySelector("[data-lti-close]");
  if (button) button.addEventListener("click", close);
  if (page.getAttribute("data-state") === "done") {
    var heading = page.querySelector("h1");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus();
    }
  }
})();
