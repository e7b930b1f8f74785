/* opsbook web UI: acknowledgement countdowns, "5 min ago" beside dated times, and the count of
   unacknowledged incidents in the title and the tab icon. No inline script anywhere (CSP
   script-src 'self'). The server renders the same text, so pages read fine without JavaScript. */
(function () {
  "use strict";
  function span(s) {
    s = Math.floor(Math.abs(s));
    if (s < 60) return s + "s";
    if (s < 600) return Math.floor(s / 60) + "m " + String(s % 60).padStart(2, "0") + "s";
    if (s < 3600) return Math.floor(s / 60) + "m";
    if (s < 86400) return Math.floor(s / 3600) + "h " + String(Math.floor((s % 3600) / 60)).padStart(2, "0") + "m";
    return Math.floor(s / 86400) + "d " + Math.floor((s % 86400) / 3600) + "h";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("time.countdown[data-deadline]").forEach(function (el) {
      var left = (Date.parse(el.getAttribute("data-deadline")) - now) / 1000;
      if (isNaN(left)) return;
      el.textContent = left > 0 ? span(left) + " left" : "breached " + span(left) + " ago";
      el.classList.toggle("breached", left <= 0);
    });
  }
  function ago(secs) {
    var a = Math.abs(secs), t;
    if (a < 45) return "just now";
    if (a < 3600) t = Math.max(1, Math.round(a / 60)) + " min";
    else if (a < 86400) t = Math.round(a / 3600) + " h";
    else t = Math.round(a / 86400) + " d";
    return secs > 0 ? t + " ago" : "in " + t;
  }
  function relative() {
    var now = Date.now();
    document.querySelectorAll("[data-ago]").forEach(function (el) {
      var at = Date.parse(el.getAttribute("data-ago"));
      if (!isNaN(at)) el.textContent = ago((now - at) / 1000);
    });
  }
  var baseTitle = null;
  function attention() {
    var url = document.body && document.body.getAttribute("data-attention");
    if (!url || !window.fetch) return;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) {
        if (!j || typeof j.unacknowledged !== "number") return;
        if (baseTitle === null) baseTitle = document.title.replace(/^\(\d+\) /, "");
        var n = j.unacknowledged;
        document.title = (n > 0 ? "(" + n + ") " : "") + baseTitle;
        var icon = document.getElementById("favicon");
        if (icon) icon.setAttribute("href", n > 0 ? "/ui/static/favicon-alert.svg" : "/ui/static/favicon.svg");
      })
      .catch(function () {});
  }
  document.addEventListener("DOMContentLoaded", function () { tick(); relative(); attention(); });
  document.addEventListener("htmx:afterSwap", function () { tick(); relative(); });
  setInterval(tick, 1000);
  setInterval(relative, 30000);
  setInterval(attention, 15000);
})();
