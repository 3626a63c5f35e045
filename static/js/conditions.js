/* "Ask this only when ...": a field whose wrapper carries data-show-if is shown while one of its
   rules holds and hidden otherwise, as the applicant answers. Without JavaScript the server does the
   same on the next step (services/schema.py). A rule: [{"field": "<input name>", "values": [...]}];
   a ticked box counts as "true". */
(function () {
  "use strict";
  var wrappers = document.querySelectorAll("[data-show-if]");
  if (!wrappers.length) { return; }
  function valueOf(form, name) {
    var inputs = form.querySelectorAll('[name="' + name.replace(/"/g, '\\"') + '"]');
    for (var i = 0; i < inputs.length; i++) {
      var input = inputs[i];
      if (input.type === "radio") { if (input.checked) { return input.value; } continue; }
      if (input.type === "checkbox") { return input.checked ? "true" : "false"; }
      return input.value;
    }
    return "";
  }
  function update() {
    Array.prototype.forEach.call(wrappers, function (wrapper) {
      var form = wrapper.closest("form");
      var rules;
      try { rules = JSON.parse(wrapper.getAttribute("data-show-if")); } catch (e) { return; }
      var shown = rules.some(function (rule) {
        return rule.values.map(String).indexOf(String(valueOf(form, rule.field))) !== -1;
      });
      wrapper.hidden = !shown;
      Array.prototype.forEach.call(wrapper.querySelectorAll("input, select, textarea"), function (el) {
        el.disabled = !shown;  /* a hidden answer is not sent */
      });
    });
  }
  document.addEventListener("change", update);
  document.addEventListener("input", update);
  update();
})();
