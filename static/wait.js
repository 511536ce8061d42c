// Pages that wait for something happening elsewhere (a ringing call, a verification push): every
// few seconds the page is read again in the background, and reloaded only when its state changed,
// so nothing jumps or is re-announced while it waits (a <meta http-equiv="refresh"> reloaded it
// every time: WCAG 2.2.1). Without JavaScript the page's "Check again" does the same.
(function () {
  "use strict";
  var marker = document.querySelector("[data-wait-state]");
  if (!marker) return;
  var state = marker.getAttribute("data-wait-state");
  var every = (parseInt(marker.getAttribute("data-wait-seconds"), 10) || 3) * 1000;
  function check() {
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) {
        if (r.redirected || !r.ok) return null;
        return r.text();
      })
      .then(function (html) {
        var now = html && new DOMParser().parseFromString(html, "text/html").querySelector("[data-wait-state]");
        if (!now || now.getAttribute("data-wait-state") !== state) {
          window.location.reload();
        } else {
          window.setTimeout(check, every);
        }
      })
      .catch(function () {
        window.setTimeout(check, every);
      });
  }
  window.setTimeout(check, every);
})();
