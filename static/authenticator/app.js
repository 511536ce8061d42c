// The Twofold authenticator (a web app). Each account holds a non-extractable P-256 key made
// with WebCrypto and kept in IndexedDB (the portal sees only the public key), and the TOTP seed
// for offline passcodes. While open, it asks the portal for pending pushes (signed with the key)
// and answers them: approve with the number typed from the login screen, or deny (and say why).
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var POLL_MS = 2000;
  var accounts = [];
  var current = null; // { account, request }
  var answered = {};

  // ---- storage (IndexedDB) ----
  function openDb() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open("twofold-authenticator", 1);
      req.onupgradeneeded = function () { req.result.createObjectStore("accounts", { keyPath: "device_id" }); };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }
  function tx(mode, fn) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction("accounts", mode);
        var result = fn(t.objectStore("accounts"));
        t.oncomplete = function () { resolve(result && result.result !== undefined ? result.result : undefined); };
        t.onerror = function () { reject(t.error); };
      });
    });
  }
  function loadAccounts() { return tx("readonly", function (s) { return s.getAll(); }); }
  function saveAccount(a) { return tx("readwrite", function (s) { return s.put(a); }); }

  // ---- encoding ----
  function b64url(buf) {
    var bytes = new Uint8Array(buf), s = "";
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function base32(text) {
    var alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", bits = 0, value = 0, out = [];
    text = text.replace(/[\s=]/g, "").toUpperCase();
    for (var i = 0; i < text.length; i++) {
      value = (value << 5) | alphabet.indexOf(text[i]);
      bits += 5;
      if (bits >= 8) { out.push((value >>> (bits - 8)) & 255); bits -= 8; }
    }
    return new Uint8Array(out);
  }
  var enc = new TextEncoder();

  // ---- TOTP (RFC 6238: SHA-1, 6 digits, 30 s) ----
  function totp(secret, when) {
    var counter = Math.floor(when / 30000), msg = new Uint8Array(8);
    for (var i = 7; i >= 0; i--) { msg[i] = counter & 255; counter = Math.floor(counter / 256); }
    return crypto.subtle.importKey("raw", base32(secret), { name: "HMAC", hash: "SHA-1" }, false, ["sign"])
      .then(function (k) { return crypto.subtle.sign("HMAC", k, msg); })
      .then(function (sig) {
        var h = new Uint8Array(sig), o = h[19] & 15;
        var n = ((h[o] & 127) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3];
        return String(n % 1000000).padStart(6, "0");
      });
  }

  // ---- portal calls ----
  function sign(account, message) {
    return crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, account.key, enc.encode(message)).then(b64url);
  }
  function post(path, body) {
    return fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, status: r.status, body: j }; }); });
  }
  function say(text) { $("status").textContent = text; }
  function problem(text) { var p = $("problem"); p.textContent = text || ""; p.hidden = !text; }

  // ---- activation ----
  function activate(token) {
    say("Activating…");
    var pair;
    return crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"])
      .then(function (p) { pair = p; return crypto.subtle.exportKey("raw", p.publicKey); })
      .then(function (raw) { return post("/device/v1/activate", { token: token, public_key: b64url(raw) }); })
      .then(function (r) {
        if (!r.ok) { say(""); problem(r.body.message || "Activation failed."); return; }
        var a = { device_id: r.body.device_id, institution: r.body.institution, username: r.body.username,
                  secret: r.body.totp_secret, key: pair.privateKey, added: Date.now() };
        return saveAccount(a).then(function () {
          accounts = accounts.filter(function (x) { return x.device_id !== a.device_id; }).concat([a]);
          render();
          problem("");
          say("Activated: " + a.institution + " (" + a.username + "). You can go back to the setup page.");
        });
      })
      .catch(function () { say(""); problem("Activation failed. Check your connection and open the link again."); });
  }

  // ---- accounts and passcodes ----
  function render() {
    var list = $("accounts");
    list.textContent = "";
    $("no-accounts").hidden = accounts.length > 0;
    accounts.forEach(function (a) {
      var li = document.createElement("li");
      var name = document.createElement("span");
      name.className = "account-name";
      name.textContent = a.institution + " (" + a.username + ")";
      var code = document.createElement("span");
      code.className = "passcode";
      code.setAttribute("data-device", a.device_id);
      code.setAttribute("aria-label", "Passcode for " + a.institution + " " + a.username);
      li.appendChild(name);
      li.appendChild(code);
      list.appendChild(li);
    });
    tick();
  }
  function tick() {
    accounts.forEach(function (a) {
      totp(a.secret, Date.now()).then(function (c) {
        var el = document.querySelector('[data-device="' + a.device_id + '"]');
        if (el) el.textContent = c;
      });
    });
  }

  // ---- pushes ----
  function poll() {
    if (current || document.hidden) return;
    accounts.forEach(function (a) {
      var ts = Math.floor(Date.now() / 1000);
      sign(a, "twofold-push-pending\n" + a.device_id + "\n" + ts)
        .then(function (sig) { return post("/device/v1/pending", { device_id: a.device_id, timestamp: ts, signature: sig }); })
        .then(function (r) {
          if (!r.ok || current) return;
          var next = r.body.requests.filter(function (q) { return !answered[q.id]; })[0];
          if (next) show(a, next);
        })
        .catch(function () {});
    });
  }
  function show(account, request) {
    current = { account: account, request: request };
    $("r-app").textContent = request.application;
    $("r-user").textContent = request.username + " (" + account.institution + ")";
    $("r-ip").textContent = request.ip || "Unknown";
    $("r-time").textContent = new Date(request.created_at * 1000).toLocaleTimeString();
    // The help desk's verification push: approved, it shows a code to read back.
    var verifying = request.purpose === "verify";
    $("request-heading").textContent = verifying ? "Is your help desk verifying it's you?" : "Are you logging in?";
    // Requests from applications (Auth API) have no number to match: approve or deny.
    var matching = request.number_matching !== false;
    $("number").value = "";
    $("number").required = matching;
    $("number-field").hidden = !matching;
    $("deny-reason").hidden = true;
    $("request").hidden = false;
    say("New request: are you logging in?");
    (matching ? $("number") : $("request-heading")).focus();
  }
  function finish(text) {
    if (current) answered[current.request.id] = true;
    current = null;
    $("request").hidden = true;
    say(text);
  }
  function answer(decision, number) {
    var c = current;
    if (!c) return;
    var msg = "twofold-push-answer\n" + c.request.id + "\n" + decision + "\n" + number;
    sign(c.account, msg)
      .then(function (sig) {
        return post("/device/v1/answer", { device_id: c.account.device_id, request_id: c.request.id,
                                           decision: decision, number: number, signature: sig });
      })
      .then(function (r) {
        if (r.ok && r.body.verification_code) {
          finish("Approved.");
          $("verification-code").textContent = r.body.verification_code.replace(/(\d{3})(\d{3})/, "$1 $2");
          $("verified").hidden = false;
          $("verified-heading").focus();
        } else if (r.ok && r.body.status === "approved") finish("Approved. You are logging in.");
        else if (r.ok && r.body.status === "fraud") finish("Reported. Your help desk has been told.");
        else if (r.ok) finish("Denied.");
        else finish(r.body.message || "The answer was not accepted.");
      })
      .catch(function () { problem("No connection. Try again."); });
  }
  $("approve-form").addEventListener("submit", function (e) {
    e.preventDefault();
    answer("approve", $("number").value.trim());
  });
  $("deny").addEventListener("click", function () {
    $("deny-reason").hidden = false;
    $("deny-question").focus();
  });
  $("fraud").addEventListener("click", function () { answer("fraud", ""); });
  $("verified-done").addEventListener("click", function () {
    $("verified").hidden = true;
    $("verification-code").textContent = "";
  });
  $("mistake").addEventListener("click", function () { answer("deny", ""); });

  // ---- Web Push (when the user allows notifications) ----
  function fromB64url(text) {
    var s = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    var out = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  function subscribe() {
    if (!("serviceWorker" in navigator) || !("PushManager" in window) || accounts.length === 0) return Promise.resolve();
    return navigator.serviceWorker.ready
      .then(function (reg) {
        return fetch("/device/v1/vapid").then(function (r) { return r.json(); }).then(function (v) {
          return reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: fromB64url(v.public_key) });
        });
      })
      .then(function (sub) {
        var json = sub.toJSON();
        return Promise.all(accounts.map(function (a) {
          var ts = Math.floor(Date.now() / 1000);
          return sign(a, "twofold-push-subscribe\n" + a.device_id + "\n" + ts + "\n" + json.endpoint).then(function (sig) {
            return post("/device/v1/subscribe", { device_id: a.device_id, timestamp: ts, endpoint: json.endpoint,
                                                  p256dh: json.keys.p256dh, auth: json.keys.auth, signature: sig });
          });
        }));
      })
      .then(function () { $("notify").hidden = true; })
      .catch(function () {});
  }
  $("notify").addEventListener("click", function () {
    Notification.requestPermission().then(function (p) {
      if (p === "granted") subscribe().then(function () { say("Notifications are on."); });
      else say("Notifications are off. Keep the app open to receive requests.");
    });
  });
  function offerNotifications() {
    if (!("Notification" in window) || !("PushManager" in window) || accounts.length === 0) return;
    if (Notification.permission === "granted") subscribe();
    else if (Notification.permission === "default") $("notify").hidden = false;
  }

  // ---- start ----
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/authenticator/sw.js", { scope: "/authenticator/" }).catch(function () {});
  }
  // An activation link carries its token in the fragment; opened while the app is already open,
  // only the fragment changes (no new page load), so "hashchange" activates too.
  function activateFromLink() {
    var m = /activate=([A-Za-z0-9_-]+)/.exec(location.hash);
    if (!m) return null;
    history.replaceState(null, "", "/authenticator/");
    return activate(m[1]).then(offerNotifications);
  }
  var loaded = loadAccounts().then(function (list) {
    accounts = list || [];
    render();
    return activateFromLink() || offerNotifications();
  });
  loaded.catch(function () { problem("This browser cannot store the app's keys (IndexedDB is unavailable)."); });
  window.addEventListener("hashchange", function () { loaded.then(activateFromLink); });
  setInterval(tick, 1000);
  setInterval(poll, POLL_MS);
})();
