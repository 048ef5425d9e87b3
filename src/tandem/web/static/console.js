// Tandem console: small behaviours around htmx. Customer text only ever goes through textContent.
(function () {
  "use strict";

  function toast(message, kind) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var item = document.createElement("div");
    item.className = "toast toast-" + (kind || "error");
    item.textContent = message;
    box.appendChild(item);
    setTimeout(function () { item.remove(); }, 6000);
  }

  function scrollThread() {
    var thread = document.getElementById("messages");
    if (thread) thread.scrollTop = thread.scrollHeight;
  }

  function updateSendState() {
    var flags = document.getElementById("flags");
    var send = document.getElementById("send-reply");
    if (!flags || !send) return;
    var blocked = flags.querySelector('[data-severity="block"]') !== null;
    send.disabled = blocked;
    send.title = blocked ? "Fix the problems marked in red before sending" : "";
  }

  document.addEventListener("htmx:afterRequest", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && xhr.getResponseHeader("X-Tandem-Error")) {
      toast(xhr.responseText || "That did not work.");
      return;
    }
    var form = event.detail.elt;
    if (form && form.matches && form.matches("form[data-composer]") && event.detail.successful &&
        xhr.status >= 200 && xhr.status < 300) {
      form.reset();
      var flags = document.getElementById("flags");
      if (flags) flags.replaceChildren();
      updateSendState();
    }
  });

  // A confirmation the server sends as an HX-Trigger event: {"tandem:toast": {message, kind}}.
  document.addEventListener("tandem:toast", function (event) {
    var detail = event.detail || {};
    if (detail.message) toast(String(detail.message), detail.kind || "info");
  });

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && !xhr.getResponseHeader("X-Tandem-Error")) {
      toast("Something went wrong on our side (" + xhr.status + "). Please try again.");
    }
  });

  document.addEventListener("htmx:sendError", function () {
    toast("Cannot reach the server. Check your connection.");
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "messages") scrollThread();
    if (target && target.id === "flags") updateSendState();
  });

  document.addEventListener("click", function (event) {
    var use = event.target.closest("[data-use-suggestion]");
    if (use) {
      var card = use.closest("[data-suggestion]");
      var box = document.getElementById("reply-text");
      if (card && box) {
        box.value = card.querySelector(".suggestion-text").textContent;
        box.focus();
        box.dispatchEvent(new Event("input", { bubbles: true }));
      }
      return;
    }
    var row = event.target.closest("tr[data-href]");
    if (row && !event.target.closest("a, button, input, select")) {
      window.location.assign(row.getAttribute("data-href"));
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.target.id === "reply-text" && event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      var send = document.getElementById("send-reply");
      if (send && !send.disabled) send.click();
    }
  });

  document.addEventListener("DOMContentLoaded", scrollThread);
})();
