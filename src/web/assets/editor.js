// Steppe's post editor, progressively enhanced: images dropped or pasted into the text are uploaded at once and
// their Markdown inserted where the cursor is; each gets a description field in the Images list. Without this
// script the form's own file inputs and "Upload images" button do the same. SPDX-License-Identifier: AGPL-3.0-or-later
(function () {
  "use strict";
  var form = document.querySelector("form.editor-form");
  if (!form || !window.fetch || !window.FormData) return;
  var body = form.querySelector("#body");
  var rows = form.querySelector("#image-rows");
  var template = document.getElementById("image-row-template");
  var status = document.getElementById("upload-status");
  var csrf = form.querySelector("input[name=csrf]").value;
  document.documentElement.classList.add("js");

  function say(text) { if (status) status.textContent = text; }

  // Replaces `placeholder` in the text (or inserts at the cursor when it is gone) with `text`.
  function replace(placeholder, text) {
    var at = body.value.indexOf(placeholder);
    if (at < 0) { insert(text); return; }
    body.value = body.value.slice(0, at) + text + body.value.slice(at + placeholder.length);
  }

  function insert(text) {
    var start = body.selectionStart, end = body.selectionEnd;
    var before = body.value.slice(0, start), after = body.value.slice(end);
    var lead = before === "" || /\n\n$/.test(before) ? "" : (/\n$/.test(before) ? "\n" : "\n\n");
    var trail = /^\n/.test(after) ? "\n" : "\n\n";
    body.value = before + lead + text + trail + after;
    var caret = (before + lead + text).length;
    body.setSelectionRange(caret, caret);
  }

  function addRow(image) {
    if (!rows || !template || rows.querySelector('[data-id="' + image.id + '"]')) return null;
    var row = template.content.firstElementChild.cloneNode(true);
    row.dataset.id = image.id;
    var img = row.querySelector("img");
    img.src = image.thumb; img.width = image.width; img.height = image.height;
    row.querySelector(".image-row-name").textContent = image.name;
    var area = row.querySelector("textarea");
    area.name = "alt_" + image.id; area.id = "alt_" + image.id;
    area.value = image.alt || "";
    row.querySelector("label:not(.checkbox)").htmlFor = area.id;
    var boxes = row.querySelectorAll("input");
    boxes[0].name = "decorative_" + image.id;
    boxes[0].checked = image.alt === "";
    boxes[1].value = image.id;
    boxes[2].value = image.markdown;
    rows.appendChild(row);
    return area;
  }

  function upload(file) {
    var placeholder = "![Uploading " + file.name.replace(/[\[\]]/g, "") + "…]()";
    insert(placeholder);
    var data = new FormData();
    data.append("csrf", csrf);
    data.append("file", file, file.name);
    say("Uploading " + file.name + "…");
    return fetch(form.dataset.uploadUrl, {
      method: "POST", body: data, credentials: "same-origin", headers: { "Accept": "application/json" }
    }).then(function (r) { return r.json(); }).then(function (answer) {
      if (answer.images && answer.images.length) {
        var image = answer.images[0];
        replace(placeholder, image.markdown);
        var area = addRow(image);
        say(file.name + " is uploaded. Describe it in the Images list.");
        if (area && !image.alt) area.focus({ preventScroll: false });
      } else {
        replace(placeholder, "");
        say((answer.errors || ["The upload failed."]).join(" "));
      }
    }).catch(function () {
      replace(placeholder, "");
      say(file.name + " could not be uploaded: the connection failed. Your text is unchanged.");
    });
  }

  function images(list) {
    return Array.prototype.filter.call(list || [], function (f) { return f.kind === undefined || f.kind === "file"; })
      .map(function (f) { return f.getAsFile ? f.getAsFile() : f; })
      .filter(function (f) { return f; });
  }

  function uploadAll(files) {
    var chain = Promise.resolve();
    files.forEach(function (f) { chain = chain.then(function () { return upload(f); }); });
  }

  body.addEventListener("dragover", function (e) {
    if (e.dataTransfer && Array.prototype.indexOf.call(e.dataTransfer.types, "Files") >= 0) e.preventDefault();
  });
  body.addEventListener("drop", function (e) {
    var files = images(e.dataTransfer && e.dataTransfer.files);
    if (!files.length) return;
    e.preventDefault();
    body.focus();
    uploadAll(files);
  });
  // Pasted HTML as Markdown. The HTML is parsed into an inert document (nothing in it runs or loads).
  function htmlToMarkdown(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    function escape(text) {
      return text.replace(/\s+/g, " ").replace(/([\\`*_\[\]<>|~])/g, "\\$1");
    }
    function inner(node) {
      var out = "";
      node.childNodes.forEach(function (child) { out += convert(child); });
      return out;
    }
    function block(text) { text = text.trim(); return text ? "\n\n" + text + "\n\n" : ""; }
    function wrap(mark, text) {
      var t = text.trim();
      return t ? mark + t + mark + (/\s$/.test(text) ? " " : "") : text;
    }
    function list(node, ordered) {
      var n = 0, out = "";
      node.childNodes.forEach(function (child) {
        if (child.nodeName !== "LI") return;
        n += 1;
        out += (ordered ? n + ". " : "- ") + inner(child).trim().replace(/\n+/g, "\n   ") + "\n";
      });
      return "\n\n" + out + "\n";
    }
    function convert(node) {
      if (node.nodeType === 3) return escape(node.nodeValue);
      if (node.nodeType !== 1) return "";
      var name = node.nodeName;
      switch (name) {
        case "SCRIPT": case "STYLE": case "META": case "TITLE": case "HEAD": case "TEMPLATE": return "";
        case "B": case "STRONG": return wrap("**", inner(node));
        case "I": case "EM": return wrap("*", inner(node));
        case "BR": return "\n";
        case "P": case "DIV": case "SECTION": case "ARTICLE": return block(inner(node));
        case "H1": case "H2": case "H3": case "H4": case "H5": case "H6":
          return block(new Array(Number(name[1]) + 1).join("#") + " " + inner(node).trim());
        case "UL": return list(node, false);
        case "OL": return list(node, true);
        case "BLOCKQUOTE": return block(inner(node).trim().split("\n").map(function (l) { return "> " + l; }).join("\n"));
        case "PRE": return "\n\n```\n" + node.textContent.replace(/\n$/, "") + "\n```\n\n";
        case "CODE": return "`" + node.textContent.replace(/`/g, "") + "`";
        case "A":
          var href = node.getAttribute("href") || "";
          var label = inner(node).trim();
          return /^(https?:|mailto:)/i.test(href) && label ? "[" + label + "](" + href.replace(/[()\s]/g, encodeURIComponent) + ")" : inner(node);
        default: return inner(node);
      }
    }
    return convert(doc.body).replace(/[ \t]+\n/g, "\n").replace(/\n{3,}/g, "\n\n").trim();
  }

  body.addEventListener("paste", function (e) {
    var files = images(e.clipboardData && e.clipboardData.items);
    if (!files.length) {
      // Rich text (from a word processor or a web page) becomes Markdown: its formatting kept, every character
      // of its text kept (Markdown's own characters escaped).
      var rich = e.clipboardData ? e.clipboardData.getData("text/html") : "";
      if (rich && window.DOMParser) {
        var markdown = htmlToMarkdown(rich);
        if (markdown) {
          e.preventDefault();
          body.setRangeText(markdown, body.selectionStart, body.selectionEnd, "end");
          body.dispatchEvent(new Event("input", { bubbles: true }));
          return;
        }
      }
      // Text with backticks between letters ("don`t"): offer to escape them (the server does it, as without
      // this script), since Markdown would pair them into code spans.
      var text = e.clipboardData ? e.clipboardData.getData("text/plain") : "";
      var offer = document.getElementById("paste-backticks");
      if (offer && /[\p{L}\p{N}]`[\p{L}\p{N}]/u.test(text)) offer.hidden = false;
      return;
    }
    e.preventDefault();
    uploadAll(files);
  });
})();
