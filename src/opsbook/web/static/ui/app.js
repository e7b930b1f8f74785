/* opsbook web UI: acknowledgement countdowns. No inline script anywhere (CSP script-src 'self').
   The server renders the same text, so pages read fine without JavaScript. */
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
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSwap", tick);
  setInterval(tick, 1000);
})();
