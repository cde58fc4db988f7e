/* Forms in the manner of the GOV.UK Design System (issue 16): after a failed submit the error summary
   takes the focus, so a screen reader reads what is wrong first, and each of its links moves the focus
   to its field (not only the scroll position). Without JS the summary and its anchors still work. */
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (!summary) { return; }
  summary.focus();
  summary.addEventListener("click", function (event) {
    var link = event.target.closest("a[href^='#']");
    if (!link) { return; }
    var field = document.getElementById(link.getAttribute("href").slice(1));
    if (!field) { return; }
    event.preventDefault();
    var label = document.querySelector("label[for='" + field.id + "']");
    (label || field).scrollIntoView();
    field.focus({ preventScroll: true });
  });
})();
