/* Practice mode: a random checkpoint question from the labs marked done in this browser, the
 * answer on request, and a record (in localStorage) of which questions the learner had right,
 * so that the others come first. Runs only on the page that has a `.il-practice` box. */
(function () {
  "use strict";

  var DONE_KEY = "infralens:done";
  var RESULTS_KEY = "infralens:practice";

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

  function choose(pool, results) {
    var open = pool.filter(function (question) {
      return !(results[question.id] && results[question.id].right);
    });
    var from = open.length ? open : pool;
    return from[Math.floor(Math.random() * from.length)];
  }

  function start(box, questions, dataUrl) {
    var everything = false;
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
      var question = choose(from, results);
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
      reveal.addEventListener("click", function () {
        answer.hidden = false;
        grade.hidden = false;
        reveal.hidden = true;
        had.focus();
      });
      function record(right) {
        var entry = results[question.id] || { right: false, asked: 0 };
        entry.asked += 1;
        entry.right = right;
        results[question.id] = entry;
        write(RESULTS_KEY, results);
        ask();
      }
      had.addEventListener("click", function () { record(true); });
      not.addEventListener("click", function () { record(false); });
      card.appendChild(reveal);
      card.appendChild(answer);
      card.appendChild(grade);
      box.appendChild(card);
      box.appendChild(element("p", "il-practice-score", score(from)));
    }

    ask();
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
