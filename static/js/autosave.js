/* Drafts save themselves: a few seconds after the applicant stops typing, the form is posted with
   _autosave and the server keeps whatever is valid so far. Without JavaScript the buttons do it. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosave]");
  if (!form || !window.fetch || !window.FormData) { return; }
  var status = document.getElementById("autosave-status");
  var timer = null;
  function save() {
    var data = new FormData(form);
    data.append("_autosave", "1");
    fetch(form.getAttribute("action") || window.location.href, {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" }
    }).then(function (response) {
      if (status && response.status === 204) { status.textContent = status.getAttribute("data-saved"); }
    }).catch(function () { /* offline: the buttons still save */ });
  }
  form.addEventListener("input", function () {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(save, 3000);
  });
})();
