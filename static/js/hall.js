/* The service hall: the display over the waiting area and the citizen's ticket refresh themselves
   from the JSON API every few seconds (no framework). The display chimes on a new call once sound
   is switched on (browsers allow sound only after a press). */
(function () {
  "use strict";
  var EVERY = 5000;

  function text(element, value) {
    if (element && element.textContent !== value) element.textContent = value;
  }

  function poll(url, render) {
    function tick() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) { if (data) render(data); })
        .catch(function () { /* the next tick tries again */ })
        .then(function () { window.setTimeout(tick, EVERY); });
    }
    window.setTimeout(tick, EVERY);
  }

  // --- The display -----------------------------------------------------------------------------
  var display = document.querySelector("[data-display-feed]");
  if (display) {
    var chimeButton = display.querySelector("[data-chime]");
    var audio = null;
    var lastKey = null;
    var windowLabel = display.getAttribute("data-window-label");

    function chime() {
      if (!audio) return;
      [0, 0.35].forEach(function (delay, i) {
        var oscillator = audio.createOscillator();
        var gain = audio.createGain();
        oscillator.frequency.value = i ? 660 : 880;
        gain.gain.setValueAtTime(0.0001, audio.currentTime + delay);
        gain.gain.exponentialRampToValueAtTime(0.3, audio.currentTime + delay + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + delay + 0.3);
        oscillator.connect(gain).connect(audio.destination);
        oscillator.start(audio.currentTime + delay);
        oscillator.stop(audio.currentTime + delay + 0.32);
      });
    }

    chimeButton.addEventListener("click", function () {
      var Context = window.AudioContext || window.webkitAudioContext;
      if (!audio && Context) audio = new Context();
      var on = chimeButton.getAttribute("aria-pressed") !== "true";
      if (!on && audio) { audio.close(); audio = null; }
      chimeButton.setAttribute("aria-pressed", on ? "true" : "false");
      chimeButton.textContent = chimeButton.getAttribute(on ? "data-on" : "data-off");
      if (on) chime();
    });

    poll(display.getAttribute("data-display-feed"), function (data) {
      var latest = display.querySelector("[data-latest]");
      var first = data.calls[0];
      var key = first ? first.number + "/" + first.calls + "/" + first.called_at : "";
      if (first && key !== lastKey) {
        latest.textContent = "";
        var number = document.createElement("span");
        number.className = "display-number";
        number.textContent = first.number;
        var arrow = document.createElement("span");
        arrow.setAttribute("aria-hidden", "true");
        arrow.textContent = " → ";
        var where = document.createElement("span");
        where.className = "display-window";
        where.textContent = windowLabel.replace("%(window)s", first.window);
        latest.append(number, arrow, where);
        if (lastKey !== null) chime();
      }
      lastKey = key;
      var rows = display.querySelector("[data-calls]");
      rows.textContent = "";
      data.calls.forEach(function (call) {
        var row = rows.insertRow();
        row.insertCell().textContent = call.number;
        row.insertCell().textContent = call.window;
      });
      var waiting = display.querySelector("[data-waiting]");
      waiting.textContent = "";
      data.waiting.forEach(function (item) {
        var li = document.createElement("li");
        var name = document.createElement("span");
        name.textContent = item.name;
        var count = document.createElement("strong");
        count.textContent = item.count;
        li.append(name, " ", count);
        waiting.append(li);
      });
    });
    // The first call seen on load is not new: remember it without a chime.
    var seen = display.querySelector("[data-latest] .display-number");
    lastKey = seen ? null : "";
  }

  // --- The citizen's ticket --------------------------------------------------------------------
  var ticket = document.querySelector("[data-ticket-status]");
  if (ticket) {
    poll(ticket.getAttribute("data-ticket-status"), function (data) {
      text(ticket.querySelector("[data-field=state]"), ticket.getAttribute("data-" + data.state) || data.state);
      var detail = "";
      if (data.state === "waiting" && data.place !== null) {
        detail = data.place === 0 ? ticket.getAttribute("data-ahead-none")
          : data.place === 1 ? ticket.getAttribute("data-ahead-one")
          : ticket.getAttribute("data-ahead-many").replace("%(count)s", data.place);
      } else if ((data.state === "called" || data.state === "serving") && data.window !== null) {
        detail = ticket.getAttribute("data-go").replace("%(window)s", data.window);
      }
      text(ticket.querySelector("[data-field=detail]"), detail);
    });
  }
})();
