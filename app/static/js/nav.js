/* The main navigation (base.html): on a phone the bar folds behind "Menu", at a desk it is always open.
   Its groups are plain <details> disclosures, usable without this script; it only closes the other groups
   when one opens, and closes an open group on Escape (focus back on its summary) or a click elsewhere. */
(function () {
  "use strict";
  var menu = document.getElementById("main-menu");
  if (!menu) { return; }
  var desk = window.matchMedia("(min-width: 40.01rem)");
  function fit() { menu.open = desk.matches; }
  fit();
  if (desk.addEventListener) { desk.addEventListener("change", fit); }
  var groups = Array.prototype.slice.call(menu.querySelectorAll(".navgroup > details"));
  groups.forEach(function (group) {
    group.addEventListener("toggle", function () {
      if (!group.open) { return; }
      groups.forEach(function (other) { if (other !== group) { other.open = false; } });
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    groups.forEach(function (group) {
      if (group.open) {
        group.open = false;
        if (group.contains(document.activeElement)) { group.querySelector("summary").focus(); }
      }
    });
  });
  document.addEventListener("click", function (event) {
    groups.forEach(function (group) { if (group.open && !group.contains(event.target)) { group.open = false; } });
  });
}());
