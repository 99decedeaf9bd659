// Behaviour shared by every page. No inline script anywhere: everything is bound from here.
(function () {
  var french = document.documentElement.lang === "fr";

  // Show a message when an htmx request fails, so a click never silently does nothing.
  document.addEventListener("htmx:responseError", function (event) {
    var box = document.getElementById("messages");
    if (!box) return;
    var p = document.createElement("p");
    p.className = "flash flash-error";
    p.textContent = french
      ? "L'action a échoué (" + event.detail.xhr.status + "). Rechargez la page et réessayez."
      : "The action failed (" + event.detail.xhr.status + "). Reload the page and try again.";
    box.replaceChildren(p);
  });

  // Messages arrive out of band into the live region: the region stays (screen readers only
  // announce changes inside a region they already know), its old content goes.
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "messages") target.replaceChildren();
  });

  // A poll never replaces what the user is on: skip the refresh while focus is inside.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (target && target.hasAttribute("data-poll") && target.contains(document.activeElement)) {
      event.detail.shouldSwap = false;
    }
  });

  function focus(element) {
    if (!element) return false;
    if (!element.matches("a[href], button, input, select, textarea, [tabindex]")) {
      element.setAttribute("tabindex", "-1");
    }
    element.focus();
    return document.activeElement === element;
  }

  // After a swap, focus goes where the work continues: the first invalid field after a
  // refusal, else the element the server marked (a form's first field, the saved row, a
  // confirmation). Without this it falls to <body> and keyboard users start over.
  document.addEventListener("htmx:afterSettle", function (event) {
    var root = event.target;
    if (!root || !root.isConnected || !root.querySelector) return;
    var xhr = event.detail.xhr;
    if (xhr && xhr.status === 422) {
      var invalid = root.matches("[aria-invalid=true]") ? root
        : root.querySelector("[aria-invalid=true], .form-errors");
      if (focus(invalid)) return;
    }
    var marked = root.matches("[data-focus]") ? root : root.querySelector("[data-focus]");
    if (marked) {
      marked.removeAttribute("data-focus");
      focus(marked);
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.documentElement.classList.add("js");
    // A page answered with errors (no htmx): start at the first field to correct.
    focus(document.querySelector("main [aria-invalid=true]"));

    // The menu folds away on small screens behind a button.
    var toggle = document.getElementById("menu-toggle");
    var menu = document.getElementById("main-menu");
    if (toggle && menu) {
      toggle.hidden = false;
      toggle.addEventListener("click", function () {
        var open = toggle.getAttribute("aria-expanded") !== "true";
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
        menu.classList.toggle("open", open);
      });
    }

    document.querySelectorAll("button[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });
  });

  // Long checkbox lists (campaign members) get a filter box: type a name or an address.
  function enhanceChecklist(list) {
    if (list.dataset.enhanced) return;
    list.dataset.enhanced = "1";
    var input = document.createElement("input");
    input.type = "search";
    input.className = "checklist-filter";
    var label = list.getAttribute("data-filter-label") || "Filter";
    input.setAttribute("aria-label", label);
    input.placeholder = label;
    list.parentNode.insertBefore(input, list);
    input.addEventListener("input", function () {
      var text = input.value.trim().toLowerCase();
      list.querySelectorAll("li").forEach(function (item) {
        item.hidden = text !== "" && item.textContent.toLowerCase().indexOf(text) === -1;
      });
    });
  }

  // "Select all" on a list: ticks every row checkbox of its table, and follows them.
  function bindSelectAll(box) {
    if (box.dataset.bound) return;
    box.dataset.bound = "1";
    var table = box.closest("table");
    box.hidden = false;
    function rows() { return table.querySelectorAll("tbody input[type=checkbox][name=ids]"); }
    box.addEventListener("change", function () {
      rows().forEach(function (row) { row.checked = box.checked; });
    });
    table.addEventListener("change", function (event) {
      if (event.target === box) return;
      var all = rows(), ticked = 0;
      all.forEach(function (row) { if (row.checked) ticked += 1; });
      box.checked = all.length > 0 && ticked === all.length;
      box.indeterminate = ticked > 0 && ticked < all.length;
    });
  }

  function enhance(root) {
    root.querySelectorAll("ul.checklist").forEach(enhanceChecklist);
    root.querySelectorAll("input[data-select-all]").forEach(bindSelectAll);
  }
  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:load", function (event) { enhance(event.target); });
})();
