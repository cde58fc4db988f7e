/* Tables that keep their meaning on a phone (issue 16). Below 40rem app.css shows each row as a card;
   this script gives every cell the text of its column header as data-label, which the stylesheet prints
   above the value, and keeps the table roles that display:block would take from screen readers.
   No framework, no network: it runs once when the page is parsed (loaded with defer). */
(function () {
  "use strict";
  function label(table) {
    var headers = [];
    var head = table.tHead && table.tHead.rows[0];
    if (!head) { return; }
    Array.prototype.forEach.call(head.cells, function (cell) {
      var span = cell.colSpan || 1;
      for (var i = 0; i < span; i += 1) { headers.push(cell.textContent.replace(/\s+/g, " ").trim()); }
    });
    table.setAttribute("role", "table");
    Array.prototype.forEach.call(table.querySelectorAll("thead, tbody, tfoot"), function (group) {
      group.setAttribute("role", "rowgroup");
    });
    Array.prototype.forEach.call(table.rows, function (row) {
      row.setAttribute("role", "row");
      var column = 0;
      Array.prototype.forEach.call(row.cells, function (cell) {
        if (cell.tagName === "TH") {
          cell.setAttribute("role", row.parentNode === table.tHead ? "columnheader" : "rowheader");
        } else {
          cell.setAttribute("role", "cell");
          if (!cell.hasAttribute("data-label") && headers[column]) { cell.setAttribute("data-label", headers[column]); }
        }
        column += cell.colSpan || 1;
      });
    });
    table.classList.add("labelled");
  }
  Array.prototype.forEach.call(document.querySelectorAll("table"), label);
}());
