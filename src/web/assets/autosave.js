// Steppe's post editor never loses text. SPDX-License-Identifier: AGPL-3.0-or-later
// - Autosave: a few seconds after the last keystroke, and when the page is hidden or left, the text fields are sent
//   to the server, which keeps them as the post's autosave (never published, never sent to followers).
// - A copy in this browser (localStorage), written as you type: if the server could not be reached, or the session
//   ended, the editor offers it back the next time it opens.
// - A warning before leaving the page with changes that were not saved.
// Without this script nothing is lost either: a form sent after the session ended is kept until the next login.
(function () {
  "use strict";
  var form = document.getElementById("editor-form");
  if (!form || !window.fetch || !window.URLSearchParams) return;
  var FIELDS = ["title", "slug", "summary", "tags", "body"];
  var url = form.dataset.autosaveUrl;
  var key = "steppe-editor:" + form.dataset.localKey;
  var status = document.getElementById("editor-status");
  var csrf = form.querySelector("input[name=csrf]").value;
  var storage = null;
  try { storage = window.localStorage; } catch (e) { storage = null; }

  function say(text) { if (status) status.textContent = text; }
  function field(name) { return form.elements.namedItem(name); }
  function values() {
    var v = {};
    FIELDS.forEach(function (name) { var f = field(name); v[name] = f ? f.value : ""; });
    return v;
  }
  function same(a, b) { return FIELDS.every(function (n) { return (a[n] || "") === (b[n] || ""); }); }
  function fill(v) {
    FIELDS.forEach(function (name) { var f = field(name); if (f && typeof v[name] === "string") f.value = v[name]; });
    form.dispatchEvent(new Event("input", { bubbles: true }));
  }

  var loaded = values();      // what the page came with
  var sent = values();        // what the server has (saved or autosaved)
  var submitting = false;

  // The copy kept in this browser: offered back when it differs from what the page shows.
  function readCopy(k) {
    if (!storage) return null;
    try { return JSON.parse(storage.getItem(k) || "null"); } catch (e) { return null; }
  }
  function forget(k) { if (storage) { try { storage.removeItem(k); } catch (e) { /* full or blocked */ } } }
  function keepCopy() {
    if (!storage) return;
    var v = values();
    if (same(v, loaded)) { forget(key); return; }
    v.at = Date.now();
    try { storage.setItem(key, JSON.stringify(v)); } catch (e) { /* full or blocked: the server copy remains */ }
  }
  // The copy of a new post, once that post is saved and open under its own address, is no longer needed.
  ["steppe-editor:/admin/posts/new", key].forEach(function (k) {
    var c = readCopy(k);
    if (c && same(c, loaded)) forget(k);
  });
  var copy = readCopy(key);
  var box = document.getElementById("local-copy");
  if (copy && box && !same(copy, loaded)) {
    var when = new Date(copy.at || 0);
    document.getElementById("local-copy-time").textContent = isNaN(when) ? "" : when.toLocaleString();
    box.hidden = false;
    document.getElementById("local-copy-restore").addEventListener("click", function () {
      fill(copy); box.hidden = true; say("The copy from this browser is in the form. Save to keep it."); schedule();
    });
    document.getElementById("local-copy-discard").addEventListener("click", function () {
      forget(key); box.hidden = true;
    });
  }

  function body(v) {
    var p = new URLSearchParams();
    p.append("csrf", csrf);
    FIELDS.forEach(function (n) { p.append(n, v[n]); });
    return p;
  }

  var timer = null;
  var inFlight = false;
  function autosave() {
    timer = null;
    var v = values();
    if (same(v, sent) || submitting) return;
    if (inFlight) { schedule(); return; }
    inFlight = true;
    say("Saving a copy…");
    fetch(url, { method: "POST", body: body(v), credentials: "same-origin",
                 headers: { "Accept": "application/json" }, redirect: "manual" })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (j) { return { ok: r.ok, j: j }; });
      })
      .then(function (res) {
        if (res.ok) { sent = v; say(res.j.label || "Autosaved."); }
        else { say(res.j.error || "Not autosaved: the page has expired. The text is kept in this browser; save the form to keep it for good."); }
      })
      .catch(function () { say("Not autosaved: the blog cannot be reached. The text is kept in this browser."); })
      .then(function () { inFlight = false; });
  }
  function schedule() { if (timer) clearTimeout(timer); timer = setTimeout(autosave, 3000); }

  var copyTimer = null;
  form.addEventListener("input", function () {
    if (copyTimer) clearTimeout(copyTimer);
    copyTimer = setTimeout(keepCopy, 500);
    schedule();
  });
  form.addEventListener("submit", function () { submitting = true; keepCopy(); });

  // Leaving or hiding the page: send what is unsent in the background.
  function flush() {
    var v = values();
    if (submitting || same(v, sent) || !navigator.sendBeacon) return;
    keepCopy();
    if (navigator.sendBeacon(url, body(v))) sent = v;
  }
  document.addEventListener("visibilitychange", function () { if (document.visibilityState === "hidden") flush(); });
  window.addEventListener("pagehide", flush);

  window.addEventListener("beforeunload", function (e) {
    if (submitting || same(values(), loaded)) return;
    e.preventDefault();
    e.returnValue = "";
  });

  // Ctrl+S / Cmd+S saves: a draft stays a draft (Save draft), a published post is updated (Update).
  document.addEventListener("keydown", function (e) {
    if ((e.ctrlKey || e.metaKey) && !e.altKey && (e.key === "s" || e.key === "S")) {
      e.preventDefault();
      var button = form.querySelector('button[name=action][value=' + (form.dataset.published === "1" ? "publish" : "draft") + ']');
      if (button && form.requestSubmit) form.requestSubmit(button); else if (button) button.click();
    }
  });
})();
