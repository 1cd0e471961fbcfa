/* Predict, then reveal: a checkpoint whose answer the program prints asks for the number first.
 * The box carries the answer as printed (`shown`), its value in the printed unit, the share a
 * prediction may be off (`tolerance`) and half a unit of the last printed digit (`precision`).
 * Checking fills the blank in the output line and opens the checkpoint's answer above the box.
 * Practice (practice.js) fills a copy of the same box for each question and attaches it here. */
(function () {
  "use strict";

  function parse(text) {
    var cleaned = String(text).replace(/[\s,_]/g, "").replace(/\u2212/g, "-");
    var percent = /%$/.test(cleaned);
    cleaned = cleaned.replace(/%$/, "");
    if (!/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(cleaned)) {
      return null;
    }
    return { value: parseFloat(cleaned), percent: percent };
  }

  function judge(answer, text) {
    var guess = parse(text);
    if (!guess) {
      return { ok: null, message: "Write a number, for example 0.28, 1,270 or 3e-5." };
    }
    var value = guess.value;
    var printedPercent = /%$/.test(answer.shown);
    if (printedPercent && !guess.percent && Math.abs(value) <= 1 && Math.abs(answer.value) > 1) {
      value *= 100; /* a fraction for a printed percentage */
    }
    var allowed = Math.max(answer.tolerance * Math.abs(answer.value), answer.precision) * (1 + 1e-9);
    var off = Math.abs(value - answer.value);
    if (off <= allowed) {
      return { ok: true, message: "Yes: the program prints " + answer.shown +
        (answer.tolerance ? " (you were within " + Math.round(answer.tolerance * 100) + "%)." : ".") };
    }
    var share = answer.value ? Math.round(100 * off / Math.abs(answer.value)) : null;
    return { ok: false, message: "Not quite: the program prints " + answer.shown +
      (share !== null ? "; yours is " + share + "% " + (value > answer.value ? "too high" : "too low") + "." : ".") +
      " Read the answer to see why." };
  }

  /* `done(verdict)`, if given, is called instead of opening the answer above the box. */
  function attach(box, done) {
    if (box.hasAttribute("data-il-ready")) {
      return;
    }
    box.setAttribute("data-il-ready", "");
    box.hidden = false;
    var answer = JSON.parse(box.getAttribute("data-il-answer"));
    var input = box.querySelector("input");
    var result = box.querySelector(".il-predict-result");
    var question = box.previousElementSibling;

    function check() {
      var verdict = judge(answer, input.value);
      result.textContent = verdict.message;
      result.className = "il-predict-result" + (verdict.ok === null ? "" : verdict.ok ? " il-predict-right" : " il-predict-wrong");
      if (verdict.ok === null) {
        input.focus();
        return;
      }
      box.querySelector(".il-predict-blank").textContent = answer.shown;
      box.classList.add("il-predict-done");
      if (done) {
        done(verdict);
      } else if (question && question.tagName === "DETAILS") {
        question.open = true;
      }
    }

    box.querySelector(".il-predict-check").addEventListener("click", check);
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        check();
      }
    });
  }

  window.InfraLensPredict = { judge: judge, attach: attach };

  function init() {
    document.querySelectorAll(".il-predict[data-il-answer]").forEach(attach);
  }

  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(init);
  } else {
    document.addEventListener("DOMContentLoaded", init);
  }
})();
