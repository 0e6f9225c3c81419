// Steppe's post editor: a live preview beside the text, rendered by the server's own renderer (so it matches the
// page exactly), with the Mastodon view and a word count; and a small Markdown toolbar. Without this script the
// Preview button shows the same. SPDX-License-Identifier: AGPL-3.0-or-later
(function () {
  "use strict";
  var form = document.getElementById("editor-form");
  if (!form || !window.fetch || !window.FormData) return;
  document.documentElement.classList.add("js");
  var body = form.querySelector("#body");
  var pane = document.getElementById("live-preview");
  var title = document.getElementById("live-title");
  var html = document.getElementById("live-body");
  var mastodon = document.getElementById("live-mastodon");
  var count = document.getElementById("word-count");

  // As the server counts: pieces between spaces that have a letter or digit.
  function words(text) {
    return (text.match(/\S+/g) || []).filter(function (w) { return /[\p{L}\p{N}]/u.test(w); }).length;
  }
  function showCount() { if (count) count.textContent = "· " + words(body.value) + " words"; }

  var timer = null, inFlight = false, again = false;
  function refresh() {
    timer = null;
    if (!pane) return;
    if (inFlight) { again = true; return; }
    inFlight = true;
    var data = new FormData(form);
    // Files are not sent: the preview shows uploaded images only.
    var fields = new URLSearchParams();
    data.forEach(function (value, name) { if (typeof value === "string") fields.append(name, value); });
    fields.set("id", form.dataset.postId || "");
    fetch(form.dataset.previewUrl, { method: "POST", body: fields, credentials: "same-origin", redirect: "manual",
                                     headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (j) {
        if (j.errors) {
          title.textContent = "";
          html.textContent = j.errors.join(" ");
          mastodon.textContent = "";
          return;
        }
        title.textContent = j.title;
        html.innerHTML = j.html;          // rendered and cleaned by the server, as on the page
        mastodon.innerHTML = j.mastodon_html;
        var offer = document.getElementById("paste-backticks");
        if (offer && j.stray_backticks && j.stray_backticks.length) offer.hidden = false;
      })
      .catch(function () { html.textContent = "The preview is not available (the session may have ended). The text is safe in the form."; })
      .then(function () { inFlight = false; if (again) { again = false; schedule(); } });
  }
  function schedule() { if (timer) clearTimeout(timer); timer = setTimeout(refresh, 600); }
  form.addEventListener("input", function () { showCount(); schedule(); });
  form.addEventListener("change", schedule);
  showCount();
  refresh();

  // The toolbar: wraps the selection (or inserts a placeholder) in Markdown.
  var tools = [
    ["Bold", "**", "**", "bold text"],
    ["Italic", "*", "*", "italic text"],
    ["Link", "[", "](https://)", "link text"],
    ["Heading", "\n## ", "\n", "Heading"],
    ["Quote", "\n> ", "\n", "quotation"],
    ["List", "\n- ", "\n", "item"],
    ["Code", "`", "`", "code"]
  ];
  var bar = document.createElement("div");
  bar.className = "toolbar";
  bar.setAttribute("role", "toolbar");
  bar.setAttribute("aria-label", "Formatting");
  bar.setAttribute("aria-controls", "body");
  tools.forEach(function (t) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = t[0];
    b.addEventListener("click", function () {
      var start = body.selectionStart, end = body.selectionEnd;
      var chosen = body.value.slice(start, end) || t[3];
      body.setRangeText(t[1] + chosen + t[2], start, end, "end");
      var at = start + t[1].length;
      body.focus();
      body.setSelectionRange(at, at + chosen.length);
      body.dispatchEvent(new Event("input", { bubbles: true }));
    });
    bar.appendChild(b);
  });
  body.parentNode.insertBefore(bar, body);
})();
