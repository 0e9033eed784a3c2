// Poll an upload's status panel while it is in progress, replacing it in place.
(function () {
  var panel = document.getElementById("upload-status");
  if (!panel || panel.dataset.polling !== "true") return;
  var url = panel.dataset.statusUrl;
  function poll() {
    fetch(url, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) {
        panel.innerHTML = html;
        if (panel.querySelector("progress")) {
          window.setTimeout(poll, 1500);
        }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
