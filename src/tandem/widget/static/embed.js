// Tandem chat embed: <script src="https://DESK/widget.js" data-widget-key="wk_..." async></script>
// Adds a floating chat button; the chat itself runs in an iframe served by the desk, so nothing
// of the host page (cookies, DOM) is shared with it. Styles are set through the DOM, which works
// under strict host Content-Security-Policies that forbid inline <style>.
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || !script.src || window.__tandemChat) return;
  var key = script.getAttribute("data-widget-key");
  if (!key) {
    if (window.console) console.warn("Tandem chat: the script tag needs a data-widget-key");
    return;
  }
  var source = new URL(script.src, document.baseURI);
  // The desk is wherever this script came from (a path prefix is kept, the file name dropped).
  var desk = source.origin + source.pathname.replace(/\/widget\.js$/, "");
  var color = script.getAttribute("data-color") || "#4f46e5";
  var onLeft = script.getAttribute("data-position") === "left";
  var side = onLeft ? "left" : "right";
  window.__tandemChat = { desk: desk };

  var SVG = "http://www.w3.org/2000/svg";
  var ICON_CHAT = "M21 11.5a8.4 8.4 0 0 1-12.1 7.6L3 21l1.9-5.6A8.4 8.4 0 1 1 21 11.5z";
  var ICON_CLOSE = "M6 6l12 12M18 6L6 18";

  function css(element, styles) {
    for (var name in styles) element.style.setProperty(name, styles[name]);
  }

  function icon(path) {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "26");
    svg.setAttribute("height", "26");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var shape = document.createElementNS(SVG, "path");
    shape.setAttribute("d", path);
    shape.setAttribute("fill", "none");
    shape.setAttribute("stroke", "currentColor");
    shape.setAttribute("stroke-width", "2.2");
    shape.setAttribute("stroke-linecap", "round");
    shape.setAttribute("stroke-linejoin", "round");
    svg.appendChild(shape);
    return svg;
  }

  var launcher = document.createElement("button");
  launcher.type = "button";
  launcher.className = "tandem-chat-launcher";
  launcher.setAttribute("aria-label", "Open support chat");
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "tandem-chat-frame");
  css(launcher, {
    position: "fixed",
    bottom: "20px",
    [side]: "20px",
    "z-index": "2147483000",
    width: "58px",
    height: "58px",
    padding: "0",
    border: "0",
    "border-radius": "50%",
    color: "#fff",
    background: color,
    "box-shadow": "0 8px 24px rgba(17,24,39,.25)",
    cursor: "pointer",
    display: "flex",
    "align-items": "center",
    "justify-content": "center",
    transition: "transform .15s ease",
  });
  launcher.appendChild(icon(ICON_CHAT));

  var panel = document.createElement("div");
  panel.id = "tandem-chat-frame";
  css(panel, {
    position: "fixed",
    bottom: "90px",
    [side]: "20px",
    "z-index": "2147483000",
    width: "380px",
    height: "600px",
    "max-width": "calc(100vw - 40px)",
    "max-height": "calc(100vh - 110px)",
    "border-radius": "16px",
    overflow: "hidden",
    background: "#fff",
    "box-shadow": "0 16px 48px rgba(17,24,39,.28)",
    display: "none",
  });

  var frame = null;
  var open = false;

  function setOpen(next) {
    open = next;
    if (open && !frame) {
      // The chat loads on first open only, so sites pay nothing for visitors who never chat.
      frame = document.createElement("iframe");
      frame.src = desk + "/widget?embed=1&key=" + encodeURIComponent(key);
      frame.title = "Support chat";
      css(frame, { width: "100%", height: "100%", border: "0", display: "block" });
      panel.appendChild(frame);
    }
    panel.style.setProperty("display", open ? "block" : "none");
    launcher.setAttribute("aria-expanded", open ? "true" : "false");
    launcher.setAttribute("aria-label", open ? "Close support chat" : "Open support chat");
    launcher.replaceChildren(icon(open ? ICON_CLOSE : ICON_CHAT));
    if (open) frame.focus();
  }

  launcher.addEventListener("click", function () {
    setOpen(!open);
  });
  window.addEventListener("message", function (event) {
    // Only the chat frame itself may close the panel.
    if (!frame || event.source !== frame.contentWindow || event.origin !== source.origin) return;
    if (event.data && event.data.type === "tandem:close") {
      setOpen(false);
      launcher.focus();
    }
  });

  function mount() {
    document.body.appendChild(panel);
    document.body.appendChild(launcher);
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
