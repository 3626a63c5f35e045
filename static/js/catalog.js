// The catalog's filters: behind a toggle on a phone (after the results), open beside them on a wide
// screen. Without this script the toggle still works; it only starts closed.
(function () {
  var filters = document.querySelector("details.facets");
  if (filters && window.matchMedia("(min-width: 48rem)").matches) filters.open = true;
})();
