// Read aloud, an accommodation a teacher turns on per student: the browser's speech synthesis
// reads the current question's stem and answers in the page's language. Images are read by their
// alt text and formulas by their LaTeX source. Screen reader users hear nothing extra (the toggle
// only carries aria-pressed); where the browser has no speech synthesis the button stays hidden.
(function () {
  "use strict";
  var box = document.querySelector("[data-read-aloud]");
  var region = document.getElementById("question-region");
  if (!box || !region) return;
  if (!window.speechSynthesis || typeof window.SpeechSynthesisUtterance !== "function") return;
  var synth = window.speechSynthesis;
  var toggle = box.querySelector("[data-read-aloud-toggle]");
  var stop = box.querySelector("[data-read-aloud-stop]");
  var REGIONS = { en: "en-US", ko: "ko-KR", es: "es-ES" };
  var pageLanguage = (document.documentElement.lang || "en").toLowerCase();
  var language = REGIONS[pageLanguage.split("-")[0]] || pageLanguage;
  var generation = 0; // bumped on every start and stop: late "end" events of old readings are ignored

  function voiceFor(tag) {
    var voices = typeof synth.getVoices === "function" ? synth.getVoices() || [] : [];
    var wanted = tag.toLowerCase();
    var primary = wanted.split("-")[0];
    var exact = null;
    var close = null;
    for (var i = 0; i < voices.length; i++) {
      var lang = (voices[i].lang || "").replace("_", "-").toLowerCase();
      if (!exact && lang === wanted) exact = voices[i];
      if (!close && lang.split("-")[0] === primary) close = voices[i];
    }
    return exact || close;
  }

  function spokenText(element) {
    var copy = element.cloneNode(true);
    // KaTeX keeps the LaTeX it typeset in an annotation: read that, not the glyphs.
    copy.querySelectorAll(".katex").forEach(function (math) {
      var source = math.querySelector('annotation[encoding="application/x-tex"]');
      math.replaceWith(" " + (source ? source.textContent : math.textContent) + " ");
    });
    copy.querySelectorAll("img").forEach(function (image) {
      image.replaceWith(" " + (image.getAttribute("alt") || "") + " ");
    });
    copy.querySelectorAll("[hidden], .visually-hidden").forEach(function (hidden) {
      hidden.remove();
    });
    return copy.textContent.replace(/\s+/g, " ").trim();
  }

  function questionParts() {
    var parts = [];
    var stem = region.querySelector(".stem");
    if (stem) parts.push(spokenText(stem));
    region.querySelectorAll(".options .option").forEach(function (option) {
      var key = option.querySelector(".option-key");
      var text = option.querySelector(".option-text");
      var spoken = spokenText(text || option);
      parts.push(key ? key.textContent.trim() + ". " + spoken : spoken);
    });
    return parts.filter(function (part) { return part; });
  }

  function show(reading) {
    toggle.setAttribute("aria-pressed", reading ? "true" : "false");
    stop.hidden = !reading;
  }

  function halt() {
    generation++;
    synth.cancel();
    show(false);
  }

  function read() {
    halt();
    var mine = generation;
    var parts = questionParts();
    if (!parts.length) return;
    var voice = voiceFor(language);
    show(true);
    parts.forEach(function (text, index) {
      var utterance = new window.SpeechSynthesisUtterance(text);
      utterance.lang = language;
      if (voice) utterance.voice = voice;
      if (index === parts.length - 1) {
        utterance.onend = utterance.onerror = function () {
          if (mine === generation) show(false);
        };
      }
      synth.speak(utterance);
    });
  }

  function reading() {
    return toggle.getAttribute("aria-pressed") === "true";
  }

  toggle.addEventListener("click", function () {
    if (reading()) halt();
    else read();
  });
  stop.addEventListener("click", function () {
    halt();
    toggle.focus(); // the Stop button has just been hidden
  });
  document.addEventListener("keydown", function (event) {
    if (event.altKey && !event.ctrlKey && !event.metaKey && event.code === "KeyR") {
      event.preventDefault();
      if (reading()) halt();
      else read();
    } else if (event.key === "Escape" && reading()) {
      halt();
    }
  });
  // A new question is swapped in after each answer: stop reading the old one.
  new MutationObserver(function () {
    if (reading()) halt();
  }).observe(region, { childList: true });
  window.addEventListener("pagehide", function () { synth.cancel(); });
  box.hidden = false;
})();
