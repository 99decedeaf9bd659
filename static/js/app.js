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

  // A refusal makes an earlier success message stale ("Draft saved." above a submission's
  // errors): it goes.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (!event.detail.xhr || event.detail.xhr.status !== 422) return;
    var box = document.getElementById("messages");
    if (box) box.querySelectorAll(".flash-success").forEach(function (p) { p.remove(); });
  });

  // A poll never replaces what the user is on: skip the refresh while focus is inside. A
  // region marked `data-poll-through-focus` (a message whose state the user waits for) is
  // refreshed anyway; the focus rule below then puts focus back on the refreshed element.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (target && target.hasAttribute("data-poll") && !target.hasAttribute("data-poll-through-focus")
        && target.contains(document.activeElement)) {
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

  // Focus is never lost to <body> by a swap. When the element the user was on is gone (its
  // row or form was replaced, a button disabled), focus goes, in this order, to: the element
  // named by `data-focus-after-swap` (a CSS selector, on the triggering element or an
  // ancestor); the new element with the old one's id; the swapped target's first field or
  // button; its first heading; the target itself. A swap that took no focus (a poll while the
  // user reads) moves nothing.
  var swaps = new WeakMap();
  var FOCUSABLE = "a[href], button:not([disabled]), input:not([type=hidden]):not([disabled])," +
    " select:not([disabled]), textarea:not([disabled]), trix-editor, [tabindex]:not([tabindex='-1'])";

  function lost() {
    var active = document.activeElement;
    return !active || active === document.body || !active.isConnected;
  }

  function visible(element) {
    return element && element.isConnected && !element.closest("[hidden]") &&
      element.getClientRects().length > 0;
  }

  function firstIn(root, selector) {
    if (!root || !root.isConnected) return null;
    var found = root.querySelectorAll(selector);
    for (var i = 0; i < found.length; i++) if (visible(found[i])) return found[i];
    return null;
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (lost()) return;
    var elt = event.detail.elt;
    swaps.set(event.detail.xhr, {elt: elt, id: document.activeElement.id || (elt && elt.id),
                                 settled: []});
  });
  document.addEventListener("htmx:beforeSwap", function (event) {
    var swap = swaps.get(event.detail.xhr);
    if (!swap) return;
    swap.target = event.detail.target;
    swap.parent = event.detail.target && event.detail.target.parentElement;
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    var swap = swaps.get(event.detail.xhr);
    if (!swap) return;
    swap.settled.push(event.target);
    if (swap.pending) return;
    swap.pending = true;
    setTimeout(function () {
      swaps.delete(event.detail.xhr);
      if (!lost()) return;
      // A boosted link or form replaced the whole page: start at its title.
      if (swap.target === document.body && focus(document.querySelector("main h1"))) return;
      var named = swap.elt && swap.elt.closest && swap.elt.closest("[data-focus-after-swap]");
      var selector = named && named.getAttribute("data-focus-after-swap");
      if (selector && focus(firstIn(document, selector))) return;
      if (visible(swap.elt) && swap.elt.matches(FOCUSABLE) && focus(swap.elt)) return;
      var again = swap.id && document.getElementById(swap.id);
      if (visible(again) && focus(again)) return;
      var roots = [swap.target].concat(swap.settled, [swap.parent]).filter(function (root) {
        return root && root.isConnected && root.id !== "messages";
      });
      for (var i = 0; i < roots.length; i++) {
        var root = roots[i];
        if (root.matches(FOCUSABLE) && visible(root) && focus(root)) return;
        if (focus(firstIn(root, FOCUSABLE))) return;
        if (focus(firstIn(root, "h1, h2, h3, h4, [data-focus-target]"))) return;
        if (root !== document.body && visible(root) && focus(root)) return;
      }
      focus(document.querySelector("main h1") || document.getElementById("main"));
    }, 0);
  });

  // A long action shows that it is under way (the spinner of .htmx-request in app.css) and its
  // target tells assistive technologies that it is busy.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var target = event.detail.target;
    if (target && target.setAttribute) target.setAttribute("aria-busy", "true");
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var target = event.detail.target;
    if (target && target.removeAttribute) target.removeAttribute("aria-busy");
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

  // On a phone a wide table reads as cards: each cell is named by its column's header
  // (app.css shows data-label above the cell). Headers only a screen reader hears (an
  // "Actions" column) name nothing on screen either.
  function labelTable(table) {
    if (!table || table.classList.contains("stack-on-phones")) return;
    var header = table.tHead && table.tHead.rows[table.tHead.rows.length - 1];
    if (!header || !table.closest("main")) return;
    var labels = [];
    Array.prototype.forEach.call(header.cells, function (cell) {
      var shown = cell.cloneNode(true);
      shown.querySelectorAll(".visually-hidden, input").forEach(function (e) { e.remove(); });
      var text = shown.textContent.replace(/\s+/g, " ").trim();
      for (var span = 0; span < (cell.colSpan || 1); span++) labels.push(text);
    });
    table.classList.add("cards-on-phones");
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (row) {
        var column = 0;
        Array.prototype.forEach.call(row.cells, function (cell) {
          var label = labels[column];
          if (label && !cell.hasAttribute("data-label")) cell.setAttribute("data-label", label);
          column += cell.colSpan || 1;
        });
      });
    });
  }

  function enhance(root) {
    if (root.closest) labelTable(root.closest("table"));
    root.querySelectorAll("table").forEach(labelTable);
    root.querySelectorAll("ul.checklist").forEach(enhanceChecklist);
    root.querySelectorAll("input[data-select-all]").forEach(bindSelectAll);
  }
  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:load", function (event) { enhance(event.target); });
})();
