// Runs axe-core (WCAG 2.1 A and AA rules) after each page load and htmx swap. A violation is
// reported as a console error, which fails the browser test like any other. Top frame only:
// the sandboxed previews of emails are the users' own content.
// A page found clean is not checked again while nothing axe reads has changed: the same markup
// (a poll that swapped in what was there), the same window size, the same form values and the
// same focused element. Any change, or a page that had a violation, is checked again.
(function () {
  if (window.top !== window) return;

  // Everything of the page as it is now that a check depends on, as one string.
  function pageState() {
    var parts = [window.innerWidth + "x" + window.innerHeight];
    document.querySelectorAll("input, select, textarea").forEach(function (field) {
      parts.push(field.type === "checkbox" || field.type === "radio" ? String(field.checked)
                 : field.tagName === "SELECT" ? String(field.selectedIndex) : field.value);
    });
    var active = document.activeElement;
    parts.push(active ? Array.prototype.indexOf.call(document.getElementsByTagName("*"), active)
               : -1);
    parts.push(document.documentElement.outerHTML);
    return parts.join("\u0000");
  }
  window.__pageState = pageState;

  var running = null, again = false, clean = null;
  function check() {
    if (!window.axe) return Promise.resolve();
    if (running) { again = true; return running; }
    var state = pageState();
    if (state === clean) return Promise.resolve();
    clean = null;
    running = window.axe.run(document, {
      runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}, iframes: false, resultTypes: ["violations"]
    }).then(function (result) {
      result.violations.forEach(function (v) {
        console.error("axe " + v.id + " (" + location.pathname + "): " + v.help + ": " +
          v.nodes.map(function (n) { return n.target.join(" "); }).join(" | "));
      });
      // Clean only if the page did not change while axe was reading it.
      if (!result.violations.length && pageState() === state) clean = state;
    }).catch(function (error) {
      console.error("axe could not run: " + error);
    }).finally(function () {
      running = null;
      if (again) { again = false; return check(); }
    });
    return running;
  }
  window.__axeCheck = check;
  window.addEventListener("load", function () { check(); });
  document.addEventListener("htmx:afterSettle", function () { setTimeout(check, 0); });
})();
