// Steppe's reader pages: a "Copy" button beside the blog's fediverse address in the follow box. Without this
// script the address is plain text to select. SPDX-License-Identifier: AGPL-3.0-or-later
(function () {
  "use strict";
  if (!navigator.clipboard || !navigator.clipboard.writeText) return;
  var buttons = document.querySelectorAll("button.copy-handle[data-copy]");
  Array.prototype.forEach.call(buttons, function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () {
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = "Copy"; }, 2000);
      }, function () {
        button.textContent = "Select and copy the address";
      });
    });
  });
})();
