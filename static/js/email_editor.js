// The template editor's placeholder panel: a click inserts the placeholder at the cursor of
// the field last focused (subject or body), so nobody has to type braces by hand.
(function () {
  var last = null;
  document.addEventListener("focusin", function (event) {
    if (event.target.classList && event.target.classList.contains("placeholder-target")) {
      last = event.target;
    }
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-insert]");
    if (!button) return;
    var field = last || document.querySelector(".placeholder-target");
    if (!field) return;
    var text = button.getAttribute("data-insert");
    var start = field.selectionStart || 0, end = field.selectionEnd || 0;
    field.value = field.value.slice(0, start) + text + field.value.slice(end);
    field.focus();
    field.selectionStart = field.selectionEnd = start + text.length;
    field.dispatchEvent(new Event("input", { bubbles: true }));
  });
})();
