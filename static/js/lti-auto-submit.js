/* Deep linking: the signed response goes back to the LMS (templates/lti/deep_link_return.html).

   When this picker runs in a window DreamSeed opened from the LMS's frame (the frame kept no
   cookies), the LMS's return page must load in that frame, not here: Moodle's only works inside
   the frame that opened the picker. So the response is handed to the opening DreamSeed page
   (same origin, window.opener), which posts it from the frame, and this window closes. With no
   such opener (the LMS opened this window itself, or JavaScript is off), the form is posted
   from here, as before. */
(function () {
  "use strict";
  var form = document.getElementById("lti-auto-submit");
  if (!form) return;
  var origin = window.location.origin;
  var opener = null;
  try {
    opener = window.opener;
  } catch (error) {
    opener = null;
  }
  if (!opener || opener === window) {
    form.submit();
    return;
  }
  var received = false;
  window.addEventListener("message", function (event) {
    if (event.origin !== origin || event.source !== opener) return;
    if (!event.data || event.data.type !== "dreamseed:deep-link-received") return;
    received = true;
    var handed = document.querySelector("[data-state=handed-back]");
    form.hidden = true; // nothing left to send from here
    if (handed) handed.hidden = false;
    window.setTimeout(function () {
      window.close();
    }, 1500);
  });
  // The target origin is ours: an opener of any other origin (the LMS) never sees the token.
  opener.postMessage(
    { type: "dreamseed:deep-link-response", returnUrl: form.action, jwt: form.elements.JWT.value },
    origin
  );
  window.setTimeout(function () {
    if (!received) form.submit();
  }, 1500);
})();
