// Slotbook: warns before a signed-in session ends for inactivity, and offers to keep it.
// No inline script (the CSP forbids it); the server puts the idle timeout (seconds) on <body>.
(function () {
  "use strict";
  var timeout = parseInt(document.body.getAttribute("data-idle-timeout"), 10);
  var banner = document.getElementById("idle-warning");
  if (!timeout || timeout <= 0 || !banner) {
    return;
  }
  var countdown = document.getElementById("idle-countdown");
  var stay = document.getElementById("idle-stay");
  var keepalive = banner.getAttribute("data-keepalive");
  var expiredURL = banner.getAttribute("data-expired");
  // Warn 2 minutes before the end, or after 80 % of the timeout if that is shorter.
  var warnBefore = Math.min(120, timeout * 0.2);
  var deadline, timer;

  function format(seconds) {
    var m = Math.floor(seconds / 60);
    var s = seconds % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  function expire() {
    clearInterval(timer);
    window.location.assign(expiredURL);
  }

  function tick() {
    var left = Math.ceil((deadline - Date.now()) / 1000);
    if (left <= 0) {
      expire();
      return;
    }
    if (left <= warnBefore) {
      countdown.textContent = format(left);
      if (banner.hidden) {
        banner.hidden = false;
        stay.focus();
      }
    }
  }

  function start() {
    // One second of slack: the server's idle clock started when it answered this page.
    deadline = Date.now() + (timeout + 1) * 1000;
    banner.hidden = true;
    clearInterval(timer);
    timer = setInterval(tick, 1000);
  }

  stay.addEventListener("click", function () {
    stay.disabled = true;
    fetch(keepalive, { method: "POST", credentials: "same-origin", redirect: "manual" })
      .then(function (res) {
        stay.disabled = false;
        if (res.status === 204) {
          start();
        } else {
          expire();
        }
      })
      .catch(function () {
        stay.disabled = false;
      });
  });

  start();
})();
