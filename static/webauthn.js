// Security keys: runs the browser's WebAuthn ceremony for a form marked data-webauthn="register"
// or "authenticate". The options come from the server as JSON (base64url for binary fields); the
// key's answer goes back in the form's hidden "credential" field and the form is submitted as
// usual, so the server renders the result. Messages shown here come from the form's data-msg-*
// attributes (the page's template), never from this file.
(function () {
  "use strict";

  function toBytes(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var raw = atob(b64);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out.buffer;
  }

  function toText(buffer) {
    if (!buffer) return null;
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) raw += String.fromCharCode(bytes[i]);
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function creationOptions(publicKey) {
    publicKey.challenge = toBytes(publicKey.challenge);
    publicKey.user.id = toBytes(publicKey.user.id);
    (publicKey.excludeCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
    return publicKey;
  }

  function requestOptions(publicKey) {
    publicKey.challenge = toBytes(publicKey.challenge);
    (publicKey.allowCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
    return publicKey;
  }

  function registrationJson(cred) {
    var r = cred.response;
    return {
      id: cred.id,
      rawId: toText(cred.rawId),
      type: cred.type,
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: {
        attestationObject: toText(r.attestationObject),
        clientDataJSON: toText(r.clientDataJSON),
        transports: r.getTransports ? r.getTransports() : undefined
      }
    };
  }

  function assertionJson(cred) {
    var r = cred.response;
    return {
      id: cred.id,
      rawId: toText(cred.rawId),
      type: cred.type,
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: {
        authenticatorData: toText(r.authenticatorData),
        clientDataJSON: toText(r.clientDataJSON),
        signature: toText(r.signature),
        userHandle: toText(r.userHandle)
      }
    };
  }

  function show(form, key) {
    var box = document.getElementById(form.getAttribute("data-message"));
    if (!box) return;
    box.textContent = form.getAttribute("data-msg-" + key) || form.getAttribute("data-msg-failed");
    box.hidden = false;
  }

  function setBusy(form, busy) {
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = busy;
  }

  function run(form) {
    var mode = form.getAttribute("data-webauthn");
    if (!window.PublicKeyCredential || !navigator.credentials) {
      show(form, "unsupported");
      return;
    }
    var token = form.querySelector("input[name=csrf_token]").value;
    var started = Date.now();
    var timeout = 0;
    setBusy(form, true);
    fetch(form.getAttribute("data-options"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json" },
      body: "csrf_token=" + encodeURIComponent(token)
    }).then(function (res) {
      return res.json().catch(function () { return { error: "failed" }; });
    }).then(function (options) {
      if (!options || options.error || !options.publicKey) {
        throw { server: (options && options.error) || "failed" };
      }
      timeout = options.publicKey.timeout || 0;
      started = Date.now();
      if (mode === "register") {
        return navigator.credentials.create({ publicKey: creationOptions(options.publicKey) }).then(registrationJson);
      }
      return navigator.credentials.get({ publicKey: requestOptions(options.publicKey) }).then(assertionJson);
    }).then(function (json) {
      form.querySelector("input[name=credential]").value = JSON.stringify(json);
      form.submit();
    }).catch(function (err) {
      setBusy(form, false);
      if (window.console) console.warn("security key:", err && (err.name || err.server), err && err.message);
      if (err && err.server) {
        show(form, err.server);
      } else if (err && err.name === "InvalidStateError") {
        show(form, "registered");
      } else if (err && err.name === "NotAllowedError") {
        show(form, timeout && Date.now() - started >= timeout * 0.95 ? "timeout" : "cancelled");
      } else if (err && (err.name === "NotSupportedError" || err.name === "SecurityError")) {
        show(form, "unsupported");
      } else {
        show(form, "failed");
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var forms = document.querySelectorAll("form[data-webauthn]");
    for (var i = 0; i < forms.length; i++) {
      forms[i].addEventListener("submit", function (event) {
        event.preventDefault();
        run(event.currentTarget);
      });
    }
  });
})();
