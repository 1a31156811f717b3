// The test page without full reloads: answers are posted with fetch and the next question is
// swapped in; focus moves to its heading and a polite live region announces it. Without
// JavaScript the same form posts normally and the server redirects to the next question.
(function () {
  "use strict";
  var region = document.getElementById("question-region");
  var announcer = document.getElementById("announcer");
  if (!region) return;
  var shownAt = performance.now();
  var timerHandle = null;
  // The page's CSRF token; questions swapped in later are sent with it (they carry none).
  var tokenInput = region.querySelector("input[name=csrfmiddlewaretoken]");
  var csrfToken = tokenInput ? tokenInput.value : "";

  function renderMath(root) {
    // static/js/math.js (KaTeX) renders the [data-math] parts of a new question.
    if (window.dreamseedMath) window.dreamseedMath.render(root);
  }

  function announce(text) {
    announcer.textContent = "";
    window.setTimeout(function () { announcer.textContent = text; }, 50);
  }

  function startTimer() {
    var timer = region.querySelector(".timer");
    if (timerHandle) window.clearInterval(timerHandle);
    if (!timer) return;
    var left = parseInt(timer.getAttribute("data-seconds-left"), 10);
    var value = timer.querySelector(".timer-value");
    var started = Date.now();
    function tick() {
      var remaining = Math.max(0, left - Math.floor((Date.now() - started) / 1000));
      var minutes = Math.floor(remaining / 60);
      var seconds = remaining % 60;
      value.textContent = minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
      if (remaining === 300 || remaining === 60) {
        announce(timer.getAttribute("aria-label") + ": " + value.textContent);
      }
      if (remaining <= 0) {
        window.clearInterval(timerHandle);
        window.location.reload(); // the server ends the test and shows the result
      }
    }
    tick();
    timerHandle = window.setInterval(tick, 1000);
  }

  function showQuestion(html) {
    region.innerHTML = html;
    shownAt = performance.now();
    renderMath(region);
    startTimer();
    bindForm();
    var heading = document.getElementById("question-heading");
    if (heading) {
      heading.focus();
      announce(heading.textContent);
    }
  }

  function bindSignToggle() {
    var button = region.querySelector(".sign-toggle");
    if (!button) return;
    var field = document.getElementById(button.getAttribute("aria-controls"));
    button.hidden = false;
    button.addEventListener("click", function () {
      var value = field.value.replace(/^\s+/, "");
      field.value = /^[-−]/.test(value) ? value.replace(/^[-−]\s*/, "") : "-" + value;
    });
  }

  function bindForm() {
    bindSignToggle();
    var form = document.getElementById("answer-form");
    if (!form) return;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      if (button.disabled) return; // a double click sends once
      form.elements["response_time_ms"].value = Math.round(performance.now() - shownAt);
      button.disabled = true;
      send(form, button, new FormData(form), 0);
    });
  }

  // While the server restarts a part of itself it answers 503 with Retry-After (or the
  // connection drops): the same answer is sent again, a few times. That is safe: the server
  // records an answer once and, for a repeat, replies with the current question.
  var RETRIES = 8;

  function send(form, button, body, attempt) {
    fetch(form.action, {
      method: "POST",
      body: body,
      headers: { "X-Requested-With": "fetch", "X-CSRFToken": csrfToken },
      credentials: "same-origin"
    }).then(function (response) {
      if (response.status === 503) {
        var wait = parseInt(response.headers.get("Retry-After"), 10);
        throw { retryAfter: isNaN(wait) ? 2 : wait };
      }
      if (!response.ok) throw { status: response.status };
      return response.json();
    }).then(function (data) {
      if (data.done) {
        window.location.assign(data.url);
      } else {
        showQuestion(data.html);
      }
    }).catch(function (problem) {
      var retryable = !problem || problem.status === undefined; // a 503 or a dropped connection
      if (retryable && attempt < RETRIES) {
        showProblem(form, form.getAttribute("data-retrying"), "status");
        var seconds = problem && problem.retryAfter ? problem.retryAfter : 1 + attempt;
        window.setTimeout(function () {
          send(form, button, body, attempt + 1);
        }, Math.min(10, Math.max(1, seconds)) * 1000);
        return;
      }
      // Nothing is lost: the server either has the answer (and says so next time) or not.
      button.disabled = false;
      showProblem(form, form.getAttribute("data-offline"), "alert");
    });
  }

  function showProblem(form, message, role) {
    var box = document.getElementById("connection-error");
    if (!box) {
      box = document.createElement("div");
      box.id = "connection-error";
      box.className = "form-errors";
      form.insertBefore(box, form.firstChild);
    }
    box.setAttribute("role", role);
    box.textContent = message;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    // Enter on an ordering place sends the answer, as it does in a text field.
    if (target && target.tagName === "SELECT" && target.name === "order" && event.key === "Enter") {
      var form = target.form;
      if (form && form.requestSubmit) {
        event.preventDefault();
        form.requestSubmit();
      }
      return;
    }
    if (target && (target.tagName === "TEXTAREA" || target.tagName === "SELECT" || (target.tagName === "INPUT" && target.type === "text"))) return;
    if (!event.key || event.key.length !== 1) return;
    // A typed question: the first key typed outside the field goes into it.
    var typed = region.querySelector("input[name=response], textarea[name=response]");
    if (typed && event.key !== " " && (!target || !target.closest || !target.closest("a, button"))) {
      typed.focus();
      return;
    }
    var key = event.key.toUpperCase();
    var digit = "1234567".indexOf(key);
    // Radio buttons (single choice, true/false) are chosen; checkboxes (multiple select) toggle.
    var options = region.querySelectorAll("input[name=choice], input[name=choices]");
    var chosen = null;
    options.forEach(function (input, index) {
      if (input.value === key || index === digit) chosen = input;
    });
    if (chosen) {
      chosen.checked = chosen.type === "checkbox" ? !chosen.checked : true;
      chosen.focus();
      event.preventDefault();
    }
  });

  renderMath(region);
  startTimer();
  bindForm();
  // Tells tests (and anyone curious) that keyboard shortcuts and no-reload answering are live.
  document.documentElement.setAttribute("data-take-test-ready", "");
})();
