// Upload with a progress bar; without JavaScript the form posts normally.
(function () {
  var form = document.getElementById("upload-form");
  if (!form || !window.XMLHttpRequest || !window.FormData) return;
  var bar = document.getElementById("upload-progress");
  var status = document.getElementById("upload-status");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var data = new FormData(form);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRF-Token", form.elements["csrf_token"].value);
    bar.hidden = false;
    bar.value = 0;
    status.textContent = "Uploading…";
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 100);
    });
    xhr.addEventListener("load", function () {
      var results = [];
      try { results = JSON.parse(xhr.responseText).results || []; } catch (e) { /* not JSON */ }
      status.textContent = results.length
        ? results.map(function (r) { return r.file + ": " + r.message; }).join(" ")
        : "The upload failed (" + xhr.status + ").";
      if (xhr.status === 200) window.location.reload();
    });
    xhr.addEventListener("error", function () { status.textContent = "The upload failed: the portal is unreachable."; });
    xhr.send(data);
  });
})();
