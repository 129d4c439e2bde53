// The portal's own behaviour, kept out of the pages so the Content-Security-Policy needs no inline script.
"use strict";

// A <select data-submit-on-change> (the language switch) submits its form as soon as a choice is made.
document.addEventListener("change", (event) => {
  const field = event.target;
  if (field instanceof HTMLSelectElement && field.hasAttribute("data-submit-on-change") && field.form) {
    field.form.submit();
  }
});
