/* The counter's service field as a combobox with a list (WAI-ARIA APG "list autocomplete with
   manual selection"): as the clerk types a name, code or alias, the services that fit are listed;
   Down and Up move through them, Enter takes one, Escape closes the list (or clears the field),
   Tab leaves it. Enter with nothing chosen sends the form: the server reads a full name, code or
   alias by itself (cases/counter/picker.py), so without this script the field still works.
   Bundles (一件事, entries with a `group`) are listed apart, after the services, and named so. */
(function () {
  "use strict";
  var box = document.querySelector("[data-service-picker]");
  var data = document.getElementById("service-choices");
  if (!box || !data) { return; }
  var input = box.querySelector("input[type=text]");
  var code = box.querySelector("input[name=service_code]");
  var list = document.getElementById("service-options");
  var status = document.getElementById("service-status");
  var services = JSON.parse(data.textContent);
  var MAX = 12;
  var shown = [];
  var active = -1;

  function key(text) { return String(text || "").replace(/\s+/g, "").toLowerCase(); }
  services.forEach(function (s) {
    s.keys = s.words.filter(Boolean).map(key);
  });

  /* 0: a word equals the text; 1: a word starts with it; 2: a word contains it. */
  function rank(s, text) {
    var best = -1;
    s.keys.forEach(function (word) {
      var r = word === text ? 0 : word.indexOf(text) === 0 ? 1 : word.indexOf(text) > 0 ? 2 : -1;
      if (r !== -1 && (best === -1 || r < best)) { best = r; }
    });
    return best;
  }

  function matches(text) {
    text = key(text);
    if (!text) { return []; }
    var found = [];
    services.forEach(function (s, index) {
      var r = rank(s, text);
      if (r !== -1) { found.push({ service: s, rank: r, index: index }); }
    });
    found.sort(function (a, b) {
      var ga = a.service.group ? 1 : 0;
      var gb = b.service.group ? 1 : 0;
      return ga - gb || a.rank - b.rank || a.index - b.index;
    });
    return found.slice(0, MAX).map(function (f) { return f.service; });
  }

  function announce(count) {
    var template = count === 0 ? status.getAttribute("data-none")
      : count === 1 ? status.getAttribute("data-one") : status.getAttribute("data-many");
    status.textContent = template.replace("%(count)s", String(count));
  }

  function setActive(index) {
    var options = list.querySelectorAll("[role=option]");
    if (active >= 0 && options[active]) { options[active].setAttribute("aria-selected", "false"); }
    active = index;
    if (active >= 0 && options[active]) {
      options[active].setAttribute("aria-selected", "true");
      input.setAttribute("aria-activedescendant", options[active].id);
      options[active].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function open(items) {
    shown = items;
    list.textContent = "";
    items.forEach(function (s, i) {
      var li = document.createElement("li");
      li.id = "service-option-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.setAttribute("data-code", s.code);
      var name = document.createElement("span");
      name.className = "picker-name";
      name.lang = s.name_lang;
      name.textContent = s.name;
      li.appendChild(name);
      var meta = document.createElement("span");
      meta.className = "picker-meta";
      meta.textContent = " " + s.code;
      if (s.aliases.length) {
        var aliases = document.createElement("span");
        aliases.lang = "zh-Hans";
        aliases.textContent = " · " + s.aliases.join(" ");
        meta.appendChild(aliases);
      }
      if (s.group) {
        li.className = "picker-bundle";
        var group = document.createElement("span");
        group.className = "picker-group";
        group.textContent = " · " + s.group;
        meta.appendChild(group);
      }
      li.appendChild(meta);
      li.addEventListener("mousedown", function (event) { event.preventDefault(); });
      li.addEventListener("click", function () { choose(i); });
      list.appendChild(li);
    });
    active = -1;
    input.removeAttribute("aria-activedescendant");
    list.hidden = items.length === 0;
    input.setAttribute("aria-expanded", items.length ? "true" : "false");
    announce(items.length);
  }

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function choose(index) {
    var s = shown[index];
    if (!s) { return; }
    input.value = s.name;
    code.value = s.code;
    close();
    status.textContent = s.name + " " + s.code;
  }

  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-controls", list.id);

  /* Down on an empty field lists the services from the top; with words typed, those that fit. */
  function openForText() {
    var plain = services.filter(function (s) { return !s.group; });
    var bundles = services.filter(function (s) { return s.group; });
    open(key(input.value) ? matches(input.value) : plain.slice(0, 50).concat(bundles));
  }

  input.addEventListener("input", function (event) {
    code.value = "";  /* typed again: the server reads the words */
    if (event.isComposing) { return; }  /* pinyin being composed in an input method */
    open(matches(input.value));
  });
  input.addEventListener("compositionend", function () { open(matches(input.value)); });
  input.addEventListener("keydown", function (event) {
    if (event.isComposing || event.keyCode === 229) { return; }  /* the input method's own keys */
    var expanded = !list.hidden;
    if (event.key === "ArrowDown" || event.key === "Down") {
      event.preventDefault();
      if (!expanded) { openForText(); }
      if (shown.length) { setActive(active + 1 < shown.length ? active + 1 : 0); }
    } else if (event.key === "ArrowUp" || event.key === "Up") {
      event.preventDefault();
      if (!expanded) { openForText(); }
      if (shown.length) { setActive(active > 0 ? active - 1 : shown.length - 1); }
    } else if (event.key === "Enter") {
      if (expanded && active >= 0) { event.preventDefault(); choose(active); }
      else { close(); }
    } else if (event.key === "Escape" || event.key === "Esc") {
      if (expanded) { event.preventDefault(); close(); }
      else if (input.value) { event.preventDefault(); input.value = ""; code.value = ""; }
    } else if (event.key === "Tab") {
      close();
    }
  });
  input.addEventListener("blur", function () { close(); });
})();
