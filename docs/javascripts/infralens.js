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

  /* A jump inside the page is a history entry, so Back returns to where the reader was. The
   * entry left behind keeps the scroll position from before the jump, in the {x, y} form
   * Material keeps in history.state; a "back to where you were" button offers the same. */
  function showInAddress(id, before) {
    if (location.hash === "#" + id) {
      return;
    }
    history.replaceState(before, "");
    history.pushState({ x: window.scrollX, y: window.scrollY }, "", "#" + id);
    offerWayBack();
  }

  function offerWayBack() {
    var button = document.querySelector(".il-way-back");
    if (!button) {
      button = document.createElement("button");
      button.type = "button";
      button.className = "il-way-back md-button";
      button.textContent = "\u21a9 Back to where you were";
      button.addEventListener("click", function () {
        history.back();
      });
      document.body.appendChild(button);
    }
    button.hidden = false;
  }

  /* Where the reader is: the scroll position, and the link they followed with its place in the
   * window, which Back restores even if the page's height changed meanwhile. */
  var jumpedFrom = null;

  function here() {
    var state = { x: window.scrollX, y: window.scrollY };
    if (jumpedFrom) { /* the link itself is kept here; the history entry holds its number */
      state.from = origins.push(jumpedFrom) - 1;
      state.top = jumpedFrom.getBoundingClientRect().top;
    }
    return state;
  }

  var origins = [];

  /* Back and Forward within the page: return to the entry's position and show what its address
   * names (the highlighted lines or the open note), as a reload or a shared link does. Captured
   * before Material's instant navigation, which would otherwise load this same page afresh
   * (closing the checkpoint the reader came from); a step to another page is left to it. */
  var shownPath = location.pathname;
  window.infralensPopstate = function (event) { /* called by the listener overrides/main.html adds first */
    if (location.pathname !== shownPath) {
      return;
    }
    event.stopImmediatePropagation();
    var state = event.state;
    if (state && typeof state.y === "number") {
      var from = typeof state.from === "number" && origins[state.from];
      from = from && from.isConnected ? from : null;
      /* Put the link back where it was in the window; again once the sections drawn on the way
       * (their height was only estimated) and Material's own restore have settled. */
      var restore = function () {
        if (from) {
          window.scrollBy(0, from.getBoundingClientRect().top - state.top);
        } else {
          window.scrollTo(state.x || 0, state.y);
        }
      };
      window.requestAnimationFrame(restore);
      window.setTimeout(restore, 150);
      window.setTimeout(restore, 400);
      if (from) {
        from.focus({ preventScroll: true });
      }
    }
    showAddressed(false);
    var button = document.querySelector(".il-way-back");
    if (button) {
      button.hidden = !location.hash;
    }
  };

  /* Line-by-line explanation and notes: scroll to the named lines of an excerpt and highlight
   * them until other lines are picked. */
  function showLines(link) {
    return highlightLines(link.getAttribute("data-il-block"), parseInt(link.getAttribute("data-il-start"), 10),
                          parseInt(link.getAttribute("data-il-end"), 10), true);
  }

  /* The starter page folds the lab's notes at the top of the file (see starter.md.j2): the
   * lines are hidden, the first line after them says so, and a button shows them. Lines an
   * address or a link names are never left folded. */
  function foldedLines() {
    var note = document.querySelector(".il-fold-note[data-il-fold]");
    if (!note) {
      return null;
    }
    var parts = note.getAttribute("data-il-fold").split(" ");
    return { note: note, block: parts[0], start: parseInt(parts[1], 10), end: parseInt(parts[2], 10) };
  }

  function setFolded(folded) {
    var fold = foldedLines();
    if (!fold) {
      return;
    }
    for (var number = fold.start; number <= fold.end; number++) {
      var line = document.getElementById("__span-" + fold.block + "-" + number);
      if (line) {
        line.classList.toggle("il-folded", folded);
      }
    }
    /* In place of the lines, an empty line whose words are drawn by the stylesheet: copying
     * the code never takes them. */
    var mark = document.querySelector(".il-fold-line");
    var after = document.getElementById("__span-" + fold.block + "-" + (fold.end + 1));
    if (folded && !mark && after) {
      mark = document.createElement("span");
      mark.className = "il-fold-line";
      mark.setAttribute("data-il-folded", "\u22ef lines " + fold.start + "\u2013" + fold.end + ": the lab's notes, folded");
      after.parentNode.insertBefore(mark, after);
    } else if (!folded && mark) {
      mark.remove();
    }
    var toggle = fold.note.querySelector(".il-fold-toggle");
    toggle.setAttribute("aria-expanded", folded ? "false" : "true");
    toggle.textContent = (folded ? "Show" : "Fold") + " lines " + fold.start + "\u2013" + fold.end;
  }

  function attachFold() {
    var fold = foldedLines();
    if (!fold || fold.note.hasAttribute("data-il-ready")) {
      return;
    }
    fold.note.setAttribute("data-il-ready", "");
    fold.note.hidden = false;
    var named = /^__codelineno-(.+)-(\d+)$/.exec(decodeURIComponent(location.hash.slice(1)));
    var inside = named && named[1] === fold.block && +named[2] >= fold.start && +named[2] <= fold.end;
    setFolded(!inside);
    fold.note.querySelector(".il-fold-toggle").addEventListener("click", function () {
      setFolded(this.getAttribute("aria-expanded") === "true");
    });
  }

  function unfold(block, start, end) {
    var fold = foldedLines();
    if (fold && fold.block === block && start <= fold.end && end >= fold.start) {
      setFolded(false);
    }
  }

  function highlightLines(block, start, end, jump) {
    unfold(block, start, end);
    var before = here();
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
    if (jump) {
      bringIntoView(lines[0], lines[lines.length - 1]);
      showInAddress("__codelineno-" + block + "-" + start, before);
      try {
        sessionStorage.setItem("infralens:range:" + location.pathname + "__codelineno-" + block + "-" + start,
                               String(end));
      } catch (error) { /* private mode: the first line alone is restored */ }
    }
    return true;
  }

  /* A marker opens its note: in view, highlighted, focused (so keyboard reading goes on there). */
  function showNote(marker) {
    /* `hash`, not the attribute: instant navigation rewrites hrefs to full addresses. */
    return openNote(document.getElementById(decodeURIComponent(marker.hash.slice(1))), true);
  }

  function openNote(note, jump) {
    var before = here();
    if (!note) {
      return false;
    }
    document.querySelectorAll(".il-note--active").forEach(function (each) {
      each.classList.remove("il-note--active");
    });
    note.classList.add("il-note--active");
    if (jump) {
      bringIntoView(note, note);
      note.focus({ preventScroll: true });
      showInAddress(note.id, before);
    }
    return true;
  }

  /* What the address names, shown again on load, reload, Back or a shared link: highlighted
   * lines (`#__codelineno-<block>-<line>`, with the range remembered in the session) or an open
   * note. `scroll`: bring it into view, as a fresh load of the address does. */
  function showAddressed(scroll) {
    var id = decodeURIComponent(location.hash.slice(1));
    var lines = /^__codelineno-(.+)-(\d+)$/.exec(id);
    if (lines) {
      var start = parseInt(lines[2], 10);
      var end = parseInt(sessionStorage.getItem("infralens:range:" + location.pathname + id) || start, 10);
      highlightLines(lines[1], start, end, false);
      var first = document.getElementById("__span-" + lines[1] + "-" + start);
      if (scroll && first) {
        bringIntoView(first, document.getElementById("__span-" + lines[1] + "-" + end) || first);
      }
    } else {
      document.querySelectorAll(".il-highlighted").forEach(function (each) {
        each.classList.remove("il-highlighted");
      });
      var note = id && document.getElementById(id);
      if (note && note.matches(".il-notes > li")) {
        openNote(note, false);
      }
    }
  }

  /* A note and its line belong together: pointing at (or focusing) either one marks the note,
   * the marker and the code line, so that a note that sits a little below its line is never
   * read against the wrong one. */
  var paired = [];

  function pairWith(element) {
    paired.forEach(function (each) { each.classList.remove("il-paired"); });
    paired = [];
    var note = element instanceof Element ? element.closest(".il-notes > li") : null;
    var marker = null;
    if (note) {
      /* Material's instant navigation makes every link absolute: match the end of it. */
      marker = document.querySelector('a.il-marker[href$="#' + note.id + '"]');
    } else {
      marker = element instanceof Element ? element.closest("a.il-marker") : null;
      note = marker && document.getElementById(decodeURIComponent(new URL(marker.href).hash.slice(1)));
    }
    if (!note || !marker) {
      return;
    }
    paired = [note, marker, marker.closest('[id^="__span-"]')].filter(Boolean);
    paired.forEach(function (each) { each.classList.add("il-paired"); });
  }

  document.addEventListener("mouseover", function (event) { pairWith(event.target); });
  document.addEventListener("focusin", function (event) { pairWith(event.target); });

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
    jumpedFrom = link;
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
    jumpedFrom = null;
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
        renderProgress(); /* the navigation ticks the lab at once */
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
    shownPath = location.pathname;
    var button = document.querySelector(".il-way-back");
    if (button) {
      button.hidden = true; /* a page reached by instant navigation starts without a jump to undo */
    }
    attachFold();
    if (location.hash) {
      showAddressed(true);
    }
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
