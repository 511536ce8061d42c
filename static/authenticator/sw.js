// The authenticator's service worker: keeps the app shell so passcodes show without a connection.
// Network first (so updates arrive), the cached copy when offline. API calls are never cached.
"use strict";
var CACHE = "twofold-authenticator-v2";
var SHELL = [
  "/authenticator/",
  "/authenticator/app.js",
  "/authenticator/app.css",
  "/authenticator/icon.svg",
  "/authenticator/manifest.webmanifest",
  "/static/style.css"
];
self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (c) { return c.addAll(SHELL); }).then(function () { return self.skipWaiting(); }));
});
self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});
self.addEventListener("fetch", function (event) {
  var url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  var path = url.pathname;
  if (SHELL.indexOf(path) < 0) return;
  event.respondWith(
    fetch(event.request).then(function (response) {
      var copy = response.clone();
      caches.open(CACHE).then(function (c) { c.put(path, copy); });
      return response;
    }).catch(function () {
      return caches.match(path);
    })
  );
});

// Web Push: a new request. The payload names the request only; the app shows the details.
self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {}; }
  if (data.type === "notice") {
    // Something the owner should know (e.g. a recovery passcode was requested): nothing to approve.
    event.waitUntil(self.registration.showNotification(String(data.title || "Twofold"), {
      body: String(data.body || ""),
      tag: "twofold-notice",
      icon: "/authenticator/icon.svg"
    }));
    return;
  }
  event.waitUntil(self.registration.showNotification("Are you logging in?", {
    body: "Open the Twofold authenticator to approve or deny the request.",
    tag: data.request_id || "twofold-push",
    icon: "/authenticator/icon.svg",
    requireInteraction: true
  }));
});
self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  event.waitUntil(self.clients.matchAll({ type: "window" }).then(function (list) {
    for (var i = 0; i < list.length; i++) {
      if (list[i].url.indexOf("/authenticator/") >= 0 && "focus" in list[i]) return list[i].focus();
    }
    return self.clients.openWindow("/authenticator/");
  }));
});
