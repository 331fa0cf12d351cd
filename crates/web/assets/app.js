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

  // The waiting page's countdown (data-countdown = seconds until the room opens, as the server
  // counted them): ticks every second, then reloads the page, which the server answers with the
  // room. Relative time only, so a wrong clock on this device changes nothing.
  var countdown = document.querySelector("[data-countdown]");
  if (countdown) {
    var seconds = parseInt(countdown.getAttribute("data-countdown"), 10);
    var units = (countdown.getAttribute("data-units") || "d h min s").split(" ");
    var value = countdown.querySelector("[data-countdown-value]");
    if (!isNaN(seconds) && value) {
      var deadline = performance.now() + seconds * 1000;
      var pad = function (n) { return (n < 10 ? "0" : "") + n; };
      var show = function (left) {
        var d = Math.floor(left / 86400), h = Math.floor(left % 86400 / 3600);
        var m = Math.floor(left % 3600 / 60), s = left % 60;
        if (d > 0) return d + " " + units[0] + " " + pad(h) + " " + units[1];
        if (h > 0) return h + " " + units[1] + " " + pad(m) + " " + units[2];
        if (m > 0) return m + " " + units[2] + " " + pad(s) + " " + units[3];
        return s + " " + units[3];
      };
      var tick = function () {
        var left = Math.ceil((deadline - performance.now()) / 1000);
        if (left <= 0) {
          value.textContent = show(0);
          window.location.reload();
          return;
        }
        value.textContent = show(left);
        // Wake at the next whole second (no drift).
        window.setTimeout(tick, (deadline - performance.now()) % 1000 || 1000);
      };
      tick();
    }
  }
  // The attendance sheet's drawn signature: a canvas drawn on with a mouse, a pen or a finger
  // (pointer events); on submit, what was drawn is sent as a PNG in the hidden `drawing` field.
  // Without JavaScript the pad stays hidden and the typed name signs.
  var pad = document.querySelector("[data-signature-pad]");
  if (pad) {
    var canvas = pad.querySelector("canvas");
    var form = pad.closest("form");
    var field = form && form.querySelector("input[name=drawing]");
    var ctx = canvas && canvas.getContext && canvas.getContext("2d");
    if (ctx && field) {
      pad.hidden = false;
      canvas.style.touchAction = "none";
      ctx.lineWidth = 3;
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.strokeStyle = "#000";
      var drawn = false, last = null;
      var point = function (event) {
        var r = canvas.getBoundingClientRect();
        return {
          x: (event.clientX - r.left) * canvas.width / r.width,
          y: (event.clientY - r.top) * canvas.height / r.height
        };
      };
      canvas.addEventListener("pointerdown", function (event) {
        event.preventDefault();
        if (canvas.setPointerCapture) { try { canvas.setPointerCapture(event.pointerId); } catch (e) { /* synthetic */ } }
        last = point(event);
        ctx.beginPath();
        ctx.arc(last.x, last.y, ctx.lineWidth / 2, 0, 2 * Math.PI);
        ctx.fillStyle = "#000";
        ctx.fill();
        drawn = true;
      });
      canvas.addEventListener("pointermove", function (event) {
        if (!last) return;
        event.preventDefault();
        var p = point(event);
        ctx.beginPath();
        ctx.moveTo(last.x, last.y);
        ctx.lineTo(p.x, p.y);
        ctx.stroke();
        last = p;
      });
      var stop = function () { last = null; };
      canvas.addEventListener("pointerup", stop);
      canvas.addEventListener("pointercancel", stop);
      canvas.addEventListener("pointerleave", stop);
      pad.querySelector("[data-signature-clear]").addEventListener("click", function () {
        ctx.clearRect(0, 0, canvas.width, canvas.height);
        drawn = false;
        field.value = "";
      });
      form.addEventListener("submit", function () {
        field.value = drawn ? canvas.toDataURL("image/png") : "";
      });
    }
  }

  // Contact suggestions: an email input marked data-suggest asks the address book as one types
  // (the server decides whom this account may see) and offers the matches in its datalist;
  // choosing one fills the name of the same row when it is empty.
  var suggestions = document.getElementById("contact-suggestions");
  if (suggestions && window.fetch) {
    var timer = null;
    var asked = "";
    document.addEventListener("input", function (event) {
      var input = event.target;
      if (!input.matches || !input.matches("input[data-suggest]")) return;
      var text = input.value.trim();
      var chosen = Array.prototype.filter.call(suggestions.options, function (o) {
        return o.value === text;
      })[0];
      if (chosen) {
        var row = input.closest(".row");
        var name = row && row.querySelector("input[type=text]");
        if (name && !name.value) name.value = chosen.textContent;
        return;
      }
      if (text.length < 2 || text === asked) return;
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        asked = text;
        window.fetch("/contacts/suggest?format=options&q=" + encodeURIComponent(text), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.text() : ""; })
          .then(function (html) { suggestions.innerHTML = html; });
      }, 200);
    });
  }

  // Copy buttons: `data-copy` names the input whose value goes to the clipboard; the status
  // line says so. Without JavaScript the button stays hidden (the field is selectable).
  Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), function (button) {
    var input = document.getElementById(button.getAttribute("data-copy"));
    var status = document.querySelector('[data-copy-status="' + button.getAttribute("data-copy") + '"]');
    if (!input) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var done = function () { if (status) status.textContent = button.getAttribute("data-copied"); };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(input.value).then(done, function () { input.select(); document.execCommand("copy"); done(); });
      } else {
        input.select();
        document.execCommand("copy");
        done();
      }
    });
  });

  // After a refused submit, focus goes to the list of problems (it links to each field), not
  // to the top of the page.
  var problems = document.getElementById("form-errors");
  if (problems) problems.focus();
})();
