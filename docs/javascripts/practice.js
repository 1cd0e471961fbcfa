/* Practice mode: checkpoint questions from the labs marked done in this browser, scheduled by
 * spaced repetition. Each question sits in a box (0 to 5): "I had it" moves it up a box and asks
 * it again after 1, 3, 7, 16 or 35 days, "Not yet" back to box 0, asked again in ten minutes.
 * The schedule lives in localStorage and can be exported to a file and imported again. A
 * question whose answer the program prints asks for the number first (predict.js judges it).
 * Runs only on the page that has a `.il-practice` box. */
(function () {
  "use strict";

  var DONE_KEY = "infralens:done";
  var RESULTS_KEY = "infralens:practice";
  var DAY = 24 * 60 * 60 * 1000;
  var INTERVALS = [10 * 60 * 1000, DAY, 3 * DAY, 7 * DAY, 16 * DAY, 35 * DAY];

  function read(key, fallback) {
    try {
      var value = JSON.parse(window.localStorage.getItem(key) || "null");
      return value === null ? fallback : value;
    } catch (error) {
      return fallback;
    }
  }

  function write(key, value) {
    try {
      window.localStorage.setItem(key, JSON.stringify(value));
    } catch (error) {
      /* Storage may be off (private mode): results then last for this page only. */
    }
  }

  function element(tag, className, html) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (html !== undefined) {
      node.innerHTML = html;
    }
    return node;
  }

  function button(label, className) {
    var node = element("button", "md-button " + (className || ""));
    node.type = "button";
    node.textContent = label;
    return node;
  }

  /* The question to ask now: one never asked (at random), else the one due longest ago; none if
   * every question is scheduled for later. */
  function choose(pool, results, now) {
    var fresh = pool.filter(function (question) { return !results[question.id]; });
    if (fresh.length) {
      return fresh[Math.floor(Math.random() * fresh.length)];
    }
    var due = pool.filter(function (question) { return (results[question.id].due || 0) <= now; });
    due.sort(function (a, b) { return (results[a.id].due || 0) - (results[b.id].due || 0); });
    return due[0] || null;
  }

  function schedule(entry, right, now) {
    var box = entry.box === undefined ? (entry.right ? 1 : 0) : entry.box;
    box = right ? Math.min(box + 1, INTERVALS.length - 1) : 0;
    return { right: right, asked: (entry.asked || 0) + 1, box: box, due: now + INTERVALS[box] };
  }

  function later(due, now) {
    var hours = Math.ceil((due - now) / (60 * 60 * 1000));
    var days = Math.round(hours / 24);
    return hours < 24 ? "in " + hours + " hour" + (hours === 1 ? "" : "s")
      : "in " + days + " day" + (days === 1 ? "" : "s");
  }

  function start(box, questions, dataUrl) {
    var everything = false;
    var forced = null;
    var results = read(RESULTS_KEY, {});

    function pool() {
      var done = read(DONE_KEY, []);
      return everything ? questions : questions.filter(function (question) {
        return done.indexOf(question.lab) >= 0;
      });
    }

    function score(from) {
      var right = from.filter(function (question) {
        return results[question.id] && results[question.id].right;
      }).length;
      return right + " of " + from.length + " questions answered right";
    }

    function ask() {
      var from = pool();
      box.innerHTML = "";
      if (!from.length) {
        box.appendChild(element("p", "il-practice-status",
          "No lab is marked done in this browser yet. Mark labs as done at the bottom of their pages, " +
          "or practise with every lab."));
        var all = button("Practise with every lab", "md-button--primary");
        all.addEventListener("click", function () {
          everything = true;
          ask();
        });
        box.appendChild(all);
        return;
      }
      var now = Date.now();
      var question = forced || choose(from, results, now);
      forced = null;
      if (!question) {
        var next = Math.min.apply(null, from.map(function (each) { return results[each.id].due; }));
        box.appendChild(element("p", "il-practice-status",
          "Nothing is due: the next question comes back " + later(next, now) + "."));
        var anyway = button("Practise one anyway", "md-button--primary");
        anyway.addEventListener("click", function () {
          forced = from[Math.floor(Math.random() * from.length)];
          ask();
        });
        box.appendChild(anyway);
        box.appendChild(element("p", "il-practice-score", score(from)));
        box.appendChild(transfer());
        return;
      }
      var card = element("div", "il-practice-card");
      var lab = element("p", "il-practice-lab");
      var link = element("a");
      link.href = new URL(question.href, dataUrl).href;
      link.textContent = question.label;
      lab.appendChild(link);
      card.appendChild(lab);
      card.appendChild(element("p", "il-practice-question", question.question));
      if (question.code) card.appendChild(codeBlock(question.code));
      var reveal = button("Show the answer", "md-button--primary");
      var answer = element("div", "il-practice-answer", "<p>" + question.answer + "</p>");
      if (question.output) {
        var printed = element("p", "il-practice-output", "The program prints: ");
        var line = element("code");
        line.textContent = question.output;
        printed.appendChild(line);
        answer.appendChild(printed);
      }
      answer.hidden = true;
      var grade = element("div", "il-practice-grade");
      grade.hidden = true;
      var had = button("I had it", "md-button--primary");
      var not = button("Not yet");
      grade.appendChild(had);
      grade.appendChild(not);
      function show() {
        answer.hidden = false;
        grade.hidden = false;
        reveal.hidden = true;
        had.focus();
      }
      reveal.addEventListener("click", show);
      function record(right) {
        results[question.id] = schedule(results[question.id] || {}, right, Date.now());
        write(RESULTS_KEY, results);
        ask();
      }
      had.addEventListener("click", function () { record(true); });
      not.addEventListener("click", function () { record(false); });
      if (question.predict && window.InfraLensPredict) {
        card.appendChild(prediction(question.predict, function (verdict) {
          show();
          (verdict.ok ? had : not).focus();
        }));
      }
      card.appendChild(reveal);
      card.appendChild(answer);
      card.appendChild(grade);
      box.appendChild(card);
      box.appendChild(element("p", "il-practice-score", score(from)));
      box.appendChild(transfer());
    }

    /* Export the schedule and the labs marked done to a file, or import such a file. */
    function transfer() {
      var row = element("p", "il-practice-transfer");
      var save = button("Export progress");
      save.addEventListener("click", function () {
        var data = JSON.stringify({ done: read(DONE_KEY, []), practice: results }, null, 1);
        var link = element("a");
        link.href = URL.createObjectURL(new Blob([data], { type: "application/json" }));
        link.download = "infralens-progress.json";
        document.body.appendChild(link);
        link.click();
        link.remove();
      });
      var load = element("label", "md-button il-practice-import", "Import progress");
      var file = element("input");
      file.type = "file";
      file.accept = "application/json,.json";
      file.addEventListener("change", function () {
        if (!file.files.length) {
          return;
        }
        file.files[0].text().then(function (text) {
          var data;
          try {
            data = JSON.parse(text);
          } catch (error) {
            row.appendChild(element("span", "il-practice-status", "That file is not exported progress."));
            return;
          }
          if (Array.isArray(data.done)) {
            write(DONE_KEY, data.done);
          }
          if (data.practice && typeof data.practice === "object") {
            results = data.practice;
            write(RESULTS_KEY, results);
          }
          ask();
        });
      });
      load.appendChild(file);
      row.appendChild(save);
      row.appendChild(load);
      return row;
    }

    ask();
  }

  /* The output line with a blank where the answer goes, a field for the learner's number and its verdict. */
  /* The lab page's prediction box (a copy of the page's prototype), judged by predict.js. */
  function prediction(answer, done) {
    var part = document.querySelector(".il-predict-prototype .il-predict").cloneNode(true);
    part.classList.add("il-practice-predict");
    var samp = part.querySelector(".il-predict-line samp");
    samp.insertBefore(document.createTextNode(answer.before), samp.firstChild);
    samp.appendChild(document.createTextNode(answer.after));
    part.setAttribute("data-il-answer", JSON.stringify(answer));
    window.InfraLensPredict.attach(part, function (verdict) {
      part.querySelector(".il-predict-check").disabled = true;
      done(verdict);
    });
    return part;
  }

  // The starter lines a question is about, numbered as in the starter, since practice shows no excerpt.
  function codeBlock(code) {
    var pre = element("pre", "il-practice-code");
    var width = String(code.first + code.lines.length - 1).length;
    // The lines' common indentation is dropped: on a phone it would push the code out of sight.
    var indent = Math.min.apply(null, code.lines.filter(function (text) { return text.trim(); })
      .map(function (text) { return text.length - text.replace(/^\s+/, "").length; }));
    pre.textContent = code.lines.map(function (text, index) {
      var number = String(code.first + index);
      return " ".repeat(width - number.length) + number + "  " + text.slice(indent);
    }).join("\n");
    pre.setAttribute("aria-label", "Starter lines " + code.first + " to " + (code.first + code.lines.length - 1));
    pre.tabIndex = 0;
    return pre;
  }

  function init() {
    var box = document.querySelector(".il-practice");
    var data = box && box.querySelector("a.il-practice-data");
    if (!data) {
      return;
    }
    var url = data.href;
    fetch(url).then(function (response) {
      return response.json();
    }).then(function (questions) {
      start(box, questions, url);
    });
  }

  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(init);
  } else {
    document.addEventListener("DOMContentLoaded", init);
  }
})();
