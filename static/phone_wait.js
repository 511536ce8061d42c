// Continues a phone verification or "Call Me" sign-in once the call was answered: the page
// (refreshed by <meta http-equiv="refresh"> while ringing) submits its own "Continue" form.
(function () {
  var form = document.getElementById("continue-form");
  if (form && form.getAttribute("data-auto") === "1") {
    form.submit();
  }
})();
