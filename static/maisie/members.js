// The "Add a member" form's login field suggests existing users by login or name, from the
// workspace's owners-only finder (GET /api/v1/workspaces/<id>/find-users/?q=…: login and full name).
(function () {
  "use strict";
  var form = document.querySelector("form[data-user-finder]");
  if (!form) return;
  var input = form.querySelector("input[name=login]");
  var list = form.querySelector("#user-finder-options");
  if (!input || !list) return;
  input.setAttribute("list", list.id);
  input.setAttribute("autocomplete", "off");
  var timer = null;
  var asked = "";
  input.addEventListener("input", function () {
    var text = input.value.trim();
    clearTimeout(timer);
    if (text.length < 2 || text === asked) return;
    timer = setTimeout(function () {
      asked = text;
      var url = form.dataset.userFinder + "?q=" + encodeURIComponent(text);
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { data: [] }; })
        .then(function (body) {
          list.replaceChildren();
          (body.data || []).forEach(function (user) {
            var option = document.createElement("option");
            option.value = user.login;
            option.label = user.full_name ? user.full_name + " (" + user.login + ")" : user.login;
            list.appendChild(option);
          });
        })
        .catch(function () {});
    }, 200);
  });
})();
