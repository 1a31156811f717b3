/* LTI launches inside an LMS frame (templates/lti/cookie_check.html, continue.html).
   The login page finds out whether this frame may keep cookies, as pylti1p3's check does but
   without inline script: if it may, the login goes on here; if not, and the LMS keeps the
   state for us (platform storage), it goes on here too; otherwise the page offers to continue
   in a new window, where DreamSeed is first-party. Both pages say so once that window is open. */
(function () {
  "use strict";

  function markOpened(root) {
    var link = root.querySelector("[data-new-window]");
    var opened = root.querySelector("[data-state=opened]");
    if (!link || !opened) return;
    link.addEventListener("click", function () {
      opened.hidden = false;
    });
  }

  var check = document.getElementById("lti-cookie-check");
  if (check) {
    var secure = check.getAttribute("data-secure") === "1";
    var attributes = "; path=/" + (secure ? "; SameSite=None; Secure" : "");
    document.cookie = "lti1p3_test_cookie=1" + attributes;
    if (document.cookie.indexOf("lti1p3_test_cookie=1") !== -1) {
      document.cookie = "lti1p3_test_cookie=; expires=Thu, 01 Jan 1970 00:00:00 GMT" + attributes;
      window.location.replace(check.getAttribute("data-continue-url"));
      return;
    }
    var showBlocked = function () {
      check.querySelector("[data-state=checking]").hidden = true;
      check.querySelector("[data-state=blocked]").hidden = false;
      markOpened(check);
      var link = check.querySelector("[data-new-window]");
      if (link) link.focus();
    };
    /* No cookies in this frame, but the LMS may keep the login's state and nonce for us
       (lti-platform-storage.js): then the login goes on here, no new window. */
    var storage = window.DreamSeedLtiStorage;
    var authUrl = check.getAttribute("data-storage-url");
    if (!storage || !authUrl) {
      showBlocked();
    } else {
      tryPlatformStorage(check, storage, authUrl, showBlocked);
    }
  }

  /* Put the login's state and nonce in the LMS's storage, then on to its authorization
     endpoint; `fail` if the LMS does not offer storage or does not answer. */
  function tryPlatformStorage(check, storage, authUrl, fail) {
    var state = check.getAttribute("data-storage-state");
    var nonce = check.getAttribute("data-storage-nonce");
    var origin = check.getAttribute("data-storage-origin");
    var platformOrigins = (check.getAttribute("data-platform-origins") || "").split(" ");
    storage
      .storageFrame(check.getAttribute("data-storage-target"), origin, platformOrigins)
      .then(function (frame) {
        if (!frame) throw new Error("the LMS offers no storage");
        return Promise.all([
          storage.put(frame, origin, storage.stateKey(state), state),
          storage.put(frame, origin, storage.nonceKey(nonce), nonce),
        ]);
      })
      .then(function () {
        window.location.replace(authUrl);
      }, fail);
  }

  var continuePage = document.getElementById("lti-continue");
  if (continuePage) markOpened(continuePage);

  /* The picker in the new window hands its signed deep-linking response back here, to the frame
     the LMS opened: post it from here, where the LMS's return page works (Moodle's only works in
     this frame). Only DreamSeed's own pages (same origin) are listened to. */
  window.addEventListener("message", function (event) {
    if (event.origin !== window.location.origin || !event.source) return;
    var data = event.data;
    if (!data || data.type !== "dreamseed:deep-link-response") return;
    if (typeof data.jwt !== "string" || typeof data.returnUrl !== "string") return;
    if (!/^https?:\/\//.test(data.returnUrl)) return;
    event.source.postMessage({ type: "dreamseed:deep-link-received" }, window.location.origin);
    var form = document.createElement("form");
    form.method = "post";
    form.action = data.returnUrl;
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = "JWT";
    input.value = data.jwt;
    form.appendChild(input);
    document.body.appendChild(form);
    form.submit();
  });
})();
