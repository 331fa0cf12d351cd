// Dialogue's only script. Pages work without it; it adds confirmations and small comforts.
// No inline script anywhere: the Content-Security-Policy allows only this file.
(function () {
  "use strict";

  // Forms with data-confirm ask before submitting (cancel a session, disable an account).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // Buttons with data-copy copy the text of the element they name.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText(source.value || source.textContent).then(function () {
      var done = button.getAttribute("data-copied");
      if (done) button.textContent = done;
    });
  });
})();
