// Live regions (app/live.py). <div data-live="URL" data-live-etag="TOKEN" data-live-every="S">
// asks URL again every S seconds while the page is visible, with "X-Live: 1" and
// "If-None-Match: TOKEN": a 304 keeps the region, a 200 is the region's new content. After a
// failed poll the region is marked stale and the period doubles (up to 2 minutes) until one
// succeeds. When the session ended (the poll was sent to the login page), the page reloads.
// The region fires "live:updated" after each swap, for pages that add behaviour to it; a
// "live:poll" event on the document makes every region ask at once.
(function () {
  "use strict";
  var MAX_DELAY = 120000;

  function start(region) {
    var every = Math.max(1, Number(region.dataset.liveEvery || 10)) * 1000;
    var delay = every;
    var timer = null;
    var busy = false;

    function schedule(ms) {
      window.clearTimeout(timer);
      timer = window.setTimeout(poll, ms);
    }

    function swap(response) {
      if (response.redirected || response.status === 401 || response.status === 403) {
        window.location.reload();
        return null;
      }
      if (response.status === 304) { return null; }
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      var etag = response.headers.get("ETag") || "";
      region.dataset.liveEtag = etag.replace(/^W\//, "").replace(/"/g, "");
      return response.text();
    }

    function poll() {
      if (busy || document.hidden) { return; }  // visibilitychange polls again
      busy = true;
      window.fetch(region.dataset.live, {
        credentials: "same-origin", cache: "no-store",
        headers: { "X-Live": "1", "If-None-Match": "\"" + region.dataset.liveEtag + "\"" }
      }).then(swap).then(function (html) {
        if (typeof html === "string") {
          region.innerHTML = html;
          region.dispatchEvent(new CustomEvent("live:updated", { bubbles: true }));
        }
        region.classList.remove("live-stale");
        delay = every;
      }).catch(function () {
        region.classList.add("live-stale");
        delay = Math.min(delay * 2, MAX_DELAY);
      }).then(function () {
        busy = false;
        schedule(delay);
      });
    }

    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) { schedule(0); }
    });
    // A page that knows something changed (the station after its own scan) asks at once.
    document.addEventListener("live:poll", function () { schedule(0); });
    schedule(every);
  }

  document.querySelectorAll("[data-live]").forEach(start);
})();
