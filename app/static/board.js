// The waiting-room board scrolls its list of results slowly when it is longer than the
// screen: down to the end, a pause, back to the top, a pause, again. It keeps going when
// live.js swaps the list in (it looks the list up on every step).
(function () {
  "use strict";
  var STEP_MS = 50;
  var PAUSE_MS = 4000;
  var paused = 0;

  if (window.matchMedia("(prefers-reduced-motion: reduce)").matches) { return; }

  window.setInterval(function () {
    var box = document.querySelector(".board-scroll");
    if (!box || box.scrollHeight <= box.clientHeight + 1) { return; }
    if (paused > 0) { paused -= STEP_MS; return; }
    if (box.scrollTop + box.clientHeight >= box.scrollHeight - 1) {
      box.scrollTop = 0;
      paused = PAUSE_MS;
      return;
    }
    box.scrollTop += 1;
    if (box.scrollTop + box.clientHeight >= box.scrollHeight - 1) { paused = PAUSE_MS; }
  }, STEP_MS);
})();
