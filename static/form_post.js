// The OpenID provider's form_post answer: sends the ID token (or the error) back to the
// application at once. Without JavaScript the page's button does the same.
(function () {
  "use strict";
  var form = document.getElementById("form-post");
  if (form) form.submit();
})();
