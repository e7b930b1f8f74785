/* opsbook web UI: the inbox badge and browser notifications (Notification API).
   The badge (#inbox-badge) is refreshed by HTMX from /ui/inbox/count; when its newest unread
   message changes and the person allowed notifications, one is shown (clicking it opens the
   incident). Nothing is sent anywhere: this only reads the page's own badge. */
(function () {
  "use strict";
  var KEY = "opsbook-inbox-newest";
  function supported() { return "Notification" in window; }
  function stored() { try { return localStorage.getItem(KEY); } catch (e) { return null; } }
  function store(v) { try { localStorage.setItem(KEY, v); } catch (e) { /* private mode */ } }

  function seen(badge) {
    var newest = badge.getAttribute("data-newest") || "";
    var unread = parseInt(badge.getAttribute("data-unread") || "0", 10);
    var last = stored();
    if (last === null) { store(newest || "-"); return; } /* first look here: old pages are not news */
    if (!newest || newest === last) return;
    store(newest);
    if (!unread || !supported() || Notification.permission !== "granted") return;
    var n = new Notification("opsbook: " + (badge.getAttribute("data-title") || "new page"), {
      body: unread + " unread in your opsbook inbox", tag: newest
    });
    n.onclick = function () { window.focus(); window.location.href = badge.getAttribute("data-href") || "/ui/inbox"; };
  }

  function check() {
    var badge = document.querySelector("#inbox-badge .inbox-count");
    if (badge) seen(badge);
  }

  function button() {
    var b = document.getElementById("inbox-notify");
    var state = document.getElementById("inbox-notify-state");
    if (!b || !state) return;
    if (!supported()) { state.textContent = "This browser has no notifications."; return; }
    if (Notification.permission === "granted") { state.textContent = "Browser notifications are on."; return; }
    if (Notification.permission === "denied") { state.textContent = "Browser notifications are blocked for this site (change it in the browser's site settings)."; return; }
    b.hidden = false;
    b.addEventListener("click", function () {
      Notification.requestPermission().then(function () { b.hidden = true; button(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { button(); check(); });
  document.addEventListener("htmx:afterSwap", check);
})();
