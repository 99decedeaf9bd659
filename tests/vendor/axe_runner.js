// Runs axe-core (WCAG 2.1 A and AA rules) after each page load and htmx swap. A violation is
// reported as a console error, which fails the browser test like any other. Top frame only:
// the sandboxed previews of emails are the users' own content.
(function () {
  if (window.top !== window) return;
  var running = null, again = false;
  function check() {
    if (!window.axe) return Promise.resolve();
    if (running) { again = true; return running; }
    running = window.axe.run(document, {
      runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}, iframes: false, resultTypes: ["violations"]
    }).then(function (result) {
      result.violations.forEach(function (v) {
        console.error("axe " + v.id + " (" + location.pathname + "): " + v.help + ": " +
          v.nodes.map(function (n) { return n.target.join(" "); }).join(" | "));
      });
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
