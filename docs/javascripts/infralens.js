/* InfraLens in the browser: line links, notes beside the code, "mark as done" progress.
 * Material's instant navigation swaps pages without a reload, so page content is (re)attached
 * on each `document$` emission; clicks are handled by one listener on the document, which
 * outlives the swaps. */
(function () {
  "use strict";

  var STORAGE_KEY = "infralens:done";
  var WIDE = window.matchMedia("(min-width: 76.25em)"); /* as the side-by-side layout in infralens.css */

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

  /* Put the elements from `first` to `last` fully in the window below the sticky header,
   * centred when they fit; leave the page where it is if they are already in view. */
  function bringIntoView(first, last) {
    var header = document.querySelector(".md-header");
    var top = header ? Math.max(0, header.getBoundingClientRect().bottom) : 0;
    var margin = 8;
    var upper = first.getBoundingClientRect().top;
    var lower = last.getBoundingClientRect().bottom;
    if (upper >= top + margin && lower <= window.innerHeight - margin) {
      return;
    }
    var room = window.innerHeight - top;
    var offset = lower - upper + 2 * margin <= room ? (room - (lower - upper)) / 2 : margin;
    window.scrollBy({ top: upper - top - offset, behavior: "instant" });
  }

  /* The address shows what the reader is looking at; replaceState adds no history entry and
   * keeps Material's state (its scroll position) intact. */
  function showInAddress(id) {
    history.replaceState(history.state, "", "#" + id);
  }

  /* Line-by-line explanation and notes: scroll to the named lines of an excerpt and highlight
   * them until other lines are picked. */
  function showLines(link) {
    var block = link.getAttribute("data-il-block");
    var start = parseInt(link.getAttribute("data-il-start"), 10);
    var end = parseInt(link.getAttribute("data-il-end"), 10);
    var lines = [];
    for (var number = start; number <= end; number++) {
      var line = document.getElementById("__span-" + block + "-" + number);
      if (line) {
        lines.push(line);
      }
    }
    if (!lines.length) {
      return false;
    }
    document.querySelectorAll(".il-highlighted").forEach(function (each) {
      each.classList.remove("il-highlighted");
    });
    lines.forEach(function (each) {
      each.classList.add("il-highlighted");
    });
    bringIntoView(lines[0], lines[lines.length - 1]);
    showInAddress("__codelineno-" + block + "-" + start);
    return true;
  }

  /* A marker opens its note: in view, highlighted, focused (so keyboard reading goes on there). */
  function showNote(marker) {
    /* `hash`, not the attribute: instant navigation rewrites hrefs to full addresses. */
    var note = document.getElementById(decodeURIComponent(marker.hash.slice(1)));
    if (!note) {
      return false;
    }
    document.querySelectorAll(".il-note--active").forEach(function (each) {
      each.classList.remove("il-note--active");
    });
    note.classList.add("il-note--active");
    bringIntoView(note, note);
    note.focus({ preventScroll: true });
    showInAddress(note.id);
    return true;
  }

  /* Capture phase on the document: runs before Material's instant navigation, which would
   * otherwise fetch this same page again for a link to a spot on it, and draw a fresh copy
   * without the highlight. */
  document.addEventListener("click", function (event) {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return;
    }
    var link = event.target instanceof Element ? event.target.closest("a") : null;
    if (!link) {
      return;
    }
    var handled = false;
    if (link.matches("a.il-note__line")) {
      handled = showLines(link);
      /* Back from a note: keyboard reading goes on at the marker on that line. */
      var line = handled && document.getElementById(
        "__span-" + link.getAttribute("data-il-block") + "-" + link.getAttribute("data-il-start"));
      var marker = line && line.querySelector("a.il-marker");
      if (marker) {
        marker.focus({ preventScroll: true });
      }
    } else if (link.matches("a.il-lines")) {
      handled = showLines(link);
    } else if (link.matches("a.il-marker")) {
      handled = showNote(link);
    }
    if (handled) {
      event.preventDefault();
      event.stopPropagation();
    }
  }, true);

  /* Wide screens: each note level with its marked line, never over the note before it.
   * One pass reads every position, then margins are written; margins only ever push notes
   * down, so they cannot overlap. */
  function alignNotes(box) {
    var code = box.querySelector(".highlight");
    var notes = box.querySelector("ol.il-notes");
    if (!code || !notes) {
      return;
    }
    var items = Array.prototype.slice.call(notes.children);
    if (!WIDE.matches) {
      items.forEach(function (item) { item.style.marginTop = ""; });
      return;
    }
    var block = code.id;
    var first = code.querySelector("code > [id^='__span-']");
    if (first && first.checkVisibility && !first.checkVisibility({ contentVisibilityAuto: true })) {
      return; /* not drawn yet (far from the window): aligned when it is, see attachNotes */
    }
    var listTop = notes.getBoundingClientRect().top;
    var plan = items.map(function (item) {
      var line = document.getElementById("__span-" + block + "-" + item.getAttribute("data-il-line"));
      return {
        item: item,
        top: item.getBoundingClientRect().top - listTop,
        margin: parseFloat(item.style.marginTop) || 0,
        want: line ? line.getBoundingClientRect().top - listTop : null
      };
    });
    var oldShift = 0;
    var newShift = 0;
    plan.forEach(function (step) {
      oldShift += step.margin;
      var placed = step.top - oldShift + newShift; /* where it sits with no margin of its own */
      step.next = step.want === null ? 0 : Math.max(0, Math.round(step.want - placed));
      newShift += step.next;
    });
    plan.forEach(function (step) {
      step.item.style.marginTop = step.next ? step.next + "px" : "";
    });
  }

  var observer = null;

  function attachNotes() {
    if (observer) {
      observer.disconnect();
    }
    var boxes = document.querySelectorAll(".il-annotated");
    if (!boxes.length || typeof ResizeObserver === "undefined") {
      return;
    }
    /* A code block's size changes when its lines wrap differently: realign then. The observer
     * also reports each block once at the start, after layout, so the first alignment costs
     * no extra layout pass. */
    observer = new ResizeObserver(function (entries) {
      entries.forEach(function (entry) {
        alignNotes(entry.target.parentElement);
      });
    });
    boxes.forEach(function (box) {
      var code = box.querySelector(".highlight");
      if (code) {
        observer.observe(code);
        /* The stylesheet leaves code far from the window undrawn (content-visibility). */
        code.addEventListener("contentvisibilityautostatechange", function (event) {
          if (!event.skipped) {
            alignNotes(box);
          }
        });
      }
    });
  }

  WIDE.addEventListener("change", function () {
    document.querySelectorAll(".il-annotated").forEach(alignNotes);
  });

  /* A display formula wider than the screen scrolls in its own box; a keyboard can scroll it
   * only if it can take focus. */
  function focusableWideFormulas() {
    document.querySelectorAll('.md-typeset math[display="block"]').forEach(function (formula) {
      if (formula.scrollWidth > formula.clientWidth + 1) {
        formula.setAttribute("tabindex", "0");
      } else {
        formula.removeAttribute("tabindex");
      }
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
    /* The navigation and the previous/next links tick the labs done, wherever the reader is. */
    document.querySelectorAll("a.md-nav__link[href], a.md-footer__link[href]").forEach(function (link) {
      var lab = new URL(link.href, document.baseURI).pathname.match(/\/labs\/(lab-[^/]+)\/$/);
      link.classList.toggle("il-lab-done", Boolean(lab) && done.has(lab[1]));
    });
  }

  function init() {
    attachNotes();
    attachToggles();
    renderProgress();
    if (document.querySelector('.md-typeset math[display="block"]')) {
      window.requestAnimationFrame(focusableWideFormulas);
    }
  }

  var resizing = false;
  window.addEventListener("resize", function () {
    if (resizing || !document.querySelector('.md-typeset math[display="block"]')) {
      return;
    }
    resizing = true; /* once per frame, however often the window reports a new size */
    window.requestAnimationFrame(function () {
      resizing = false;
      focusableWideFormulas();
    });
  });

  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(init);
  } else {
    document.addEventListener("DOMContentLoaded", init);
  }
})();
