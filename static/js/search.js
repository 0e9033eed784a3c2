// Suggestions for the header's organisation search: as the person types, the first ten
// matches fill the field's datalist (names and codes). Without JavaScript the form still
// submits to the search page.
(function () {
  "use strict";
  var field = document.getElementById("search-field");
  var list = document.getElementById("organisation-suggestions");
  if (!field || !list || !window.fetch) return;
  var timer = null;
  var last = "";
  field.addEventListener("input", function () {
    var text = field.value.trim();
    clearTimeout(timer);
    if (text.length < 2 || text === last) return;
    timer = setTimeout(function () {
      last = text;
      var url = field.dataset.suggest + "?format=json&q=" + encodeURIComponent(text);
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (answer) { return answer.ok ? answer.json() : { results: [] }; })
        .then(function (body) {
          list.replaceChildren();
          body.results.forEach(function (found) {
            var option = document.createElement("option");
            option.value = found.code;
            option.label = found.name + " (" + found.code + ")";
            list.appendChild(option);
          });
        })
        .catch(function () { /* suggestions are a convenience: the form still works */ });
    }, 200);
  });
})();
