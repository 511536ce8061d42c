// Push at the prompt: starts the push when "Automatically send this device a Push" is chosen,
// and while waiting asks the server (long-poll) until the request is answered. Without
// JavaScript the page offers "Check again" and "Continue" instead.
(function () {
  "use strict";
  var auto = document.getElementById("auto-push");
  if (auto) {
    auto.submit();
    return;
  }
  var wait = document.getElementById("push-wait");
  if (!wait) return;
  var finish = document.getElementById("push-finish");
  if (finish && !finish.hidden) {
    finish.submit();
    return;
  }
  var statusUrl = wait.getAttribute("data-status-url");
  var pageUrl = wait.getAttribute("data-page-url");
  function poll() {
    fetch(statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error("status " + r.status);
        // Sent elsewhere (the session ended: signed out, or the push reported as fraudulent):
        // the page itself shows where to go.
        if (r.redirected) return { status: "gone" };
        return r.json();
      })
      .then(function (body) {
        if (body.status === "pending") {
          poll();
        } else if (body.status === "approved" && finish) {
          finish.submit();
        } else {
          window.location.assign(pageUrl);
        }
      })
      .catch(function () {
        window.setTimeout(poll, 3000);
      });
  }
  poll();
})();
