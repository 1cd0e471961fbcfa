/* Explorations: a figure with a control shows its first drawing without JavaScript. Moving the
 * control fetches, once, the file of that figure's other drawings from this site and shows the
 * drawing and the numbers of the chosen value. Instant navigation swaps pages without a reload,
 * so controls are attached on each `document$` emission. */
(function () {
  "use strict";

  function attach(figure) {
    var box = figure.querySelector(".il-figure-control");
    var control = box && box.querySelector("input, select");
    if (!control || figure.hasAttribute("data-il-ready")) {
      return;
    }
    figure.setAttribute("data-il-ready", "");
    box.hidden = false;
    var output = box.querySelector("output");
    var url = new URL(figure.getAttribute("data-il-variants"), document.baseURI).href;
    var loading = null;

    function load() {
      loading = loading || fetch(url).then(function (response) {
        if (!response.ok) {
          throw new Error(response.status + " " + url);
        }
        return response.json();
      });
      return loading;
    }

    function show() {
      var index = parseInt(control.value, 10);
      load().then(function (variants) {
        var drawing = variants.drawings[index];
        figure.querySelector(".il-figure-drawing").innerHTML = drawing.svg;
        figure.querySelector(".il-figure-table").innerHTML = drawing.table;
        if (output) {
          output.textContent = variants.values[index];
        }
        var says = figure.querySelector(".il-figure-says");
        if (says && variants.says && variants.says[index]) {
          says.textContent = variants.says[index];
        }
        figure.setAttribute("data-il-shown", String(index));
      });
    }

    control.addEventListener("input", show);
    control.addEventListener("change", show);
    /* Start fetching when the learner reaches for the control, before the value changes. */
    control.addEventListener("pointerdown", load, { once: true });
    control.addEventListener("focus", load, { once: true });
  }

  /* A drawing wider than the column (a phone's) scrolls sideways in its box: the box then takes
   * the keyboard's focus, so that arrow keys scroll it too. The stylesheet shrinks a drawing to
   * no less than 0.85 of its width. The column's width comes from a ResizeObserver, which reports
   * it after the browser has laid the page out: reading it on load would force a layout of the
   * whole page while it is still loading. */
  function scrollable(column) {
    document.querySelectorAll("figure.il-figure .il-figure-drawing").forEach(function (box) {
      var svg = box.querySelector("svg");
      var wide = svg && 0.85 * parseFloat(svg.getAttribute("width")) > column + 1;
      if (wide) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "group");
        box.setAttribute("aria-label", "Drawing, wider than the screen: scroll sideways");
      } else {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    });
  }

  var column = null;

  function watchColumn() {
    if (column) {
      column.disconnect();
    }
    var article = document.querySelector("article");
    if (!article || !document.querySelector("figure.il-figure") || typeof ResizeObserver === "undefined") {
      return;
    }
    column = new ResizeObserver(function (entries) {
      scrollable(entries[entries.length - 1].contentRect.width);
    });
    column.observe(article);
  }

  function init() {
    document.querySelectorAll("figure.il-figure[data-il-variants]").forEach(attach);
    watchColumn();
  }

  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(init);
  } else {
    document.addEventListener("DOMContentLoaded", init);
  }
})();
