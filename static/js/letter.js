// The "Print" button of a postal letter (notifications/letter.html): no inline handler under the CSP.
"use strict";

document.addEventListener("click", (event) => {
  if (event.target instanceof Element && event.target.closest("[data-print]")) {
    window.print();
  }
});
