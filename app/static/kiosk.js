// The kiosk goes back to its empty form after data-reset-seconds without input, so the next
// citizen never sees the previous one's dossier; any key, touch or click restarts the wait.
(function () {
  "use strict";
  var body = document.body;
  var seconds = Number(body.dataset.resetSeconds || 30);
  var home = body.dataset.home || "/kiosk";
  var timer = null;

  function reset() {
    var form = document.querySelector(".kiosk-form form");
    if (form && window.location.pathname === home) {
      form.reset();
      var first = form.querySelector("input");
      if (first) { first.value = ""; first.focus(); }
      var alert = document.querySelector(".alert");
      if (alert) { alert.remove(); }
      return;
    }
    window.location.assign(home);
  }

  function restart() {
    if (timer) { window.clearTimeout(timer); }
    timer = window.setTimeout(reset, seconds * 1000);
  }

  ["keydown", "input", "pointerdown", "touchstart"].forEach(function (name) {
    document.addEventListener(name, restart, { passive: true });
  });
  restart();
}());
