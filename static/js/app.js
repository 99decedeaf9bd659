// Show a message when an htmx request fails, so a click never silently does nothing.
document.addEventListener("htmx:responseError", function (event) {
  var box = document.getElementById("messages");
  if (!box) return;
  var p = document.createElement("p");
  p.className = "flash flash-error";
  p.setAttribute("role", "alert");
  p.textContent = document.documentElement.lang === "fr"
    ? "L'action a échoué (" + event.detail.xhr.status + "). Rechargez la page et réessayez."
    : "The action failed (" + event.detail.xhr.status + "). Reload the page and try again.";
  box.replaceChildren(p);
});
