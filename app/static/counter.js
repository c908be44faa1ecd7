// The counter's forms: add and remove rows of documents received; Enter in the procedure
// search looks the procedure up instead of sending the form.
(function () {
  "use strict";
  var list = document.getElementById("documents");
  var template = document.getElementById("doc-row");
  var add = document.getElementById("add-document");
  var counter = list ? list.children.length : 0;

  if (list && template && add) {
    add.addEventListener("click", function () {
      counter += 1;
      var row = template.content.firstElementChild.cloneNode(true);
      var input = row.querySelector("input");
      var label = row.querySelector("label");
      input.id = "doc-" + counter;
      label.htmlFor = input.id;
      list.appendChild(row);
      input.focus();
    });
    list.addEventListener("click", function (event) {
      var button = event.target.closest(".remove-row");
      if (!button) { return; }
      var row = button.closest("li");
      if (list.children.length > 1) { row.remove(); } else { row.querySelector("input").value = ""; }
      add.focus();
    });
  }

  var search = document.getElementById("procedure-q");
  if (search) {
    search.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        search.dispatchEvent(new Event("search"));
      }
    });
  }
}());
