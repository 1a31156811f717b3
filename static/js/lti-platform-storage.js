/* LTI platform storage (1EdTech "LTI Client Side postMessages"): when the LMS frame keeps no
   cookies and the LMS named an `lti_storage_target` (Canvas does), the OIDC state and nonce are
   kept in the LMS instead, through postMessage:
   - lti.capabilities, to window.parent: does the LMS answer lti.put_data / lti.get_data, and in
     which frame? No answer within 3 seconds: the LMS does not offer it (new-window flow);
   - lti.put_data / lti.get_data, to that frame (or the one lti_storage_target names), with the
     LMS's OIDC authorization origin as the target origin; only answers from that window and
     that origin, naming our message id, are read.
   Used by templates/lti/cookie_check.html (login: put, then on to the LMS's authorization
   endpoint) and templates/lti/storage_check.html (launch: get, compare, post the launch again). */
(function () {
  "use strict";

  var WAIT_MS = 3000;
  var RESEND_MS = 400;

  function messageId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    return String(Date.now()) + Math.random().toString(16).slice(2);
  }

  function frameNamed(name) {
    try {
      if (!name || name === "_parent") return window.parent;
      return window.parent.frames[name] || null;
    } catch (error) {
      return null;
    }
  }

  /* Send `message` to `target` (a window) and resolve with the answer whose subject is
     `subject + ".response"` and whose message_id is ours, from `target` at one of `origins`. */
  function ask(target, targetOrigin, origins, message) {
    return new Promise(function (resolve, reject) {
      if (!target || target === window) {
        reject(new Error("no storage frame"));
        return;
      }
      var id = messageId();
      var timer = null;
      function listen(event) {
        if (event.source !== target || origins.indexOf(event.origin) === -1) return;
        var data = event.data;
        if (!data || typeof data !== "object" || data.message_id !== id) return;
        if (data.subject !== message.subject + ".response") return;
        window.removeEventListener("message", listen);
        window.clearTimeout(timer);
        window.clearInterval(resend);
        if (data.error) reject(new Error(String(data.error.code || data.error)));
        else resolve(data);
      }
      var sent = Object.assign({ message_id: id }, message);
      // Asked again every RESEND_MS (same message id; put and get are idempotent): the LMS's
      // storage frame may still be loading when this page first asks.
      var resend = window.setInterval(function () {
        target.postMessage(sent, targetOrigin);
      }, RESEND_MS);
      window.addEventListener("message", listen);
      timer = window.setTimeout(function () {
        window.removeEventListener("message", listen);
        window.clearInterval(resend);
        reject(new Error("the LMS did not answer " + message.subject));
      }, WAIT_MS);
      target.postMessage(sent, targetOrigin);
    });
  }

  /* The frame holding the LMS's storage, if it offers both put and get: a window, or null. */
  function storageFrame(storageTarget, storageOrigin, platformOrigins) {
    var parent = window.parent;
    // Capabilities carry no data: any origin may read the question; only the LMS's answer counts.
    return ask(parent, "*", platformOrigins, { subject: "lti.capabilities" }).then(
      function (answer) {
        var frames = {};
        (answer.supported_messages || []).forEach(function (supported) {
          if (supported && typeof supported.subject === "string") {
            frames[supported.subject] = supported.frame || storageTarget;
          }
        });
        if (!frames["lti.put_data"] || !frames["lti.get_data"]) return null;
        return frameNamed(frames["lti.put_data"]);
      }
    );
  }

  function put(frame, origin, key, value) {
    return ask(frame, origin, [origin], { subject: "lti.put_data", key: key, value: value });
  }

  function get(frame, origin, key) {
    return ask(frame, origin, [origin], { subject: "lti.get_data", key: key }).then(
      function (answer) {
        return answer.value;
      }
    );
  }

  window.DreamSeedLtiStorage = {
    storageFrame: storageFrame,
    frameNamed: frameNamed,
    put: put,
    get: get,
    stateKey: function (state) {
      return "dreamseed_state_" + state;
    },
    nonceKey: function (nonce) {
      return "dreamseed_nonce_" + nonce;
    },
  };

  /* The launch page (storage_check.html): the state and nonce must come back from the LMS's
     storage exactly as the login page stored them; then the launch is posted again from here. */
  var check = document.getElementById("lti-storage-check");
  if (!check) return;
  var form = check.querySelector("form");
  var state = check.getAttribute("data-state");
  var nonce = check.getAttribute("data-nonce");
  var origin = check.getAttribute("data-origin");
  var frame = frameNamed(check.getAttribute("data-target"));
  function refuse() {
    check.querySelector("[data-state=checking]").hidden = true;
    check.querySelector("[data-state=refused]").hidden = false;
  }
  Promise.all([
    get(frame, origin, window.DreamSeedLtiStorage.stateKey(state)),
    get(frame, origin, window.DreamSeedLtiStorage.nonceKey(nonce)),
  ]).then(
    function (values) {
      if (values[0] === state && values[1] === nonce) form.submit();
      else refuse();
    },
    refuse
  );
})();
