// Rules every page state of the browser tests must hold, checked after each load and each htmx
// swap. A broken rule is reported as a console error, which fails the test like any other.
// - Nothing scrolls sideways on a phone: at 400 px or less, the page is no wider than the
//   window (a table may scroll inside its own box).
// - A swap never drops the focus to <body> when the user was on something.
// - A French page shows no English sentence of the catalogue, no dotted code
//   (reminder.created) and no raw English enum value.
// window.__missiveWords is set by the harness before this script: {english: [...], enums: [...]}.
(function () {
  if (window.top !== window) return;
  var reported = false;
  function report(rule, detail) {
    reported = true;
    console.error("rule " + rule + " (" + location.pathname + "): " + detail);
  }

  function overflow() {
    if (window.innerWidth > 400) return;
    var scroller = document.scrollingElement || document.documentElement;
    if (scroller.scrollWidth <= window.innerWidth) return;
    var culprits = [];
    document.querySelectorAll("body *").forEach(function (element) {
      var box = element.getBoundingClientRect();
      if (box.right > window.innerWidth + 1 && culprits.length < 4 &&
          !element.closest("table") && !(element.parentElement || document.body).closest(".overflowing")) {
        culprits.push(element.tagName.toLowerCase() + (element.id ? "#" + element.id : "") +
          (element.className && typeof element.className === "string" ? "." + element.className.split(" ").join(".") : "") +
          " right=" + Math.round(box.right));
      }
    });
    report("no-sideways-scroll", "page is " + scroller.scrollWidth + " px wide at " +
           window.innerWidth + " px: " + culprits.join(", "));
  }

  // The visible text of the page, without what is not French on purpose (lang="en" parts,
  // the language switch), nor frames (emails as written), nor form values.
  function visibleTexts() {
    // A test may name what it knows is still English elsewhere (window.__frenchPending).
    var pending = (window.__frenchPending || []).join(", ");
    var texts = [];
    var walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    var node;
    while ((node = walker.nextNode())) {
      var parent = node.parentElement;
      if (!parent || !node.nodeValue.trim()) continue;
      if (parent.closest("script, style, template, textarea, [hidden], [lang]:not([lang=fr]), .user-content, trix-editor")) continue;
      if (pending && parent.closest(pending)) continue;
      var style = getComputedStyle(parent);
      if (style.display === "none" || style.visibility === "hidden") continue;
      texts.push({text: node.nodeValue.replace(/\s+/g, " ").trim(), element: parent});
    }
    return texts;
  }

  var ADDRESS = /\S+@\S+|https?:\/\/\S+|\b[\w-]+(\.[\w-]+)*\.(org|com|net|fr|eu|io|csv|txt|html|ics|test|example|invalid|localhost)\b|\{\{[^}]*\}\}/g;
  // Words of English no French sentence uses: two of them in one text is an English sentence
  // (made by code, outside the catalogue).
  var ENGLISH_ONLY = /\b(the|before|after|every|days|hours|with|and|of|your|is|are|was|has|been|this|that|will|not|failed|superseded|rendering|moved)\b/g;
  var DOTTED = /\b[a-z]+(?:_[a-z]+)*\.[a-z]+(?:_[a-z]+)*\b/;

  function french() {
    if (document.documentElement.lang !== "fr") return;
    var words = window.__missiveWords || {english: [], enums: []};
    var enums = new Set(words.enums);
    var found = [];
    visibleTexts().forEach(function (item) {
      var text = item.text.replace(ADDRESS, " ");
      var dotted = DOTTED.exec(text);
      if (dotted) found.push("code \"" + dotted[0] + "\" in \"" + item.text + "\"");
      var english = text.toLowerCase().match(ENGLISH_ONLY) || [];
      if (new Set(english).size >= 2) found.push("English words in \"" + item.text + "\"");
      var bracketed = /[\[(](\w+)[\])]/g, match;
      while ((match = bracketed.exec(text))) {
        if (enums.has(match[1]) || match[1] === "off" || match[1] === "on") found.push("enum value \"" + match[0] + "\" in \"" + item.text + "\"");
      }
      var own = item.element.textContent.trim();
      if (enums.has(own) || enums.has(text.replace(/^\[|\]$/g, ""))) found.push("enum value \"" + own + "\"");
      for (var i = 0; i < words.english.length; i++) {
        if (text.indexOf(words.english[i]) !== -1) {
          found.push("untranslated \"" + words.english[i] + "\" in \"" + item.text + "\"");
          break;
        }
      }
    });
    ["title", "aria-label", "placeholder"].forEach(function (attribute) {
      document.querySelectorAll("[" + attribute + "]").forEach(function (element) {
        if (element.closest("[lang]:not([lang=fr])")) return;
        var value = element.getAttribute(attribute);
        for (var i = 0; i < words.english.length; i++) {
          if (value.indexOf(words.english[i]) !== -1) {
            found.push("untranslated " + attribute + " \"" + value + "\"");
            break;
          }
        }
      });
    });
    if (found.length) report("french-complete", found.slice(0, 6).join("; "));
  }

  // A page state found clean is not checked again (the same state as axe's: markup, window
  // size, form values, focus); any change is.
  var clean = null;
  function check() {
    var state = window.__pageState ? window.__pageState() : null;
    if (state !== null && state === clean) return;
    reported = false;
    overflow();
    french();
    clean = reported ? null : state;
  }

  // Focus: who had it before the request, and where it is once the page has settled.
  var focused = new WeakMap();
  document.addEventListener("htmx:beforeRequest", function (event) {
    var active = document.activeElement;
    if (active && active !== document.body) focused.set(event.detail.xhr, active);
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    var before = focused.get(event.detail.xhr);
    if (!before) return;
    focused.delete(event.detail.xhr);
    // After the page's own focus handlers, which run on the next turn.
    setTimeout(function () { setTimeout(function () {
      var active = document.activeElement;
      if (!active || active === document.body || !active.isConnected) {
        report("focus-kept", "focus fell to <body> after a swap started from " +
               before.tagName.toLowerCase() + (before.id ? "#" + before.id : "") + " \"" +
               (before.textContent || before.getAttribute("aria-label") || "").trim().slice(0, 40) + "\"");
      }
    }, 0); }, 0);
  });

  window.__rulesCheck = check;
  window.addEventListener("load", function () { setTimeout(check, 0); });
  document.addEventListener("htmx:afterSettle", function () {
    setTimeout(function () { setTimeout(check, 0); }, 0);
  });
})();
