// Upload progress: htmx reports the request's progress on the form it sends.
document.addEventListener("htmx:xhr:progress", function (event) {
  var form = event.target && event.target.closest && event.target.closest("form[data-upload]");
  if (!form || !event.detail || !event.detail.lengthComputable) return;
  var bar = form.querySelector("progress");
  if (!bar) return;
  bar.hidden = false;
  bar.max = event.detail.total;
  bar.value = event.detail.loaded;
});
