/* InfraLens in the browser: line links, "mark as done" progress, kept in localStorage.
 * Material's instant navigation swaps pages without a reload, so everything is (re)attached
 * on each `document$` emission instead of on DOMContentLoaded. */
(function () {
  "use strict";

  var STORAGE_KEY = "infralens:done";

  function doneSet() {
    try {
      var stored = JSON.parse(window.localStorage.getItem(STORAGE_KEY) || "[]");
      return new Set(Array.isArray(stored) ? stored : []);
    } catch (error) {
      return new Set();
    }
  }

  function saveDone(done) {
    try {
      window.localStorage.setItem(STORAGE_KEY, JSON.stringify(Array.from(done).sort()));
    } catch (error) {
      /* Storage may be disabled (private mode); progress then lasts for this page only. */
    }
  }

  /* Line-by-line explanation: scroll to the named lines of the excerpt and highlight them. */
  function showLines(link) {
    var block = link.getAttribute("data-il-block");
    var start = parseInt(link.getAttribute("data-il-start"), 10);
    var end = parseInt(link.getAttribute("data-il-end"), 10);
    document.querySelectorAll(".il-highlighted").forEach(function (line) {
      line.classList.remove("il-highlighted");
    });
    var first = null;
    for (var number = start; number <= end; number++) {
      var line = document.getElementById("__span-" + block + "-" + number);
      if (line) {
        line.classList.add("il-highlighted");
        first = first || line;
      }
    }
    if (first) {
      first.scrollIntoView({ block: "center" });
      history.replaceState(null, "", "#__codelineno-" + block + "-" + start);
    }
    return first !== null;
  }

  function attachLineLinks() {
    document.querySelectorAll("a.il-lines").forEach(function (link) {
      link.addEventListener("click", function (event) {
        if (showLines(link)) {
          event.preventDefault();
        }
      });
    });
  }

  function renderToggle(button, done) {
    var isDone = done.has(button.getAttribute("data-il-lab"));
    button.setAttribute("aria-pressed", isDone ? "true" : "false");
    button.textContent = isDone ? "Done \u2713 (click to undo)" : "Mark as done";
    button.classList.toggle("md-button--primary", isDone);
  }

  function attachToggles() {
    document.querySelectorAll("button.il-done-toggle").forEach(function (button) {
      renderToggle(button, doneSet());
      button.addEventListener("click", function () {
        var done = doneSet();
        var lab = button.getAttribute("data-il-lab");
        if (done.has(lab)) {
          done.delete(lab);
        } else {
          done.add(lab);
        }
        saveDone(done);
        renderToggle(button, done);
      });
    });
  }

  /* Lists of labs (index, learning path, home page) show which are done and "k of N done". */
  function renderProgress() {
    var done = doneSet();
    document.querySelectorAll("[data-il-lab]:not(button)").forEach(function (item) {
      item.classList.toggle("il-lab-done", done.has(item.getAttribute("data-il-lab")));
    });
    document.querySelectorAll("[data-il-progress]").forEach(function (counter) {
      var labs = (counter.getAttribute("data-il-progress") || "").split(" ").filter(Boolean);
      var count = labs.filter(function (lab) { return done.has(lab); }).length;
      counter.textContent = count + " of " + labs.length + " done";
    });
  }

  /* Material draws annotation markers as links whose number is CSS-generated text, which screen
   * readers do not announce; give each marker a name. Markers appear after Material mounts the
   * code block, so watch for them. */
  function labelAnnotations(root) {
    root.querySelectorAll(".md-annotation__index:not([aria-label])").forEach(function (marker) {
      var number = marker.querySelector("[data-md-annotation-id]");
      var id = number ? number.getAttribute("data-md-annotation-id") : "";
      marker.setAttribute("aria-label", "Annotation " + id);
    });
  }

  new MutationObserver(function () {
    labelAnnotations(document);
  }).observe(document.documentElement, { childList: true, subtree: true });

  function init() {
    labelAnnotations(document);
    attachLineLinks();
    attachToggles();
    renderProgress();
  }

  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(init);
  } else {
    document.addEventListener("DOMContentLoaded", init);
  }
})();
