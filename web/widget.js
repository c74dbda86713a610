/*
 * Policy Assistant — browser chat widget (plain ES2019, no framework, no build step).
 *
 * Modes
 *   page      index.html has <div id="policy-assistant">: the chat fills the page. Presenter view
 *             when location.pathname starts with /presenter or the query has ?presenter.
 *   embedded  any other page with <script src="http://HOST:PORT/widget.js" async></script>
 *             (optional data-rasa-url="…", data-lang="en|zh"): a launcher button opens a panel.
 *   webchat   <script src="/widget.js" data-mode="rasa-webchat">: starts the community widget
 *             rasa-webchat (window.WebChat) on #webchat; used by webchat.html (the server's CSP
 *             forbids inline scripts, so that page's start-up code lives here).
 *
 * Everything the bot or the user says is put into the page as text (createElement +
 * textContent), never parsed as HTML.
 */
(function () {
  "use strict";

  // document.currentScript is only set while this file first runs: capture it now.
  const SCRIPT = document.currentScript;
  const SCRIPT_SRC = SCRIPT && SCRIPT.src ? SCRIPT.src : "";
  const ORIGIN = (function () {
    try {
      return SCRIPT_SRC ? new URL(SCRIPT_SRC, location.href).origin : location.origin;
    } catch (e) {
      return location.origin;
    }
  })();

  function scriptData(name) {
    const v = SCRIPT ? SCRIPT.getAttribute("data-" + name) : null;
    return v && v.trim() ? v.trim() : null;
  }

  const MAX_CHARS = 2000;
  const SOCKET_TIMEOUT_MS = 4000;
  const REPLY_TIMEOUT_MS = 30000;
  const DEBOUNCE_MS = 300;
  const MAX_TRANSCRIPT = 300;
  const KEY_LANG = "pa.lang";
  const KEY_SESSION = "pa.session";
  const SESSION_PATTERN = /^[0-9a-zA-Z_-]{8,64}(\.[0-9a-f]{32})?$/;
  const KEY_TRANSCRIPT = "pa.transcript";

  // ----------------------------------------------------------------------------------------
  // UI strings (both languages in one place)

  const STRINGS = {
    en: {
      title: "Policy Assistant",
      presenterDocTitle: "Policy Assistant — presenter",
      subtitle: "Answers from five Chinese policy documents on technology and crime, with quotes and sources.",
      langSwitch: "中文",
      langSwitchLabel: "中文 — switch the interface to Chinese",
      reset: "New conversation",
      resetLabel: "New conversation — clear this chat and start again",
      resetAll: "Reset all",
      resetAllLabel: "Reset all — clear all saved data and start a new session",
      launcher: "Policy Assistant",
      close: "Close",
      closePanelLabel: "Close the Policy Assistant panel",
      panelLabel: "Policy Assistant chat",
      logLabel: "Conversation",
      inputLabel: "Your question",
      placeholder: "Ask about the policy documents…",
      send: "Send",
      inputNote: "Enter sends, Shift+Enter starts a new line. Up to 2000 characters.",
      typing: "Assistant is typing…",
      noReply: "No reply — please try again.",
      sendFailed: "The message could not be delivered: the assistant server is not reachable. Please try again.",
      intro: "Ask a question about the five policy documents on technology and crime. Answers quote the documents and name their sources.",
      suggestionsTitle: "Try one of these questions:",
      suggestionsLabel: "Suggested questions",
      quickLabel: "Reply options",
      status: {
        connecting: "Connecting…",
        socket: "Connected (socket.io)",
        rest: "Connected (REST fallback)",
        offline: "Offline — assistant not reachable"
      },
      statusPrefix: "Connection status: ",
      notice: "The assistant server ({url}) is not reachable. Make sure it is running, then send your message again or reload the page.",
      configNotice: "The page settings (/api/config) could not be loaded; trying {url}.",
      source: "Source: ",
      translationLabel: "Unofficial translation of the Chinese original.",
      noTranslation: "No English translation is available for this document; the original is quoted.",
      showOriginal: "Show original (Chinese)",
      disclaimerLabel: "Note: ",
      helpful: "Helpful",
      notHelpful: "Not helpful",
      viewerLoading: "Loading…",
      viewerError: "This paragraph could not be loaded",
      viewerPrev: "← Previous paragraph",
      viewerNext: "Next paragraph →",
      viewerPrevLabel: "Previous paragraph",
      viewerNextLabel: "Next paragraph",
      viewerClose: "Close",
      viewerCloseLabel: "Close the paragraph viewer",
      viewerSection: "Section: ",
      viewerFootnotes: "Footnotes",
      viewerCite: "Cite as: ",
      viewerPage: "page ",
      presenterTitle: "Workshop questions",
      presenterHint: "Click a question to ask it.",
      presenterLabel: "Workshop demo questions",
      workshopError: "The workshop questions could not be loaded (/api/workshop).",
      webchatLoading: "Starting rasa-webchat…",
      webchatMissing: "The rasa-webchat bundle (/vendor/rasa-webchat.js) could not be loaded. Run: make setup",
      webchatStarted: "rasa-webchat started; it talks to Rasa at {url}"
    },
    zh: {
      title: "政策助手",
      presenterDocTitle: "政策助手 — 演示模式",
      subtitle: "依据五份关于科技与犯罪的中文政策文件作答，附原文引用和出处。",
      langSwitch: "English",
      langSwitchLabel: "English — 将界面切换为英文",
      reset: "新对话",
      resetLabel: "新对话 — 清除当前对话并重新开始",
      resetAll: "全部重置",
      resetAllLabel: "全部重置 — 清除所有保存的数据并开始新会话",
      launcher: "政策助手",
      close: "关闭",
      closePanelLabel: "关闭政策助手面板",
      panelLabel: "政策助手对话",
      logLabel: "对话记录",
      inputLabel: "您的问题",
      placeholder: "请输入关于政策文件的问题…",
      send: "发送",
      inputNote: "按 Enter 发送，Shift+Enter 换行。最多 2000 个字符。",
      typing: "正在输入…",
      noReply: "没有收到回复，请重试。",
      sendFailed: "消息未能发送：无法连接助手服务器。请重试。",
      intro: "您可以就五份关于科技与犯罪的政策文件提问。回答会引用文件原文并注明出处。",
      suggestionsTitle: "可以试试这些问题：",
      suggestionsLabel: "推荐问题",
      quickLabel: "回复选项",
      status: {
        connecting: "正在连接…",
        socket: "已连接（socket.io）",
        rest: "已连接（REST 备用通道）",
        offline: "离线 — 无法连接助手"
      },
      statusPrefix: "连接状态：",
      notice: "无法连接助手服务器（{url}）。请确认服务器正在运行，然后重新发送消息或刷新页面。",
      configNotice: "无法加载页面设置（/api/config），正在尝试 {url}。",
      source: "出处：",
      translationLabel: "中文原文的非官方英文译文。",
      noTranslation: "该文件暂无英文译文，以下为原文。",
      showOriginal: "显示原文（中文）",
      disclaimerLabel: "说明：",
      helpful: "有帮助",
      notHelpful: "没有帮助",
      viewerLoading: "正在加载…",
      viewerError: "无法加载该段落",
      viewerPrev: "← 上一段",
      viewerNext: "下一段 →",
      viewerPrevLabel: "上一段",
      viewerNextLabel: "下一段",
      viewerClose: "关闭",
      viewerCloseLabel: "关闭段落查看器",
      viewerSection: "章节：",
      viewerFootnotes: "脚注",
      viewerCite: "引用格式：",
      viewerPage: "第 {page} 页",
      presenterTitle: "研讨会示例问题",
      presenterHint: "点击问题即可提问。",
      presenterLabel: "研讨会演示问题",
      workshopError: "无法加载研讨会示例问题（/api/workshop）。",
      webchatLoading: "正在启动 rasa-webchat…",
      webchatMissing: "无法加载 rasa-webchat（/vendor/rasa-webchat.js）。请运行：make setup",
      webchatStarted: "rasa-webchat 已启动，连接 Rasa：{url}"
    }
  };

  // Shown when /api/suggestions cannot be loaded.
  const FALLBACK_SUGGESTIONS = {
    en: [
      "What do the documents say about 3D-printed guns?",
      "How are cryptocurrencies used for money laundering?",
      "What are darknet markets and what is sold on them?",
      "How do traffickers use social media to recruit victims?"
    ],
    zh: [
      "文件中关于3D打印枪支说了什么？",
      "加密货币如何被用于洗钱？",
      "什么是暗网市场？",
      "人贩子如何利用社交媒体招募受害人？"
    ]
  };

  // ----------------------------------------------------------------------------------------
  // small helpers

  const store = {
    get(key) {
      try {
        return window.localStorage.getItem(key);
      } catch (e) {
        return null;
      }
    },
    set(key, value) {
      try {
        window.localStorage.setItem(key, value);
      } catch (e) {
        /* storage full or disabled: the chat still works, it just is not remembered */
      }
    },
    remove(key) {
      try {
        window.localStorage.removeItem(key);
      } catch (e) {
        /* ignore */
      }
    },
    keys() {
      const out = [];
      try {
        for (let i = 0; i < window.localStorage.length; i++) out.push(window.localStorage.key(i));
      } catch (e) {
        /* ignore */
      }
      return out;
    }
  };

  function h(tag, attrs, children) {
    const el = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        const v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === "class") el.className = v;
        else if (k === "text") el.textContent = String(v);
        else if (v === true) el.setAttribute(k, "");
        else el.setAttribute(k, String(v));
      });
    }
    if (children !== undefined && children !== null) appendChildren(el, children);
    return el;
  }

  function appendChildren(el, children) {
    (Array.isArray(children) ? children : [children]).forEach(function (c) {
      if (c === null || c === undefined || c === false) return;
      el.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
    });
    return el;
  }

  function clear(el) {
    if (typeof el.replaceChildren === "function") el.replaceChildren();
    else while (el.firstChild) el.removeChild(el.firstChild);
  }

  function format(template, values) {
    return String(template).replace(/\{(\w+)\}/g, function (m, k) {
      return values && values[k] !== undefined ? String(values[k]) : m;
    });
  }

  // The project's language rule (bot/lang.py, reply_lang without a previous language), for
  // the lang attribute of what the page shows; tests/test_lang.py checks that both agree on
  // tests/lang_cases.json.
  function detectLang(text) {
    const s = String(text || "");
    const cjk = (s.match(/[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/g) || []).length;
    const words = (s.match(/[A-Za-z]{2,}/g) || []).length;
    if (!s.trim() || !cjk) return "en";
    if (!words || cjk >= 2 * words) return "zh";
    if (words >= 2 * cjk) return "en";
    return cjk * 2 >= (s.match(/[A-Za-z]/g) || []).length ? "zh" : "en";
  }

  function langTag(lang) {
    return lang === "zh" ? "zh-CN" : "en";
  }

  function asArray(v) {
    return Array.isArray(v) ? v : [];
  }

  function asText(v) {
    return v === null || v === undefined ? "" : String(v);
  }

  function newSessionId() {
    const bytes = new Uint8Array(16);
    if (window.crypto && typeof window.crypto.getRandomValues === "function") {
      window.crypto.getRandomValues(bytes);
    } else {
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
    }
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function defaultRasaUrl() {
    try {
      const u = new URL(ORIGIN);
      return u.protocol + "//" + u.hostname + ":5005";
    } catch (e) {
      return "http://localhost:5005";
    }
  }

  function fetchWithTimeout(url, options, ms) {
    const opts = Object.assign({}, options || {});
    let timer = null;
    if (typeof AbortController === "function") {
      const ctrl = new AbortController();
      opts.signal = ctrl.signal;
      timer = setTimeout(function () {
        ctrl.abort();
      }, ms);
    }
    return fetch(url, opts).finally(function () {
      if (timer) clearTimeout(timer);
    });
  }

  /** GET a JSON document from the widget's own server. Rejects with a readable message. */
  function getJson(path) {
    return fetchWithTimeout(ORIGIN + path, { headers: { Accept: "application/json" }, credentials: "omit" }, 15000)
      .then(function (res) {
        return res.text().then(function (body) {
          let data = null;
          try {
            data = body ? JSON.parse(body) : null;
          } catch (e) {
            data = null;
          }
          if (!res.ok) {
            const err = new Error((data && typeof data.error === "string" && data.error) || "HTTP " + res.status);
            err.status = res.status;
            throw err;
          }
          if (!data || typeof data !== "object") throw new Error("invalid JSON from " + path);
          return data;
        });
      });
  }

  function loadScript(src, ms) {
    return new Promise(function (resolve) {
      const s = document.createElement("script");
      let done = false;
      const finish = function (ok) {
        if (done) return;
        done = true;
        resolve(ok);
      };
      s.src = src;
      s.async = true;
      s.onload = function () {
        finish(true);
      };
      s.onerror = function () {
        finish(false);
      };
      setTimeout(function () {
        finish(false);
      }, ms);
      (document.head || document.documentElement).appendChild(s);
    });
  }

  function whenReady(fn) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn, { once: true });
    else fn();
  }

  // ----------------------------------------------------------------------------------------
  // rasa-webchat test page (webchat.html)

  if (scriptData("mode") === "rasa-webchat") {
    whenReady(bootWebchat);
    return;
  }

  function bootWebchat() {
    const target = document.getElementById("webchat");
    const status = document.getElementById("webchat-status");
    const lang = scriptData("lang") || (/^zh/i.test(navigator.language || "") ? "zh" : "en");
    const s = STRINGS[lang === "zh" ? "zh" : "en"];
    const say = function (text) {
      if (status) status.textContent = text;
    };
    say(s.webchatLoading);
    const fromAttr = scriptData("rasa-url");
    (fromAttr ? Promise.resolve({ rasa_url: fromAttr }) : getJson("/api/config"))
      .catch(function () {
        return null;
      })
      .then(function (cfg) {
        const url = asText((cfg && cfg.rasa_url) || defaultRasaUrl()).replace(/\/+$/, "");
        const path = (cfg && cfg.socket_path) || "/socket.io/";
        if (!window.WebChat || typeof window.WebChat.default !== "function") {
          say(s.webchatMissing);
          return;
        }
        // rasa-webchat 1.0.1 has no `selector` option: the mount element is the 2nd argument of
        // WebChat.default (selfMount). `embedded: true` keeps it open and sends initPayload at once.
        window.WebChat.default(
          {
            initPayload: "/greet",
            socketUrl: url,
            socketPath: path,
            title: "Policy Assistant",
            subtitle: "rasa-webchat",
            params: { storage: "session" },
            showFullScreenButton: false,
            embedded: true,
            hideWhenNotConnected: false,
            inputTextFieldHint: "Ask a question",
            customData: { language: lang }
          },
          target || null
        );
        say(format(s.webchatStarted, { url: url }));
      });
  }

  // ----------------------------------------------------------------------------------------
  // state

  if (window.__policyAssistant) return; // loaded twice on one page
  const S = {
    lang: "en",
    embedded: false,
    presenter: false,
    sessionId: "",
    transcript: [],
    rasaUrl: "",
    socketPath: "/socket.io/",
    socket: null,
    status: "connecting",
    restDecided: false,
    reconnecting: false,
    started: false,
    ready: null,
    resolveReady: null,
    generation: 0,
    pending: [],
    flushTimer: null,
    replyTimer: null,
    waiting: false,
    turn: { plains: [], customParts: [] },
    suggestionTopics: null,
    suggestionsFailed: false,
    workshopGroups: null,
    workshopFailed: false,
    noticeText: "",
    bindings: [],
    el: {},
    viewer: { opener: null, data: null, id: null, token: 0 }
  };
  S.ready = new Promise(function (resolve) {
    S.resolveReady = resolve;
  });
  window.__policyAssistant = {
    send: function (text) {
      return send(text);
    },
    reset: function () {
      resetConversation();
    },
    state: S
  };

  function t(key) {
    const table = STRINGS[S.lang] || STRINGS.en;
    return table[key] !== undefined ? table[key] : STRINGS.en[key];
  }

  /** Register an element whose text (or attribute) follows the UI language. */
  function bind(el, key, attr) {
    S.bindings.push({ el: el, key: key, attr: attr || null });
    applyBinding(S.bindings[S.bindings.length - 1]);
    return el;
  }

  function applyBinding(b) {
    const v = typeof b.key === "function" ? b.key() : t(b.key);
    if (b.attr) b.el.setAttribute(b.attr, v);
    else b.el.textContent = v;
  }

  // ----------------------------------------------------------------------------------------
  // building the UI

  function buildApp(container) {
    const el = S.el;
    const titleTag = S.embedded ? "h2" : "h1";

    // header: title, status, language switch, reset (and close in the embedded panel)
    el.title = bind(h(titleTag, { id: "pa-title", class: "pa-title" }), "title");
    el.subtitle = bind(h("p", { class: "pa-subtitle" }), "subtitle");
    el.statusText = h("span", { class: "pa-status-text" });
    el.statusPrefix = bind(h("span", { class: "pa-visually-hidden" }), "statusPrefix");
    el.status = h("p", { id: "connection-status", class: "pa-status", "data-state": "connecting" }, [
      h("span", { class: "pa-status-dot", "aria-hidden": "true" }),
      el.statusPrefix,
      el.statusText
    ]);
    el.langSwitch = h("button", { type: "button", id: "lang-switch", class: "pa-btn pa-btn-secondary" });
    bind(el.langSwitch, "langSwitch");
    bind(el.langSwitch, "langSwitchLabel", "aria-label");
    bind(el.langSwitch, function () {
      return S.lang === "zh" ? "en" : "zh-CN";
    }, "lang");
    el.langSwitch.addEventListener("click", function () {
      setLang(S.lang === "zh" ? "en" : "zh");
    });
    el.reset = h("button", { type: "button", id: "reset-button", class: "pa-btn pa-btn-secondary" });
    bind(el.reset, "reset");
    bind(el.reset, "resetLabel", "aria-label");
    el.reset.addEventListener("click", function () {
      resetConversation();
    });
    const controls = h("div", { class: "pa-header-controls" }, [el.langSwitch, el.reset]);
    if (S.embedded) {
      el.close = h("button", { type: "button", id: "pa-close", class: "pa-btn pa-btn-secondary pa-close" });
      bind(el.close, "close");
      bind(el.close, "closePanelLabel", "aria-label");
      el.close.addEventListener("click", function () {
        togglePanel(false);
      });
      controls.appendChild(el.close);
    }
    const header = h(S.embedded ? "div" : "header", { class: "pa-header" }, [
      h("div", { class: "pa-heading" }, [el.title, el.subtitle, el.status]),
      controls
    ]);

    // presenter side panel
    const body = h("div", { class: "pa-body" });
    if (S.presenter) body.appendChild(buildPresenterPanel());

    // chat column: notice, suggestions, log, typing, form
    el.notice = h("p", { id: "pa-notice", class: "pa-notice", role: "status", hidden: true });
    el.suggestionsTitle = bind(h("h2", { id: "suggestions-title", class: "pa-suggestions-title" }), "suggestionsTitle");
    el.intro = bind(h("p", { class: "pa-intro" }), "intro");
    el.suggestionList = h("div", { class: "pa-suggestion-list" });
    el.suggestions = h("div", { id: "suggestions", class: "pa-suggestions", role: "group", "aria-labelledby": "suggestions-title" }, [
      el.intro,
      el.suggestionsTitle,
      el.suggestionList
    ]);
    el.log = h("div", { id: "chat-log", class: "pa-log", role: "log", "aria-live": "polite", "aria-relevant": "additions" });
    bind(el.log, "logLabel", "aria-label");
    el.scroll = h("div", { id: "pa-scroll", class: "pa-scroll" }, [el.suggestions, el.log]);
    el.typingText = h("span", { class: "pa-typing-text" });
    el.typing = h("div", { id: "typing", class: "pa-typing", role: "status", hidden: true }, [
      h("span", { class: "pa-typing-dots", "aria-hidden": "true" }, [h("span"), h("span"), h("span")]),
      el.typingText
    ]);

    el.input = h("textarea", {
      id: "chat-input",
      name: "message",
      class: "pa-input",
      rows: "2",
      maxlength: String(MAX_CHARS),
      autocomplete: "off",
      "aria-describedby": "chat-note"
    });
    bind(el.input, "placeholder", "placeholder");
    el.inputLabel = bind(h("label", { for: "chat-input", class: "pa-visually-hidden" }), "inputLabel");
    el.send = bind(h("button", { id: "send-button", type: "submit", class: "pa-btn pa-btn-primary pa-send" }), "send");
    el.note = bind(h("p", { id: "chat-note", class: "pa-note" }), "inputNote");
    el.form = h("form", { id: "chat-form", class: "pa-form", autocomplete: "off" }, [
      el.inputLabel,
      h("div", { class: "pa-input-row" }, [el.input, el.send]),
      el.note
    ]);
    el.form.addEventListener("submit", function (e) {
      e.preventDefault();
      submitInput();
    });
    el.input.addEventListener("keydown", function (e) {
      // Enter sends; Shift+Enter is a new line; never while an IME is composing (Chinese input).
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        submitInput();
      }
    });

    const chat = h(S.embedded ? "div" : "main", { class: "pa-chat", id: "pa-chat" }, [
      el.notice,
      el.scroll,
      el.typing,
      el.form
    ]);
    body.appendChild(chat);

    // links inside messages: citations open the paragraph viewer
    el.log.addEventListener("click", function (e) {
      const target = e.target && e.target.closest ? e.target.closest("a.citation") : null;
      if (!target || !el.log.contains(target)) return;
      e.preventDefault();
      const pid = target.getAttribute("data-passage-id");
      if (pid) openViewer(pid, target);
    });

    const app = h("div", { class: "pa-app" + (S.presenter ? " pa-presenter-mode" : "") }, [header, body]);
    container.appendChild(app);
  }

  function buildPresenterPanel() {
    const el = S.el;
    el.resetAll = h("button", { type: "button", id: "reset-all", class: "pa-btn pa-btn-danger" });
    bind(el.resetAll, "resetAll");
    bind(el.resetAll, "resetAllLabel", "aria-label");
    el.resetAll.addEventListener("click", resetAll);
    el.groups = h("div", { class: "pa-demo-groups" });
    // the workshop room view (QR code and the room's questions): web/room.js fills it
    el.room = h("section", { id: "room-panel", class: "pa-room", "aria-label": "Room" });
    el.presenter = h("aside", { id: "presenter-panel", class: "pa-presenter", "aria-labelledby": "presenter-title" }, [
      h("div", { class: "pa-presenter-head" }, [
        bind(h("h2", { id: "presenter-title", class: "pa-presenter-title" }), "presenterTitle"),
        el.resetAll
      ]),
      el.room,
      bind(h("p", { class: "pa-presenter-hint" }), "presenterHint"),
      el.groups
    ]);
    return el.presenter;
  }

  function buildViewer() {
    const v = {};
    v.title = h("h2", { id: "viewer-title", class: "viewer-title" });
    v.close = h("button", { type: "button", id: "viewer-close", class: "pa-btn pa-btn-secondary" });
    bind(v.close, "viewerClose");
    bind(v.close, "viewerCloseLabel", "aria-label");
    v.meta = h("p", { id: "viewer-meta", class: "viewer-meta" });
    v.section = h("p", { id: "viewer-section", class: "viewer-section" });
    v.status = h("p", { id: "viewer-status", class: "viewer-status", role: "status" });
    v.previous = h("div", { class: "viewer-paragraph previous", hidden: true });
    v.current = h("div", { class: "viewer-paragraph current", tabindex: "-1" });
    v.footnotes = h("div", { class: "viewer-footnotes", hidden: true });
    v.next = h("div", { class: "viewer-paragraph next", hidden: true });
    v.citation = h("p", { class: "viewer-citation", hidden: true });
    v.prev = h("button", { type: "button", id: "viewer-prev", class: "pa-btn pa-btn-secondary", disabled: true });
    bind(v.prev, "viewerPrev");
    bind(v.prev, "viewerPrevLabel", "aria-label");
    v.nextBtn = h("button", { type: "button", id: "viewer-next", class: "pa-btn pa-btn-secondary", disabled: true });
    bind(v.nextBtn, "viewerNext");
    bind(v.nextBtn, "viewerNextLabel", "aria-label");
    v.dialog = h("dialog", { id: "viewer", class: "pa-viewer", "aria-labelledby": "viewer-title" }, [
      h("div", { class: "viewer-inner" }, [
        h("div", { class: "viewer-header" }, [v.title, v.close]),
        v.meta,
        v.section,
        v.status,
        h("div", { class: "viewer-body" }, [v.previous, v.current, v.footnotes, v.next]),
        v.citation,
        h("div", { class: "viewer-nav" }, [v.prev, v.nextBtn])
      ])
    ]);
    v.close.addEventListener("click", closeViewer);
    v.prev.addEventListener("click", function () {
      const d = S.viewer.data;
      if (d && d.previous && d.previous.id) loadParagraph(d.previous.id, v.prev);
    });
    v.nextBtn.addEventListener("click", function () {
      const d = S.viewer.data;
      if (d && d.next && d.next.id) loadParagraph(d.next.id, v.nextBtn);
    });
    v.dialog.addEventListener("close", onViewerClosed);
    v.dialog.addEventListener("keydown", function (e) {
      // browsers without showModal(): Escape closes too
      if (e.key === "Escape" && typeof v.dialog.showModal !== "function") {
        e.preventDefault();
        closeViewer();
      }
    });
    v.dialog.addEventListener("click", function (e) {
      if (e.target === v.dialog) closeViewer(); // click on the backdrop
    });
    S.el.viewer = v;
    return v.dialog;
  }

  // ----------------------------------------------------------------------------------------
  // language

  function initialLang() {
    const saved = store.get(KEY_LANG);
    if (saved === "en" || saved === "zh") return saved;
    const attr = scriptData("lang");
    if (attr) return /^zh/i.test(attr) ? "zh" : "en";
    return /^zh/i.test(navigator.language || "") ? "zh" : "en";
  }

  function setLang(lang) {
    S.lang = lang === "zh" ? "zh" : "en";
    store.set(KEY_LANG, S.lang);
    applyStrings();
    announce("pa:lang", { lang: S.lang });
  }

  /** Tell the presenter's room view (web/room.js) about a change: "pa:lang", "pa:reset-all". */
  function announce(name, detail) {
    try {
      document.dispatchEvent(new CustomEvent(name, { detail: detail || {} }));
    } catch (e) { /* old browser: the room view keeps its state */ }
  }

  function applyStrings() {
    S.bindings.forEach(applyBinding);
    const tag = langTag(S.lang);
    if (S.el.root) S.el.root.setAttribute("lang", tag);
    if (!S.embedded) {
      document.documentElement.setAttribute("lang", tag);
      document.title = S.presenter ? t("presenterDocTitle") : t("title");
    }
    if (S.el.launcher) S.el.launcher.textContent = t("launcher");
    setStatus(S.status);
    if (S.noticeText) showNotice(S.noticeKey, S.noticeValues);
    if (S.waiting) S.el.typingText.textContent = t("typing");
    renderSuggestions();
    renderWorkshop();
    if (S.el.viewer && isViewerOpen() && S.viewer.data) renderViewer(S.viewer.data);
  }

  // ----------------------------------------------------------------------------------------
  // status and notices

  function setStatus(state) {
    S.status = state;
    if (!S.el.status) return;
    S.el.status.setAttribute("data-state", state);
    S.el.statusText.textContent = (t("status") || {})[state] || state;
  }

  function showNotice(key, values) {
    S.noticeKey = key;
    S.noticeValues = values;
    S.noticeText = format(t(key), values);
    if (!S.el.notice) return;
    S.el.notice.textContent = S.noticeText;
    S.el.notice.hidden = false;
  }

  function hideNotice() {
    S.noticeText = "";
    S.noticeKey = null;
    if (S.el.notice) {
      S.el.notice.hidden = true;
      S.el.notice.textContent = "";
    }
  }

  // ----------------------------------------------------------------------------------------
  // suggestions and presenter groups

  function loadSuggestions() {
    getJson("/api/suggestions")
      .then(function (data) {
        S.suggestionTopics = asArray(data.topics);
        S.suggestionsFailed = false;
      })
      .catch(function () {
        S.suggestionTopics = null;
        S.suggestionsFailed = true;
      })
      .then(renderSuggestions);
  }

  function questionsIn(item, lang) {
    const other = lang === "zh" ? "en" : "zh";
    const mine = asArray(item[lang]).filter(function (q) {
      return typeof q === "string" && q.trim();
    });
    if (mine.length) return mine;
    return asArray(item[other]).filter(function (q) {
      return typeof q === "string" && q.trim();
    });
  }

  function pickSuggestions(topics, lang, limit) {
    const lists = topics.filter(function (tp) {
      return tp && typeof tp === "object";
    }).map(function (tp) {
      return questionsIn(tp, lang);
    });
    const out = [];
    for (let round = 0; out.length < limit; round++) {
      let added = false;
      for (let i = 0; i < lists.length && out.length < limit; i++) {
        if (lists[i][round]) {
          out.push(lists[i][round]);
          added = true;
        }
      }
      if (!added) break;
    }
    return out;
  }

  function renderSuggestions() {
    const el = S.el;
    if (!el.suggestionList) return;
    clear(el.suggestionList);
    let questions = S.suggestionTopics ? pickSuggestions(S.suggestionTopics, S.lang, 6) : [];
    if (!questions.length && (S.suggestionsFailed || S.suggestionTopics)) questions = FALLBACK_SUGGESTIONS[S.lang].slice();
    questions.forEach(function (q) {
      const b = h("button", { type: "button", class: "pa-suggestion suggestion", lang: langTag(detectLang(q)) }, q);
      b.addEventListener("click", function () {
        send(q);
        focusInput();
      });
      el.suggestionList.appendChild(b);
    });
    updateSuggestionsVisibility();
  }

  function updateSuggestionsVisibility() {
    if (S.el.suggestions) S.el.suggestions.hidden = S.transcript.length > 0;
  }

  function loadWorkshop() {
    getJson("/api/workshop")
      .then(function (data) {
        S.workshopGroups = asArray(data.groups);
        S.workshopFailed = false;
      })
      .catch(function () {
        S.workshopGroups = null;
        S.workshopFailed = true;
      })
      .then(renderWorkshop);
  }

  function bilingualGroup(g) {
    return g.both === true || /^(chinese|zh|bilingual)/i.test(asText(g.id));
  }

  function renderWorkshop() {
    const box = S.el.groups;
    if (!box) return;
    clear(box);
    if (S.workshopFailed) {
      box.appendChild(h("p", { class: "pa-error-text" }, t("workshopError")));
      return;
    }
    asArray(S.workshopGroups).forEach(function (g, i) {
      if (!g || typeof g !== "object") return;
      let questions;
      if (bilingualGroup(g)) {
        questions = asArray(g.en).concat(asArray(g.zh)).filter(function (q) {
          return typeof q === "string" && q.trim();
        });
      } else {
        questions = questionsIn(g, S.lang);
      }
      const label = S.lang === "zh" ? g.label_zh || g.label_en || g.id : g.label_en || g.label_zh || g.id;
      const headingId = "demo-group-" + i;
      const list = h("div", { class: "pa-demo-list" });
      questions.forEach(function (q) {
        const b = h("button", { type: "button", class: "demo-question", lang: langTag(detectLang(q)) }, q);
        b.addEventListener("click", function () {
          send(q);
        });
        list.appendChild(b);
      });
      box.appendChild(
        h("section", { class: "demo-group", "data-group-id": asText(g.id), "aria-labelledby": headingId }, [
          h("h3", { id: headingId, class: "demo-group-title", lang: langTag(detectLang(label)) }, asText(label)),
          list
        ])
      );
    });
  }

  // ----------------------------------------------------------------------------------------
  // rendering messages (the same code renders live messages and the restored transcript)

  /** Text with `**bold**` as <strong>; nothing else is interpreted. `contacts` get a span. */
  function appendInline(parent, text, contacts) {
    const parts = String(text).split("**");
    if (parts.length % 2 === 0) {
      // an unmatched ** stays literal
      const last = parts.pop();
      parts[parts.length - 1] += "**" + last;
    }
    parts.forEach(function (part, i) {
      if (!part) return;
      if (i % 2 === 1) {
        const strong = h("strong");
        appendWithContacts(strong, part, contacts);
        parent.appendChild(strong);
      } else {
        appendWithContacts(parent, part, contacts);
      }
    });
  }

  function appendWithContacts(parent, text, contacts) {
    const list = asArray(contacts).filter(function (c) {
      return typeof c === "string" && c.trim();
    });
    if (!list.length) {
      parent.appendChild(document.createTextNode(text));
      return;
    }
    let rest = text;
    while (rest) {
      let best = -1;
      let found = "";
      list.forEach(function (c) {
        const at = rest.indexOf(c);
        if (at !== -1 && (best === -1 || at < best)) {
          best = at;
          found = c;
        }
      });
      if (best === -1) {
        parent.appendChild(document.createTextNode(rest));
        break;
      }
      if (best > 0) parent.appendChild(document.createTextNode(rest.slice(0, best)));
      parent.appendChild(h("span", { class: "contact" }, found));
      rest = rest.slice(best + found.length);
    }
  }

  /** Multi-line text: one block per line; "> " lines shown as quote lines; **x** as strong. */
  function formattedText(text, contacts) {
    const box = h("div", { class: "msg-text" });
    String(text).split("\n").forEach(function (line) {
      let el;
      if (line === ">" || line.indexOf("> ") === 0) {
        el = h("span", { class: "line quote-line" });
        appendInline(el, line.slice(2), contacts);
      } else {
        el = h("span", { class: "line" });
        appendInline(el, line, contacts);
      }
      box.appendChild(el);
    });
    return box;
  }

  function toCodePointRanges(highlights, length) {
    const ranges = [];
    asArray(highlights).forEach(function (r) {
      let a;
      let b;
      if (Array.isArray(r)) {
        a = r[0];
        b = r[1];
      } else if (r && typeof r === "object") {
        a = r.start;
        b = r.end;
      }
      a = Math.max(0, Math.min(length, Number(a)));
      b = Math.max(0, Math.min(length, Number(b)));
      if (isFinite(a) && isFinite(b) && b > a) ranges.push([a, b]);
    });
    ranges.sort(function (x, y) {
      return x[0] - y[0];
    });
    const merged = [];
    ranges.forEach(function (r) {
      const last = merged[merged.length - 1];
      if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
      else merged.push([r[0], r[1]]);
    });
    return merged;
  }

  /** The excerpt as text nodes, highlighted ranges (code point offsets, as Python counts) in <mark>. */
  function appendHighlighted(parent, text, highlights) {
    const chars = Array.from(text);
    let pos = 0;
    toCodePointRanges(highlights, chars.length).forEach(function (r) {
      if (r[0] > pos) parent.appendChild(document.createTextNode(chars.slice(pos, r[0]).join("")));
      parent.appendChild(h("mark", null, chars.slice(r[0], r[1]).join("")));
      pos = r[1];
    });
    if (pos < chars.length) parent.appendChild(document.createTextNode(chars.slice(pos).join("")));
  }

  function payloadLang(p) {
    if (p && (p.lang === "zh" || p.lang === "en")) return p.lang;
    return detectLang(p && p.text);
  }

  function msgEl(role, kind, lang) {
    return h("div", { class: "msg " + role, "data-kind": kind, lang: langTag(lang) });
  }

  function renderUser(entry) {
    const text = asText(entry.text);
    const el = h("div", { class: "msg user", lang: langTag(detectLang(text)) });
    el.appendChild(h("p", { class: "msg-text" }, text));
    return el;
  }

  function renderPlain(entry) {
    const text = asText(entry.text);
    const el = msgEl("bot", "text", detectLang(text));
    el.appendChild(formattedText(text));
    const quick = asArray(entry.quick);
    if (quick.length) el.appendChild(renderQuickReplies(quick, entry, el));
    return el;
  }

  function renderPayload(P, entry) {
    const kind = ["answer", "no_answer", "refusal", "support", "info"].indexOf(P.kind) !== -1 ? P.kind : "info";
    const lang = payloadLang(P);
    const el = msgEl("bot", kind, lang);
    const passages = asArray(P.passages).filter(function (p) {
      return p && typeof p === "object";
    });
    if (kind === "answer" && passages.length) renderAnswerBody(el, P, passages, lang);
    else {
      const contacts = kind === "support" ? asArray(P.resources).map(function (r) {
        return r && r.contact;
      }) : [];
      let text = asText(P.text);
      const disc = asText(P.disclaimer).trim();
      // the plain text of an answer ends with its disclaimer: show it once, styled as one
      if (disc && text.trim().slice(-disc.length) === disc) text = text.trim().slice(0, -disc.length).replace(/\s+$/, "");
      el.appendChild(formattedText(text, contacts));
      if (disc) el.appendChild(renderDisclaimer(disc, lang));
    }
    let buttons = asArray(P.buttons).length ? asArray(P.buttons) : asArray(entry.quick);
    // the page shows each translated passage's original in place (collapsible), so it needs
    // no "show original" round trip; other channels keep the button
    if (kind === "answer" && passages.some(shownTranslation)) {
      buttons = buttons.filter(function (b) {
        return !(b && typeof b === "object" && asText(b.payload).indexOf("/show_original") === 0);
      });
    }
    if (buttons.length) el.appendChild(renderQuickReplies(buttons, entry, el));
    return el;
  }

  function shownTranslation(p) {
    return p.shown === "translation" && typeof p.text_en === "string" && p.text_en !== "";
  }

  function renderAnswerBody(el, P, passages, lang) {
    const text = asText(P.text);
    const firstBlock = text.split(/\n[ \t]*\n/)[0] || "";
    const lines = firstBlock.split("\n");
    const lead = h("p", { class: "lead" });
    appendInline(lead, lines[0] || "");
    el.appendChild(lead);
    if (lines.length > 1 && lines.slice(1).join("").trim()) {
      const notice = h("p", { class: "answer-notice" });
      appendInline(notice, lines.slice(1).join("\n"));
      el.appendChild(notice);
    }
    const citations = asArray(P.citations);
    passages.forEach(function (p) {
      const translated = shownTranslation(p);
      const excerpt = asText(p.excerpt !== undefined && p.excerpt !== null ? p.excerpt : translated ? p.text_en : p.text);
      const full = translated ? p.text_en : typeof p.text === "string" ? p.text : null;
      const quote = h("blockquote", { class: "quote", lang: langTag(detectLang(excerpt)) });
      let before = false;
      let after = false;
      if (p.truncated) {
        if (full !== null) {
          before = full.indexOf(excerpt) !== 0;
          after = !(full.length >= excerpt.length && full.slice(full.length - excerpt.length) === excerpt);
        } else {
          after = true;
        }
      }
      if (before) quote.appendChild(document.createTextNode("…"));
      appendHighlighted(quote, excerpt, p.excerpt_highlights);
      if (after) quote.appendChild(document.createTextNode("…"));

      let cite = asText(p.citation);
      if (!cite) {
        const c = citations.filter(function (x) {
          return x && x.id === p.id;
        })[0];
        cite = c ? asText(c.citation) : "";
      }
      const label = (lang === "zh" ? STRINGS.zh : STRINGS.en).source + (cite || asText(p.id));
      const source = h("p", { class: "source" });
      if (p.id) source.appendChild(h("a", { class: "citation", href: "#", "data-passage-id": asText(p.id) }, label));
      else source.appendChild(document.createTextNode(label));
      const table = lang === "zh" ? STRINGS.zh : STRINGS.en;
      let note = null;
      let original = null;
      if (translated) {
        note = h("p", { class: "translation-note" }, table.translationLabel);
        // the original, collapsed: a native <details> is keyboard- and screen-reader-friendly
        original = h("details", { class: "original" }, [
          h("summary", null, table.showOriginal),
          h("blockquote", { class: "quote original-text", lang: "zh" }, asText(p.text))
        ]);
      } else if (p.translation === "unavailable") {
        note = h("p", { class: "translation-note" }, table.noTranslation);
      }
      el.appendChild(h("div", { class: "passage" }, [quote, note, original, source]));
    });
    if (P.disclaimer) el.appendChild(renderDisclaimer(P.disclaimer, lang));
  }

  function renderDisclaimer(text, lang) {
    const table = lang === "zh" ? STRINGS.zh : STRINGS.en;
    return h("p", { class: "disclaimer" }, [h("strong", { class: "disclaimer-label" }, table.disclaimerLabel), asText(text)]);
  }

  function feedbackRating(payload, title) {
    if (/"?rating"?\s*:\s*"?down/i.test(payload) || /down/i.test(payload) || title.indexOf("👎") !== -1) return "down";
    return "up";
  }

  function renderQuickReplies(buttons, entry, msg) {
    const box = h("div", { class: "quick-replies", role: "group" });
    box.setAttribute("aria-label", t("quickLabel"));
    buttons.forEach(function (b) {
      if (!b || typeof b !== "object") return;
      const payload = asText(b.payload !== undefined && b.payload !== null ? b.payload : b.title);
      const title = asText(b.title !== undefined && b.title !== null ? b.title : payload);
      if (!payload.trim()) return;
      const isFeedback = payload.indexOf("/feedback") === 0;
      const btn = h("button", { type: "button", class: "quick-reply", lang: langTag(detectLang(title)) }, title);
      if (isFeedback) {
        const rating = feedbackRating(payload, title);
        btn.classList.add("feedback", rating === "down" ? "feedback-down" : "feedback-up");
        btn.setAttribute("aria-label", t(rating === "down" ? "notHelpful" : "helpful"));
        btn.setAttribute("aria-pressed", entry && entry.feedback === rating ? "true" : "false");
        btn.setAttribute("data-rating", rating);
      }
      btn.addEventListener("click", function () {
        if (isFeedback) {
          if (btn.getAttribute("aria-pressed") === "true") return; // already given
          Array.prototype.forEach.call(box.querySelectorAll("button.feedback"), function (other) {
            other.setAttribute("aria-pressed", other === btn ? "true" : "false");
          });
          if (entry) {
            entry.feedback = btn.getAttribute("data-rating");
            saveTranscript();
          }
        }
        send(payload, title);
      });
      box.appendChild(btn);
    });
    return box;
  }

  function renderEntry(entry) {
    try {
      if (entry.role === "user") return renderUser(entry);
      if (entry.payload && typeof entry.payload === "object") return renderPayload(entry.payload, entry);
      return renderPlain(entry);
    } catch (e) {
      if (window.console) console.warn("Policy Assistant: cannot render a message", e);
      return null;
    }
  }

  function renderError(text) {
    const el = msgEl("bot", "error", S.lang);
    el.classList.add("error");
    el.appendChild(h("p", { class: "msg-text" }, text));
    return el;
  }

  // ----------------------------------------------------------------------------------------
  // transcript

  function loadTranscript() {
    const raw = store.get(KEY_TRANSCRIPT);
    if (!raw) return [];
    try {
      return asArray(JSON.parse(raw)).filter(function (e) {
        return e && typeof e === "object" && (e.role === "user" || e.role === "bot");
      });
    } catch (e) {
      return [];
    }
  }

  function saveTranscript() {
    if (S.transcript.length > MAX_TRANSCRIPT) S.transcript = S.transcript.slice(-MAX_TRANSCRIPT);
    store.set(KEY_TRANSCRIPT, JSON.stringify(S.transcript));
  }

  function scrollToMessage(el, role) {
    const sc = S.el.scroll;
    if (!sc || !el) return;
    // show a long answer from its start; otherwise keep the newest message in view
    const top = el.offsetTop - sc.offsetTop - 8;
    if (role === "bot" && el.offsetHeight > sc.clientHeight * 0.8) sc.scrollTop = Math.max(0, top);
    else sc.scrollTop = sc.scrollHeight;
  }

  function addEntry(entry) {
    S.transcript.push(entry);
    saveTranscript();
    const el = renderEntry(entry);
    if (el) {
      S.el.log.appendChild(el);
      scrollToMessage(el, entry.role);
    }
    updateSuggestionsVisibility();
    return el;
  }

  function restoreTranscript() {
    S.transcript = loadTranscript();
    const log = S.el.log;
    log.setAttribute("aria-busy", "true");
    S.transcript.forEach(function (entry) {
      const el = renderEntry(entry);
      if (el) log.appendChild(el);
    });
    log.removeAttribute("aria-busy");
    updateSuggestionsVisibility();
    setTimeout(function () {
      if (S.el.scroll) S.el.scroll.scrollTop = S.el.scroll.scrollHeight;
    }, 0);
  }

  function addError(text) {
    const el = renderError(text);
    S.el.log.appendChild(el);
    scrollToMessage(el, "bot");
  }

  // ----------------------------------------------------------------------------------------
  // bot messages: buffering, de-duplication (plain text + custom payload with the same text)

  function norm(text) {
    return asText(text).trim();
  }

  /** Rasa splits plain texts on blank lines, so a custom payload stands for all its parts. */
  function partsOf(text) {
    const full = norm(text);
    const parts = full.split("\n\n").map(norm).filter(Boolean);
    parts.push(full);
    return parts;
  }

  // one reply item from socket.io (bot_uttered data) or REST (array element): plain text with
  // quick replies / buttons, or a custom payload
  function normalizeMessage(data) {
    if (!data || typeof data !== "object") return typeof data === "string" ? { text: data, quick: [] } : null;
    if (data.custom !== undefined) return normalizeCustom(data.custom);
    if (typeof data.text === "string") {
      return {
        text: data.text,
        quick: asArray(data.quick_replies || data.buttons).map(function (q) {
          return { title: asText(q && q.title), payload: asText(q && q.payload) };
        })
      };
    }
    return null;
  }

  function normalizeCustom(custom) {
    let c = custom;
    if (typeof c === "string") {
      try {
        c = JSON.parse(c);
      } catch (e) {
        return { text: custom, quick: [] };
      }
    }
    if (!c || typeof c !== "object") return null;
    if (typeof c.text !== "string" && !c.kind) return null; // a custom message we do not render
    return { payload: c };
  }

  function receive(message) {
    if (!message) return;
    S.pending.push(message);
    clearTimeout(S.replyTimer);
    clearTimeout(S.flushTimer);
    // a rich payload is shown at once (plain duplicates arriving later are dropped by addPlain);
    // plain text waits briefly in case its payload follows
    S.flushTimer = setTimeout(flush, message.payload ? 0 : DEBOUNCE_MS);
  }

  function flush() {
    clearTimeout(S.flushTimer);
    S.flushTimer = null;
    let batch = S.pending;
    S.pending = [];
    showTyping(false);
    if (!batch.length) return;
    // customs drop their plain duplicates from the same batch (before or after them)
    batch.forEach(function (m) {
      if (!m.payload) return;
      const parts = partsOf(m.payload.text);
      batch = batch.filter(function (o) {
        if (o.payload || parts.indexOf(norm(o.text)) === -1) return true;
        if (o.quick && o.quick.length && !asArray(m.payload.buttons).length) m.quick = o.quick;
        return false;
      });
    });
    batch.forEach(function (m) {
      if (m.payload) addCustom(m);
      else addPlain(m);
    });
  }

  function addPlain(m) {
    const turn = S.turn;
    if (turn.customParts.indexOf(norm(m.text)) !== -1) return; // already shown by its payload
    if (!norm(m.text) && !asArray(m.quick).length) return;
    const entry = { role: "bot", text: m.text };
    if (asArray(m.quick).length) entry.quick = m.quick;
    const el = addEntry(entry);
    turn.plains.push({ entry: entry, el: el, text: norm(m.text) });
  }

  function addCustom(m) {
    const turn = S.turn;
    const P = m.payload;
    const parts = partsOf(P.text);
    turn.customParts = turn.customParts.concat(parts);
    const entry = { role: "bot", payload: P };
    if (m.quick && m.quick.length) entry.quick = m.quick;
    // the plain bubbles of this turn that showed the same text are replaced by the payload
    const matched = turn.plains.filter(function (p) {
      return parts.indexOf(p.text) !== -1;
    });
    if (!matched.length) {
      addEntry(entry);
      return;
    }
    turn.plains = turn.plains.filter(function (p) {
      return matched.indexOf(p) === -1;
    });
    matched.forEach(function (p) {
      if (!entry.quick && asArray(p.entry.quick).length && !asArray(P.buttons).length) entry.quick = p.entry.quick;
    });
    const firstIndex = S.transcript.indexOf(matched[0].entry);
    S.transcript = S.transcript.filter(function (e) {
      return !matched.some(function (p) {
        return p.entry === e;
      });
    });
    if (firstIndex === -1) S.transcript.push(entry);
    else S.transcript.splice(Math.min(firstIndex, S.transcript.length), 0, entry);
    saveTranscript();
    const el = renderEntry(entry);
    const anchor = matched[0].el;
    if (el && anchor && anchor.parentNode === S.el.log) S.el.log.insertBefore(el, anchor);
    else if (el) S.el.log.appendChild(el);
    matched.forEach(function (p) {
      if (p.el && p.el.parentNode) p.el.parentNode.removeChild(p.el);
    });
    scrollToMessage(el, "bot");
  }

  function showTyping(on) {
    S.waiting = on;
    const el = S.el.typing;
    if (!el) return;
    if (on) {
      el.hidden = false;
      S.el.typingText.textContent = t("typing");
    } else {
      el.hidden = true;
      S.el.typingText.textContent = "";
    }
  }

  function startTurn() {
    S.turn = { plains: [], customParts: [] };
    showTyping(true);
    clearTimeout(S.replyTimer);
    const gen = S.generation;
    S.replyTimer = setTimeout(function () {
      if (gen !== S.generation) return;
      S.replyTimer = null;
      if (S.pending.length) {
        flush();
        return;
      }
      showTyping(false);
      addError(t("noReply"));
    }, REPLY_TIMEOUT_MS);
  }

  function replyFailed(text) {
    clearTimeout(S.replyTimer);
    S.replyTimer = null;
    if (S.pending.length) flush();
    showTyping(false);
    addError(text);
  }

  // ----------------------------------------------------------------------------------------
  // sending

  function focusInput() {
    if (S.el.input) {
      try {
        S.el.input.focus({ preventScroll: true });
      } catch (e) {
        S.el.input.focus();
      }
    }
  }

  function submitInput() {
    const text = S.el.input.value.trim();
    if (!text) {
      S.el.input.value = "";
      focusInput();
      return;
    }
    if (send(text)) S.el.input.value = "";
  }

  /** Send `message` to Rasa and show `display` (default: the message) as the user's bubble. */
  function send(message, display) {
    let text = asText(message);
    if (!text.trim()) return false;
    if (text.length > MAX_CHARS) text = text.slice(0, MAX_CHARS);
    const shown = display !== undefined && display !== null && asText(display).trim() ? asText(display) : text;
    addEntry({ role: "user", text: shown });
    startTurn();
    start();
    const gen = S.generation;
    S.ready.then(function () {
      if (gen === S.generation) transmit(text, gen);
    });
    return true;
  }

  function transmit(text, gen) {
    if (S.socket && S.socket.connected) {
      S.socket.emit("user_uttered", { message: text, session_id: S.sessionId });
    } else {
      restSend(text, gen);
    }
  }

  function restSend(text, gen) {
    const url = S.rasaUrl + "/webhooks/rest/webhook";
    fetchWithTimeout(
      url,
      {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ sender: S.sessionId, message: text }),
        credentials: "omit"
      },
      REPLY_TIMEOUT_MS
    )
      .then(function (res) {
        if (!res.ok) throw new Error("HTTP " + res.status);
        return res.json();
      })
      .then(function (items) {
        if (gen !== S.generation) return;
        if (!(S.socket && S.socket.connected)) setStatus("rest");
        hideNotice();
        const messages = asArray(items).map(normalizeMessage).filter(Boolean);
        if (!messages.length) {
          replyFailed(t("noReply"));
          return;
        }
        messages.forEach(receive);
        flush();
      })
      .catch(function (err) {
        if (gen !== S.generation) return;
        if (err && err.name === "AbortError") {
          replyFailed(t("noReply"));
          return;
        }
        if (!(S.socket && S.socket.connected)) {
          setStatus("offline");
          showNotice("notice", { url: S.rasaUrl });
        }
        replyFailed(t("sendFailed"));
      });
  }

  // ----------------------------------------------------------------------------------------
  // connection: socket.io first, REST fallback

  function start() {
    if (S.started) return;
    S.started = true;
    loadSuggestions();
    if (S.presenter) loadWorkshop();
    resolveConfig().then(connect).catch(function (e) {
      if (window.console) console.warn("Policy Assistant: connection set-up failed", e);
      fallbackToRest();
    });
  }

  function resolveConfig() {
    const fromAttr = scriptData("rasa-url");
    if (fromAttr) {
      S.rasaUrl = fromAttr.replace(/\/+$/, "");
      return Promise.resolve();
    }
    return getJson("/api/config")
      .then(function (cfg) {
        S.rasaUrl = asText(cfg.rasa_url || defaultRasaUrl()).replace(/\/+$/, "");
        if (typeof cfg.socket_path === "string" && cfg.socket_path) S.socketPath = cfg.socket_path;
      })
      .catch(function () {
        S.rasaUrl = defaultRasaUrl();
        showNotice("configNotice", { url: S.rasaUrl });
      });
  }

  function ensureIo() {
    if (typeof window.io === "function") return Promise.resolve(true);
    return loadScript(ORIGIN + "/vendor/socket.io.min.js", SOCKET_TIMEOUT_MS).then(function () {
      return typeof window.io === "function";
    });
  }

  function connect() {
    setStatus("connecting");
    return ensureIo().then(function (ok) {
      if (!ok) {
        fallbackToRest();
        return;
      }
      let socket;
      try {
        socket = window.io(S.rasaUrl, {
          path: S.socketPath,
          transports: ["websocket", "polling"],
          reconnectionDelayMax: 10000
        });
      } catch (e) {
        fallbackToRest();
        return;
      }
      S.socket = socket;
      const timer = setTimeout(function () {
        if (!socket.connected) fallbackToRest();
      }, SOCKET_TIMEOUT_MS);
      socket.on("connect", function () {
        clearTimeout(timer);
        S.reconnecting = false;
        setStatus("socket");
        hideNotice();
        socket.emit("session_request", { session_id: S.sessionId });
        S.resolveReady();
      });
      socket.on("session_confirm", function (data) {
        /* the server issues the conversation (a signed token); keep it to rejoin after a reload */
        var issued = typeof data === "string" ? data : (data && data.session_id) || "";
        if (issued && issued !== S.sessionId && SESSION_PATTERN.test(issued)) {
          S.sessionId = issued;
          store.set(KEY_SESSION, issued);
        }
      });
      socket.on("bot_uttered", function (data) {
        receive(normalizeMessage(data));
      });
      socket.on("disconnect", function () {
        if (S.reconnecting) return;
        probeRest();
      });
      socket.on("connect_error", function () {
        /* socket.io retries on its own; sends go over REST meanwhile */
      });
    });
  }

  function fallbackToRest() {
    if (S.restDecided) return;
    S.restDecided = true;
    probeRest().then(function () {
      S.resolveReady();
    });
  }

  function probeRest() {
    if (S.socket && S.socket.connected) return Promise.resolve();
    return fetchWithTimeout(S.rasaUrl + "/webhooks/rest/", { credentials: "omit" }, SOCKET_TIMEOUT_MS)
      .then(function (res) {
        if (S.socket && S.socket.connected) return;
        if (!res.ok) throw new Error("HTTP " + res.status);
        setStatus("rest");
        if (S.noticeKey === "notice") hideNotice();
      })
      .catch(function () {
        if (S.socket && S.socket.connected) return;
        setStatus("offline");
        showNotice("notice", { url: S.rasaUrl });
      });
  }

  // ----------------------------------------------------------------------------------------
  // reset

  function resetConversation() {
    S.generation++;
    S.sessionId = newSessionId();
    store.set(KEY_SESSION, S.sessionId);
    S.transcript = [];
    store.remove(KEY_TRANSCRIPT);
    S.pending = [];
    clearTimeout(S.flushTimer);
    clearTimeout(S.replyTimer);
    S.turn = { plains: [], customParts: [] };
    showTyping(false);
    clear(S.el.log);
    if (S.socket) {
      // a new socket.io session: reconnect so that only the new session's room is joined
      S.reconnecting = true;
      try {
        S.socket.disconnect();
        S.socket.connect();
      } catch (e) {
        S.reconnecting = false;
      }
    }
    if (S.el.viewer && isViewerOpen()) closeViewer();
    updateSuggestionsVisibility();
    if (S.el.input) S.el.input.value = "";
    if (S.el.scroll) S.el.scroll.scrollTop = 0;
    focusInput();
  }

  function resetAll() {
    store.keys().forEach(function (k) {
      if (k && k.indexOf("pa.") === 0) store.remove(k);
    });
    resetConversation();
    announce("pa:reset-all", { time: Date.now() / 1000 });
  }

  // ----------------------------------------------------------------------------------------
  // paragraph viewer

  function isViewerOpen() {
    return !!(S.el.viewer && S.el.viewer.dialog.hasAttribute("open"));
  }

  function openViewer(pid, opener) {
    const v = S.el.viewer;
    S.viewer.opener = opener || document.activeElement;
    if (!isViewerOpen()) {
      if (typeof v.dialog.showModal === "function") {
        try {
          v.dialog.showModal();
        } catch (e) {
          v.dialog.setAttribute("open", "");
        }
      } else {
        v.dialog.setAttribute("open", "");
      }
      v.close.focus();
    }
    loadParagraph(pid, null);
  }

  function closeViewer() {
    const v = S.el.viewer;
    if (!v) return;
    if (typeof v.dialog.close === "function" && v.dialog.open) v.dialog.close();
    else {
      v.dialog.removeAttribute("open");
      onViewerClosed();
    }
  }

  function onViewerClosed() {
    S.viewer.token++;
    const opener = S.viewer.opener;
    S.viewer.opener = null;
    if (opener && document.contains(opener) && typeof opener.focus === "function") opener.focus();
    else focusInput();
  }

  function labelOf(label) {
    const l = asText(label).trim();
    if (!l) return "";
    return l.charAt(0) === "¶" ? l : "¶" + l;
  }

  function loadParagraph(pid, focusFrom) {
    const v = S.el.viewer;
    const token = ++S.viewer.token;
    S.viewer.id = pid;
    v.status.textContent = t("viewerLoading");
    v.dialog.setAttribute("aria-busy", "true");
    getJson("/api/paragraphs/" + encodeURIComponent(pid))
      .then(function (data) {
        if (token !== S.viewer.token) return;
        if (!data.paragraph || typeof data.paragraph !== "object") throw new Error("invalid paragraph data");
        S.viewer.data = data;
        v.status.textContent = "";
        renderViewer(data);
        if (focusFrom && focusFrom.disabled) {
          const other = focusFrom === v.prev ? v.nextBtn : v.prev;
          (other.disabled ? v.close : other).focus();
        }
      })
      .catch(function (err) {
        if (token !== S.viewer.token) return;
        S.viewer.data = null;
        renderViewerError(err);
      })
      .then(function () {
        if (token === S.viewer.token) v.dialog.removeAttribute("aria-busy");
      });
  }

  function viewerParagraph(box, para, caption) {
    clear(box);
    if (!para) {
      box.hidden = true;
      return;
    }
    box.hidden = false;
    const text = asText(para.text);
    box.setAttribute("lang", langTag(detectLang(text)));
    const label = labelOf(para.label);
    box.appendChild(h("p", { class: "viewer-label" }, caption ? caption + (label ? " · " + label : "") : label));
    box.appendChild(h("p", { class: "viewer-text" }, text));
    if (S.lang !== "zh" && typeof para.text_en === "string" && para.text_en) {
      box.appendChild(h("p", { class: "viewer-translation", lang: "en" }, [
        h("span", { class: "translation-note" }, STRINGS.en.translationLabel + " "), para.text_en
      ]));
    }
  }

  function renderViewer(data) {
    const v = S.el.viewer;
    const p = data.paragraph || {};
    const doc = data.document || {};
    const title = asText(doc.title || doc.title_en || doc.symbol || p.doc_id);
    v.title.textContent = title;
    v.title.setAttribute("lang", langTag(detectLang(title)));
    const meta = [];
    if (doc.title_en && doc.title_en !== title) meta.push(asText(doc.title_en));
    if (doc.symbol) meta.push(asText(doc.symbol));
    if (doc.date) meta.push(asText(doc.date));
    // "body" is the issuing body when it is text (the documents list uses it for a count)
    if (doc.issuing_body) meta.push(asText(doc.issuing_body));
    else if (typeof doc.body === "string" && doc.body && !/^\d+$/.test(doc.body)) meta.push(doc.body);
    v.meta.textContent = meta.join(" · ");
    v.meta.hidden = !meta.length;
    const path = S.lang === "en" && p.section_path_en ? p.section_path_en : p.section_path;
    let sectionText = path ? t("viewerSection") + asText(path) : "";
    if (p.page !== undefined && p.page !== null && p.page !== "") {
      const pageText = S.lang === "zh" ? format(STRINGS.zh.viewerPage, { page: p.page }) : STRINGS.en.viewerPage + p.page;
      sectionText = sectionText ? sectionText + " · " + pageText : pageText;
    }
    v.section.textContent = sectionText;
    v.section.hidden = !sectionText;

    viewerParagraph(v.previous, data.previous, t("viewerPrevLabel"));
    viewerParagraph(v.current, p, "");
    viewerParagraph(v.next, data.next, t("viewerNextLabel"));

    clear(v.footnotes);
    const notes = asArray(p.footnotes).filter(function (f) {
      return f && typeof f === "object";
    });
    v.footnotes.hidden = !notes.length;
    if (notes.length) {
      v.footnotes.appendChild(h("h3", { class: "viewer-footnotes-title" }, t("viewerFootnotes")));
      const list = h("ol", { class: "viewer-footnote-list" });
      notes.forEach(function (f) {
        const text = asText(S.lang !== "zh" && f.text_en ? f.text_en : f.text);
        list.appendChild(
          h("li", { lang: langTag(detectLang(text)) }, [h("span", { class: "footnote-number" }, asText(f.number) + " "), text])
        );
      });
      v.footnotes.appendChild(list);
    }

    const cit = data.citation || {};
    const c = asText(cit[S.lang] || cit.en || cit.zh);
    v.citation.textContent = c ? t("viewerCite") + c : "";
    v.citation.hidden = !c;

    v.prev.disabled = !(data.previous && data.previous.id);
    v.nextBtn.disabled = !(data.next && data.next.id);
  }

  function renderViewerError(err) {
    const v = S.el.viewer;
    v.title.textContent = t("viewerError");
    v.title.setAttribute("lang", langTag(S.lang));
    v.meta.textContent = "";
    v.meta.hidden = true;
    v.section.textContent = "";
    v.section.hidden = true;
    v.status.textContent = t("viewerError") + (err && err.message ? " (" + err.message + ")" : "") + ".";
    [v.previous, v.current, v.next, v.footnotes].forEach(function (b) {
      clear(b);
      b.hidden = b !== v.current;
    });
    v.citation.hidden = true;
    v.prev.disabled = true;
    v.nextBtn.disabled = true;
  }

  // ----------------------------------------------------------------------------------------
  // embedded mode: launcher + panel

  function ensureStylesheet() {
    const links = document.querySelectorAll('link[rel="stylesheet"]');
    for (let i = 0; i < links.length; i++) {
      if (/\/widget\.css(\?|$)/.test(links[i].href || "")) return;
    }
    const link = h("link", { rel: "stylesheet", href: ORIGIN + "/widget.css" });
    (document.head || document.documentElement).appendChild(link);
  }

  function togglePanel(open) {
    const el = S.el;
    const show = open === undefined ? el.panel.hidden : !!open;
    el.panel.hidden = !show;
    el.launcher.setAttribute("aria-expanded", show ? "true" : "false");
    el.root.classList.toggle("pa-open", show);
    if (show) {
      start();
      focusInput();
      if (el.scroll) el.scroll.scrollTop = el.scroll.scrollHeight;
    } else {
      el.launcher.focus();
    }
  }

  // ----------------------------------------------------------------------------------------
  // start-up

  function init() {
    const host = document.getElementById("policy-assistant");
    S.embedded = !host;
    const query = location.search || "";
    S.presenter = !S.embedded && (location.pathname.indexOf("/presenter") === 0 || /[?&]presenter(=|&|$)/.test(query));
    S.lang = initialLang();
    S.sessionId = store.get(KEY_SESSION) || "";
    if (!SESSION_PATTERN.test(S.sessionId)) {
      S.sessionId = newSessionId();
      store.set(KEY_SESSION, S.sessionId);
    }

    if (S.embedded) {
      ensureStylesheet();
      const root = h("div", { class: "pa-root pa-embedded", id: "pa-root" });
      S.el.root = root;
      const launcher = h("button", {
        type: "button",
        id: "pa-launcher",
        class: "pa-launcher",
        "aria-expanded": "false",
        "aria-controls": "pa-panel"
      });
      const panel = h("div", { id: "pa-panel", class: "pa-panel", role: "dialog", "aria-labelledby": "pa-title", hidden: true });
      S.el.launcher = launcher;
      S.el.panel = panel;
      buildApp(panel);
      root.appendChild(launcher);
      root.appendChild(panel);
      root.appendChild(buildViewer());
      document.body.appendChild(root);
      launcher.addEventListener("click", function () {
        togglePanel();
      });
      document.addEventListener("keydown", function (e) {
        if (e.key !== "Escape" || panel.hidden || isViewerOpen()) return;
        const active = document.activeElement;
        if (active && active !== document.body && !root.contains(active)) return;
        e.preventDefault();
        togglePanel(false);
      });
    } else {
      clear(host);
      host.classList.add("pa-root", "pa-page");
      S.el.root = host;
      if (S.presenter) {
        document.body.classList.add("presenter");
        loadScript(ORIGIN + "/room.js", 10000);   // the room view: QR code and the room's questions
      }
      document.body.classList.add("pa-page-body");
      buildApp(host);
      host.appendChild(buildViewer());
    }

    applyStrings();
    setStatus("connecting");
    restoreTranscript();
    renderSuggestions();
    if (!S.embedded) {
      start();
      if (!S.presenter) focusInput();
      // ?p=<paragraph id>: citation links from messaging channels open the paragraph viewer
      const linked = /[?&]p=([^&#]+)/.exec(query);
      const pid = linked ? decodeURIComponent(linked[1]) : "";
      if (/^[0-9A-Za-z._-]+:[0-9A-Za-z._()-]+$/.test(pid)) openViewer(pid);
    }
  }

  whenReady(function () {
    try {
      init();
    } catch (e) {
      if (window.console) console.error("Policy Assistant: start-up failed", e);
    }
  });
})();
