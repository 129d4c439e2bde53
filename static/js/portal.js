// The portal's own behaviour, kept out of the pages so the Content-Security-Policy needs no inline script.
"use strict";

// A <select data-submit-on-change> (the language switch) submits its form as soon as a choice is made.
document.addEventListener("change", (event) => {
  const field = event.target;
  if (field instanceof HTMLSelectElement && field.hasAttribute("data-submit-on-change") && field.form) {
    field.form.submit();
  }
});

// On a phone the tables are stacked cards (static/css/portal.css): each cell gets its column's header
// as a label, unless the template gave it one (data-label).
function labelTableCells(root) {
  for (const table of root.querySelectorAll("table")) {
    const headerRow = table.tHead && table.tHead.rows[0];
    if (!headerRow) continue;
    const labels = [];
    for (const cell of headerRow.cells) {
      for (let i = 0; i < cell.colSpan; i += 1) labels.push(cell.textContent.trim());
    }
    // the total rows too, where a row has several amounts (one amount beside its name needs no label)
    const footRows = table.tFoot ? [...table.tFoot.rows].filter((row) => row.querySelectorAll("td").length > 1) : [];
    for (const rows of [...[...table.tBodies].map((body) => body.rows), footRows]) {
      for (const row of rows) {
        let column = 0;
        for (const cell of row.cells) {
          if (cell.tagName === "TD" && !cell.hasAttribute("data-label")) cell.setAttribute("data-label", labels[column] || "");
          column += cell.colSpan;
        }
      }
    }
  }
}
document.addEventListener("DOMContentLoaded", () => labelTableCells(document));
document.addEventListener("htmx:afterSettle", (event) => labelTableCells(event.target));

// A chart wider than the screen scrolls inside its box (static/css/portal.css): a keyboard can reach it.
function focusableCharts() {
  for (const figure of document.querySelectorAll("figure.chart")) {
    if (figure.scrollWidth > figure.clientWidth) figure.tabIndex = 0;
    else figure.removeAttribute("tabindex");
  }
}
document.addEventListener("DOMContentLoaded", focusableCharts);
window.addEventListener("resize", focusableCharts);
