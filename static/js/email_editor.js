// The template editor.
// - Each HTML body gets a visual editor (Trix) over its textarea; the textarea stays as the
//   "HTML source" view for experts and is what the form sends. The server cleans the HTML
//   (nh3) whichever way it was written.
// - The placeholder panel: a click inserts the placeholder where the cursor was, in the field
//   last focused (a subject, a text body, a visual editor), so nobody types braces by hand.
(function () {
  var french = document.documentElement.lang === "fr";
  var words = french
    ? { source: "Source HTML", toolbar: "Mise en forme", complex: "Ce corps utilise une mise en page que l'éditeur visuel ne garderait pas : modifiez-le en HTML." }
    : { source: "HTML source", toolbar: "Formatting", complex: "This body uses layout the visual editor would not keep: edit it as HTML." };
  if (french && window.Trix) {
    Object.assign(window.Trix.config.lang, {
      bold: "Gras", italic: "Italique", strike: "Barré", link: "Lien", heading1: "Titre",
      quote: "Citation", code: "Code", bullets: "Liste à puces", numbers: "Liste numérotée",
      outdent: "Diminuer le retrait", indent: "Augmenter le retrait", undo: "Annuler",
      redo: "Rétablir", remove: "Retirer", unlink: "Retirer le lien", urlPlaceholder: "Saisissez une adresse…",
      attachFiles: "Joindre des fichiers"
    });
  }
  // What Trix cannot represent would be lost on the first keystroke: such bodies open as HTML.
  var COMPLEX = /<(table|img|font|style|iframe|hr)\b|\sstyle=/i;

  function enhance(textarea) {
    if (!window.Trix || textarea.dataset.enhanced) return;
    textarea.dataset.enhanced = "1";
    var field = textarea.closest(".field");
    var label = field.querySelector("label[for='" + textarea.id + "']");
    var hidden = document.createElement("input");
    hidden.type = "hidden";
    hidden.id = textarea.id + "-visual-value";
    hidden.value = textarea.value;
    var editor = document.createElement("trix-editor");
    editor.setAttribute("input", hidden.id);
    editor.id = textarea.id + "-visual";
    editor.className = "trix-content placeholder-target";
    if (label) {
      if (!label.id) label.id = textarea.id + "-label";
      editor.setAttribute("aria-labelledby", label.id);
    }
    var toggle = document.createElement("button");
    toggle.type = "button";
    toggle.className = "source-toggle";
    toggle.setAttribute("aria-pressed", "false");
    toggle.textContent = words.source;
    var note = document.createElement("p");
    note.className = "hint";
    note.hidden = true;
    note.textContent = words.complex;
    textarea.parentNode.insertBefore(toggle, textarea);
    textarea.parentNode.insertBefore(note, textarea);
    textarea.parentNode.insertBefore(hidden, textarea);
    textarea.parentNode.insertBefore(editor, textarea);

    function showSource(source) {
      toggle.setAttribute("aria-pressed", source ? "true" : "false");
      textarea.hidden = !source;
      editor.hidden = source;
      var toolbar = editor.toolbarElement;
      if (toolbar) toolbar.hidden = source;
    }
    editor.addEventListener("trix-initialize", function () {
      showSource(COMPLEX.test(textarea.value));
      note.hidden = !COMPLEX.test(textarea.value);
    });
    // Only what the user typed in the visual editor is written back to the source.
    editor.addEventListener("trix-change", function () {
      if (editor.hidden) return;
      textarea.value = hidden.value;
      textarea.dispatchEvent(new Event("input", { bubbles: true }));
      textarea.dispatchEvent(new Event("change", { bubbles: true }));
    });
    editor.addEventListener("trix-file-accept", function (event) { event.preventDefault(); });
    editor.addEventListener("trix-initialize", function () { keyboardToolbar(editor.toolbarElement); });
    toggle.addEventListener("click", function () {
      var toSource = toggle.getAttribute("aria-pressed") !== "true";
      if (!toSource) {
        editor.editor.loadHTML(textarea.value);
        note.hidden = true;
      }
      showSource(toSource);
      (toSource ? textarea : editor).focus();
    });
  }

  // Trix gives its toolbar buttons tabindex=-1: the toolbar becomes one stop of the Tab
  // order (a toolbar, as ARIA describes it), its buttons reached with the arrow keys.
  function keyboardToolbar(toolbar) {
    if (!toolbar || toolbar.dataset.keyboard) return;
    toolbar.dataset.keyboard = "1";
    toolbar.setAttribute("role", "toolbar");
    toolbar.setAttribute("aria-label", words.toolbar);
    function buttons() {
      return Array.prototype.filter.call(
        toolbar.querySelectorAll(".trix-button-row button"),
        function (b) { return !b.disabled && b.getClientRects().length > 0; });
    }
    function current(button) {
      toolbar.querySelectorAll("button").forEach(function (b) { b.setAttribute("tabindex", "-1"); });
      if (button) button.setAttribute("tabindex", "0");
    }
    current(buttons()[0]);
    toolbar.addEventListener("focusin", function (event) {
      if (event.target.matches(".trix-button-row button")) current(event.target);
    });
    toolbar.addEventListener("keydown", function (event) {
      var list = buttons(), at = list.indexOf(document.activeElement), next = null;
      if (at === -1) return;
      if (event.key === "ArrowRight") next = list[(at + 1) % list.length];
      else if (event.key === "ArrowLeft") next = list[(at - 1 + list.length) % list.length];
      else if (event.key === "Home") next = list[0];
      else if (event.key === "End") next = list[list.length - 1];
      if (!next) return;
      event.preventDefault();
      current(next);
      next.focus();
    });
    // Trix disables Undo at first: keep one button of the row reachable whatever changes.
    new MutationObserver(function () {
      var list = buttons();
      if (!list.some(function (b) { return b.getAttribute("tabindex") === "0"; })) current(list[0]);
    }).observe(toolbar, {attributes: true, subtree: true, attributeFilter: ["disabled"]});
  }

  document.querySelectorAll("textarea.rich-html").forEach(enhance);

  // A placeholder goes into the body the user was writing in: the last field typed or
  // clicked in, not merely the last one Tab passed through on the way to the list.
  var last = null, lastFocused = null;
  function claim(event) {
    if (!event.isTrusted) return;  // the visual editor's own copy into its source field
    var target = event.target.closest ? event.target.closest(".placeholder-target") : null;
    if (target) last = target;
  }
  document.addEventListener("focusin", function (event) {
    var target = event.target.closest ? event.target.closest(".placeholder-target") : null;
    if (target) lastFocused = target;
  });
  // Capturing: Trix stops some of the events it handles from bubbling.
  document.addEventListener("input", claim, true);
  document.addEventListener("pointerdown", claim, true);
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Tab" && event.key !== "Shift") claim(event);
  }, true);
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-insert]");
    if (!button) return;
    var field = last || lastFocused || document.querySelector(".placeholder-target");
    if (!field) return;
    var text = button.getAttribute("data-insert");
    if (field.tagName === "TRIX-EDITOR" && !field.hidden) {
      field.focus();
      field.editor.insertString(text);
      return;
    }
    var start = field.selectionStart || 0, end = field.selectionEnd || 0;
    field.value = field.value.slice(0, start) + text + field.value.slice(end);
    field.focus();
    field.selectionStart = field.selectionEnd = start + text.length;
    field.dispatchEvent(new Event("input", { bubbles: true }));
  });
})();
