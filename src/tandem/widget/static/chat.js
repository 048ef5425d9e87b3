// Tandem customer chat: start or resume a conversation, follow it live, send messages.
// Every piece of message text goes through textContent: customer, AI and agent text is inert.
(function () {
  "use strict";

  const root = document.getElementById("tandem-chat");
  if (!root) return;

  const widgetKey = root.dataset.widgetKey;
  const api = root.dataset.apiBase + "/api/v1/widget/conversations";
  const storageKey = "tandem.widget." + widgetKey;
  const list = root.querySelector(".chat__messages");
  const scroller = root.querySelector(".chat__scroll");
  const intro = root.querySelector(".chat__intro");
  const typing = root.querySelector(".chat__typing");
  const statusLine = root.querySelector(".chat__status");
  const statusText = root.querySelector(".chat__status-text");
  const errorLine = root.querySelector(".chat__error");
  const form = root.querySelector(".chat__composer");
  const input = form.querySelector("textarea");
  const send = form.querySelector(".chat__send");
  const humanButton = root.querySelector(".chat__human");
  const closeButton = root.querySelector(".chat__close");

  const LABELS = { ai: "AI assistant", agent: "Support team", system: "", customer: "You" };
  // Absolute http(s) links, and the desk's own help-center article paths (/help/<key>/articles/<id>),
  // which are resolved against the desk the widget talks to.
  const URL_PATTERN = /https?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]|\/help\/[A-Za-z0-9_-]+\/articles\/[A-Za-z0-9_-]+/g;

  const chat = { id: null, token: null, status: "ai", lastSeq: 0, agentName: null };
  const seen = new Set();
  let source = null;
  let reconnectDelay = 1000;
  let reconnectTimer = null;
  let typingTimer = null;
  let busy = false; // a message is being sent
  let asking = false; // a request for a human is in flight

  // --- storage (may be unavailable, e.g. blocked third-party storage) --------------------------

  function loadSaved() {
    try {
      const saved = JSON.parse(window.localStorage.getItem(storageKey) || "null");
      if (saved && typeof saved.id === "string" && typeof saved.token === "string") return saved;
    } catch (_err) {
      /* no storage: the conversation lasts as long as the page */
    }
    return null;
  }

  function save() {
    try {
      window.localStorage.setItem(storageKey, JSON.stringify({ id: chat.id, token: chat.token }));
    } catch (_err) {
      /* ignore */
    }
  }

  function forget() {
    try {
      window.localStorage.removeItem(storageKey);
    } catch (_err) {
      /* ignore */
    }
    chat.id = null;
    chat.token = null;
    chat.lastSeq = 0;
  }

  // --- HTTP ------------------------------------------------------------------------------------

  async function call(method, path, body, headers) {
    const init = { method: method, headers: Object.assign({ Accept: "application/json" }, headers) };
    if (chat.token) init.headers.Authorization = "Bearer " + chat.token;
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(api + path, init);
    const data = await response.json().catch(function () {
      return null;
    });
    if (!response.ok) {
      const error = new Error(
        (data && data.error && data.error.message) || "Something went wrong; please try again."
      );
      error.status = response.status;
      throw error;
    }
    return data;
  }

  function showError(message) {
    errorLine.textContent = message;
    errorLine.hidden = !message;
  }

  // --- rendering -------------------------------------------------------------------------------

  function appendText(parent, text) {
    // Links become real anchors (http/https and help-center paths); everything else stays text.
    let last = 0;
    for (const match of text.matchAll(URL_PATTERN)) {
      parent.appendChild(document.createTextNode(text.slice(last, match.index)));
      const link = document.createElement("a");
      link.href = match[0].startsWith("/")
        ? new URL(match[0], root.dataset.apiBase || window.location.origin).href
        : match[0];
      link.textContent = match[0];
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      parent.appendChild(link);
      last = match.index + match[0].length;
    }
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function formatTime(iso) {
    const when = new Date(iso);
    if (Number.isNaN(when.getTime())) return "";
    return when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function renderMessage(message) {
    if (!message || seen.has(message.id)) return;
    seen.add(message.id);
    chat.lastSeq = Math.max(chat.lastSeq, message.seq || 0);
    const author = LABELS.hasOwnProperty(message.author) ? message.author : "system";

    const item = document.createElement("li");
    item.className = "msg msg--" + author;
    item.dataset.seq = String(message.seq || 0);
    item.dataset.author = author;

    if (author === "ai" || author === "agent") {
      const label = document.createElement("span");
      label.className = "msg__label";
      label.textContent = author === "agent" && chat.agentName ? chat.agentName : LABELS[author];
      item.appendChild(label);
    } else if (author === "customer") {
      const label = document.createElement("span");
      label.className = "visually-hidden";
      label.textContent = "You said:";
      item.appendChild(label);
    }

    const bubble = document.createElement("div");
    bubble.className = "msg__bubble";
    appendText(bubble, String(message.text || ""));
    item.appendChild(bubble);

    const meta = document.createElement("div");
    meta.className = "msg__meta";
    if (author === "ai") {
      const note = document.createElement("span");
      note.className = "msg__ai-note";
      note.textContent = "Answered by an AI assistant";
      meta.appendChild(note);
    }
    const time = document.createElement("time");
    time.dateTime = message.created_at || "";
    time.textContent = formatTime(message.created_at);
    meta.appendChild(time);
    item.appendChild(meta);

    // Keep the log ordered by sequence even if a POST reply and a live event race.
    let before = null;
    for (const other of list.children) {
      if (Number(other.dataset.seq) > (message.seq || 0)) {
        before = other;
        break;
      }
    }
    list.insertBefore(item, before);
    intro.hidden = true;
    if (author !== "customer") setTyping(false);
    scroller.scrollTop = scroller.scrollHeight;
  }

  const STATUS_TEXT = {
    ai: function () {
      return "AI assistant";
    },
    waiting_for_human: function () {
      return "Waiting for a human";
    },
    human: function () {
      return "You're chatting with " + (chat.agentName || "our team");
    },
    resolved: function () {
      return "Resolved";
    },
  };

  function setStatus(status, agentName) {
    if (!STATUS_TEXT.hasOwnProperty(status)) return;
    chat.status = status;
    if (agentName) chat.agentName = agentName;
    statusLine.dataset.status = status;
    statusText.textContent = STATUS_TEXT[status]();
    const withHumans = status === "waiting_for_human" || status === "human";
    humanButton.disabled = withHumans || asking;
    humanButton.textContent = withHumans ? "Human requested" : "Talk to a human";
    if (status !== "ai") setTyping(false);
  }

  function setTyping(on) {
    clearTimeout(typingTimer);
    typing.hidden = !on;
    if (on) {
      scroller.scrollTop = scroller.scrollHeight;
      typingTimer = setTimeout(function () {
        typing.hidden = true;
      }, 20000);
    }
  }

  // --- live events -----------------------------------------------------------------------------

  function connect() {
    if (!chat.id) return;
    if (source) source.close();
    clearTimeout(reconnectTimer);
    const url =
      api + "/" + encodeURIComponent(chat.id) + "/events?token=" + encodeURIComponent(chat.token) +
      "&after=" + chat.lastSeq;
    const stream = new EventSource(url);
    source = stream;
    stream.addEventListener("open", function () {
      reconnectDelay = 1000;
    });
    stream.addEventListener("message", function (event) {
      renderMessage(JSON.parse(event.data));
    });
    stream.addEventListener("status", function (event) {
      const data = JSON.parse(event.data);
      setStatus(data.status, data.agent_name);
    });
    stream.addEventListener("error", function () {
      // While CONNECTING the browser retries by itself and sends Last-Event-ID. Once CLOSED
      // (the server refused), check the conversation still exists, then resume after lastSeq.
      if (stream.readyState !== EventSource.CLOSED || source !== stream) return;
      reconnectTimer = setTimeout(resume, reconnectDelay);
      reconnectDelay = Math.min(reconnectDelay * 2, 30000);
    });
  }

  async function resume() {
    if (!chat.id) return;
    try {
      const data = await call("GET", "/" + encodeURIComponent(chat.id));
      data.messages.forEach(renderMessage);
      setStatus(data.status, data.agent_name);
      connect();
    } catch (err) {
      if (err.status === 404) {
        forget(); // the token no longer opens a conversation: start afresh on the next message
        return;
      }
      reconnectTimer = setTimeout(resume, reconnectDelay);
      reconnectDelay = Math.min(reconnectDelay * 2, 30000);
    }
  }

  let starting = null;

  function ensureConversation() {
    // One start, however many actions race for it (send and "Talk to a human").
    if (chat.id) return Promise.resolve();
    if (!starting) {
      starting = call("POST", "", undefined, { "X-Tandem-Widget-Key": widgetKey })
        .then(function (data) {
          chat.id = data.conversation_id;
          chat.token = data.customer_token;
          save();
          setStatus(data.status);
          connect();
        })
        .finally(function () {
          starting = null;
        });
    }
    return starting;
  }

  // --- actions ---------------------------------------------------------------------------------

  function refreshSend() {
    send.disabled = busy || input.value.trim() === "";
  }

  function growInput() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 140) + "px";
  }

  async function sendMessage() {
    const text = input.value;
    if (busy || !text.trim()) return;
    busy = true;
    refreshSend();
    showError("");
    try {
      await ensureConversation();
      const message = await call("POST", "/" + encodeURIComponent(chat.id) + "/messages", {
        text: text,
      });
      input.value = "";
      growInput();
      renderMessage(message);
      if (chat.status === "ai" || chat.status === "resolved") setTyping(true);
    } catch (err) {
      showError(err.message);
    } finally {
      busy = false;
      refreshSend();
      input.focus();
    }
  }

  async function askForHuman() {
    if (asking) return;
    asking = true;
    humanButton.disabled = true;
    showError("");
    try {
      await ensureConversation();
      const data = await call("POST", "/" + encodeURIComponent(chat.id) + "/handoff", {});
      setStatus(data.status);
    } catch (err) {
      showError(err.message);
    } finally {
      asking = false;
      setStatus(chat.status);
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    sendMessage();
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendMessage();
    }
  });
  input.addEventListener("input", function () {
    refreshSend();
    growInput();
  });
  humanButton.addEventListener("click", askForHuman);

  if (closeButton) {
    const close = function () {
      window.parent.postMessage({ type: "tandem:close" }, "*");
    };
    closeButton.addEventListener("click", close);
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape") close();
    });
  }

  const saved = loadSaved();
  if (saved) {
    chat.id = saved.id;
    chat.token = saved.token;
    resume();
  }
  refreshSend();
})();
