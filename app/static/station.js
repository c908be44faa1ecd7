// The scan station: a keyboard-wedge scanner types a code and Enter (or Tab) at ~8 ms a key
// into the one input, which keeps the focus. Each scan is sent in order, with its own id (a
// retry is then answered "already recorded"), the input is cleared at once for the next one,
// and the answer is shown large with its sound; in stack mode every answer is listed.
(function () {
  "use strict";
  var form = document.getElementById("scan-form");
  var input = document.getElementById("scan");
  var result = document.getElementById("result");
  var sessionNow = document.getElementById("session-now");
  var stackList = document.getElementById("stack-list");
  var toggle = document.getElementById("stack-toggle");
  var count = document.getElementById("stack-count");
  var sounds = form.dataset.sounds;
  var queue = Promise.resolve();
  var scans = 0;

  function newId() {
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function play(kind) {
    try { new Audio(sounds + kind + ".wav").play().catch(function () {}); } catch (e) { /* no audio */ }
  }

  function show(html) {
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var answer = holder.querySelector(".scan-result");
    result.replaceChildren(answer);
    var row = holder.querySelector("template.stack-row");
    if (row) {
      stackList.prepend(row.content.firstElementChild);
      scans += 1;
      count.textContent = count.dataset.label ? count.dataset.label.replace("N", scans) : String(scans);
    }
    var now = holder.querySelector("template.session-now");
    if (now) { sessionNow.replaceChildren(now.content.cloneNode(true)); }
    play(answer.dataset.kind);
    document.dispatchEvent(new Event("live:poll"));  // the list of files here, now
  }

  function send(code, id, attempt) {
    var body = new FormData(form);
    body.set("code", code);
    body.set("id", id);
    return fetch(form.action, { method: "POST", body: body, credentials: "same-origin",
                                headers: { "X-Station": "1" } })
      .then(function (response) {
        if (response.status >= 500 && attempt < 3) { return send(code, id, attempt + 1); }
        // Logged out, the form expired or no station any more: the page says what to do.
        if (!response.ok || response.redirected) { window.location.reload(); return null; }
        return response.text().then(show);
      }, function () {
        // The network failed: the same id again, so a scan that got through is not doubled.
        if (attempt < 3) { return new Promise(function (ok) { setTimeout(ok, 500); }).then(function () { return send(code, id, attempt + 1); }); }
        result.replaceChildren(Object.assign(document.createElement("p"),
          { className: "scan-result refused", textContent: form.dataset.offline || "—" }));
        play("refused");
        return null;
      });
  }

  input.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" && event.key !== "Tab") { return; }
    event.preventDefault();
    var code = input.value.trim();
    input.value = "";
    if (!code) { return; }
    var id = newId();
    queue = queue.then(function () { return send(code, id, 1); });
  });

  // Keep the focus in the scan input: a scanner types wherever the focus is.
  function refocus() {
    window.setTimeout(function () {
      var active = document.activeElement;
      if (!active || active === document.body) { input.focus(); }
    }, 0);
  }
  input.addEventListener("blur", refocus);
  document.addEventListener("click", refocus);
  input.focus();

  toggle.addEventListener("click", function () {
    var on = toggle.getAttribute("aria-pressed") !== "true";
    toggle.setAttribute("aria-pressed", on ? "true" : "false");
    stackList.hidden = !on;
    window.sessionStorage.setItem("station-stack", on ? "1" : "");
    input.focus();
  });
  if (window.sessionStorage.getItem("station-stack")) { toggle.click(); }
}());
