// The escalation block's copy button: a progressive enhancement. Without
// script the block is a read-only textarea to select and copy by hand.
"use strict";
document.querySelectorAll("button[data-copy]").forEach(function (button) {
  var block = document.getElementById(button.dataset.copy);
  if (!block) {
    return;
  }
  button.hidden = false;
  button.addEventListener("click", function () {
    var done = function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy"; }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(block.value).then(done, function () {
        block.select();
      });
    } else {
      block.select();
      if (document.execCommand("copy")) {
        done();
      }
    }
  });
});
