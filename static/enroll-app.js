// The wizard's "Scan this QR code with the app" page: moves on by itself once the app has
// activated. Without JavaScript, "Continue" does the same.
(function () {
  "use strict";
  var state = document.getElementById("activation-state");
  if (!state) return;
  var url = state.getAttribute("data-status-url");
  var next = state.getAttribute("data-next");
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { done: false }; })
      .then(function (body) {
        if (body.done) {
          state.textContent = "The app is activated.";
          window.location.assign(next);
        } else {
          window.setTimeout(poll, 2000);
        }
      })
      .catch(function () { window.setTimeout(poll, 4000); });
  }
  window.setTimeout(poll, 2000);
})();
