/*
 * Policy Assistant — the workshop room view on the presenter page (/presenter), issue #21.
 *
 * Loaded by widget.js in presenter mode; fills #room-panel with
 *  - a QR code of the chat address participants open on their phones (GET /api/room/address;
 *    the image is made on this server by /api/room/qr.svg; the address can be changed here and
 *    is kept in localStorage "pa-room.url");
 *  - the room's questions since the last "Reset all" (GET /api/room?since=<epoch seconds>, polled
 *    every few seconds) with how each was answered. No names, no sender ids. Without a token the
 *    server sends only time, language and outcome; with the insights token (typed in here, kept
 *    in sessionStorage for this tab, shared with /insights) it also sends the question texts.
 * "Reset all" (widget.js: event "pa:reset-all") starts a new room; "pa:lang" switches language.
 */
(function () {
  "use strict";

  const KEY_SINCE = "pa-room.since";
  const KEY_URL = "pa-room.url";
  const KEY_TOKEN = "pa-insights.token";
  const POLL_MS = 4000;

  const STRINGS = {
    en: {
      room: "Workshop room",
      join: "Join from your phone",
      qrAlt: "QR code of the chat address {url}",
      change: "Change address",
      use: "Use",
      urlLabel: "Chat address for phones",
      loopback: "This server listens only on this computer: phones cannot open it. Start it with WEB_HOST=0.0.0.0 (see README, Insights).",
      questions: "Questions from the room",
      since: "since {time}",
      none: "No questions yet.",
      question: "Question {n}",
      textsHint: "Question texts need the insights token.",
      token: "Insights token",
      showTexts: "Show texts",
      hideTexts: "Hide texts",
      unavailable: "The room's questions are not available ({error}).",
      answer: "answered", no_answer: "not in the documents", refusal: "refused", support: "help referral", other: "other",
      followUp: "follow-up"
    },
    zh: {
      room: "研讨会现场",
      join: "用手机加入",
      qrAlt: "聊天地址 {url} 的二维码",
      change: "更改地址",
      use: "使用",
      urlLabel: "手机使用的聊天地址",
      loopback: "此服务器只在本机监听，手机无法打开。请用 WEB_HOST=0.0.0.0 启动（见 README“Insights”）。",
      questions: "现场提问",
      since: "自 {time} 起",
      none: "还没有提问。",
      question: "问题 {n}",
      textsHint: "显示问题文本需要洞察令牌。",
      token: "洞察令牌",
      showTexts: "显示文本",
      hideTexts: "隐藏文本",
      unavailable: "无法获取现场提问（{error}）。",
      answer: "已回答", no_answer: "文件中没有", refusal: "已拒绝", support: "求助转介", other: "其他",
      followUp: "追问"
    }
  };
  const OUTCOMES = ["answer", "no_answer", "refusal", "support", "other"];

  const R = { data: null, address: null, error: "", timer: null, el: {}, busy: false };

  function lang() {
    const pa = window.__policyAssistant;
    return pa && pa.state && pa.state.lang === "zh" ? "zh" : "en";
  }
  function t(key, values) {
    const text = (STRINGS[lang()] || STRINGS.en)[key] || STRINGS.en[key] || key;
    return String(text).replace(/\{(\w+)\}/g, function (m, k) {
      return values && values[k] !== undefined ? String(values[k]) : m;
    });
  }
  function storage(kind) {
    try {
      return kind === "session" ? window.sessionStorage : window.localStorage;
    } catch (e) {
      return null;
    }
  }
  function get(kind, key) {
    try {
      const s = storage(kind);
      return s ? s.getItem(key) || "" : "";
    } catch (e) {
      return "";
    }
  }
  function put(kind, key, value) {
    try {
      const s = storage(kind);
      if (s) (value ? s.setItem(key, value) : s.removeItem(key));
    } catch (e) { /* nothing kept */ }
  }
  function h(tag, attrs, children) {
    const el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (attrs[k] === null || attrs[k] === undefined || attrs[k] === false) return;
      if (k === "text") el.textContent = attrs[k];
      else el.setAttribute(k, attrs[k] === true ? "" : attrs[k]);
    });
    (children || []).forEach(function (c) {
      if (c) el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return el;
  }

  function since() {
    let value = parseFloat(get("local", KEY_SINCE));
    if (!(value > 0)) {
      value = Date.now() / 1000;
      put("local", KEY_SINCE, String(value));
    }
    return value;
  }

  function chatUrl() {
    const custom = get("local", KEY_URL);
    return custom || (R.address && R.address.url) || location.origin + "/";
  }

  function build(panel) {
    const el = R.el;
    el.qr = h("img", { id: "room-qr", class: "pa-room-qr", width: "160", height: "160", alt: "" });
    el.url = h("a", { id: "room-url", class: "pa-room-url", href: "#", target: "_blank", rel: "noopener" });
    el.warning = h("p", { id: "room-warning", class: "pa-room-warning", hidden: true });
    el.urlInput = h("input", { id: "room-url-input", type: "url", class: "pa-room-input", autocomplete: "off",
      spellcheck: "false" });
    el.urlLabel = h("label", { for: "room-url-input" });
    el.use = h("button", { type: "submit", class: "pa-btn pa-btn-secondary" });
    el.changeSummary = h("summary", {});
    el.urlForm = h("form", { id: "room-url-form", class: "pa-room-form" }, [el.urlLabel, el.urlInput, el.use]);
    el.urlForm.addEventListener("submit", function (e) {
      e.preventDefault();
      const value = el.urlInput.value.trim();
      put("local", KEY_URL, /^https?:\/\/\S+$/.test(value) ? value : "");
      renderQr();
    });
    el.change = h("details", { class: "pa-room-change" }, [el.changeSummary, el.urlForm]);
    el.joinTitle = h("h3", { class: "pa-room-title" });
    el.join = h("div", { class: "pa-room-join" }, [
      el.joinTitle, h("figure", { class: "pa-room-figure" }, [el.qr, h("figcaption", {}, [el.url])]), el.warning, el.change
    ]);

    el.listTitle = h("h3", { class: "pa-room-title", id: "room-questions-title" });
    el.sinceText = h("p", { class: "pa-room-since" });
    el.counts = h("p", { id: "room-counts", class: "pa-room-counts" });
    el.list = h("ol", { id: "room-questions", class: "pa-room-list", "aria-labelledby": "room-questions-title",
      "aria-live": "polite" });
    el.status = h("p", { id: "room-status", class: "pa-room-status", hidden: true });
    el.token = h("input", { id: "room-token", type: "password", class: "pa-room-input", autocomplete: "off" });
    el.tokenLabel = h("label", { for: "room-token" });
    el.tokenButton = h("button", { type: "submit", id: "room-token-button", class: "pa-btn pa-btn-secondary" });
    el.tokenHint = h("p", { class: "pa-room-hint" });
    el.tokenForm = h("form", { id: "room-token-form", class: "pa-room-form" }, [el.tokenHint, el.tokenLabel, el.token, el.tokenButton]);
    el.tokenForm.addEventListener("submit", function (e) {
      e.preventDefault();
      if (get("session", KEY_TOKEN)) put("session", KEY_TOKEN, "");
      else put("session", KEY_TOKEN, el.token.value.trim());
      el.token.value = "";
      renderToken();
      poll();
    });

    panel.textContent = "";
    panel.appendChild(el.join);
    panel.appendChild(h("div", { class: "pa-room-live" }, [el.listTitle, el.sinceText, el.counts, el.status, el.list, el.tokenForm]));
  }

  function renderToken() {
    const el = R.el;
    const has = !!get("session", KEY_TOKEN);
    el.token.hidden = has;
    el.tokenLabel.hidden = has;
    el.tokenHint.hidden = has;
    el.tokenButton.textContent = has ? t("hideTexts") : t("showTexts");
  }

  function renderQr() {
    const el = R.el;
    const url = chatUrl();
    el.qr.src = "/api/room/qr.svg?url=" + encodeURIComponent(url);
    el.qr.alt = t("qrAlt", { url: url });
    el.url.textContent = url;
    el.url.href = url;
    el.urlInput.value = url;
    const a = R.address;
    el.warning.hidden = !(a && !a.listening_beyond_loopback && !get("local", KEY_URL));
  }

  function renderStrings() {
    const el = R.el;
    const panel = document.getElementById("room-panel");
    if (panel) panel.setAttribute("aria-label", t("room"));
    el.joinTitle.textContent = t("join");
    el.changeSummary.textContent = t("change");
    el.urlLabel.textContent = t("urlLabel");
    el.use.textContent = t("use");
    el.warning.textContent = t("loopback");
    el.listTitle.textContent = t("questions");
    el.tokenLabel.textContent = t("token");
    el.tokenHint.textContent = t("textsHint");
    renderToken();
    renderQr();
    renderList();
  }

  function time(iso) {
    const d = new Date(iso);
    if (isNaN(d.getTime())) return "";
    return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2);
  }

  function renderList() {
    const el = R.el;
    el.sinceText.textContent = t("since", { time: time(new Date(since() * 1000).toISOString()) });
    el.status.hidden = !R.error;
    el.status.textContent = R.error ? t("unavailable", { error: R.error }) : "";
    el.list.textContent = "";
    const d = R.data;
    if (!d) return;
    el.counts.textContent = OUTCOMES.map(function (k) {
      return t(k) + " " + (d.outcomes[k] || 0);
    }).join(" · ") + " · 👍 " + d.ratings.up + " · 👎 " + d.ratings.down;
    if (!d.questions.length) {
      el.list.appendChild(h("li", { class: "pa-room-empty", text: t("none") }));
      return;
    }
    const first = d.total - d.questions.length;
    d.questions.slice().reverse().forEach(function (q, i) {
      const n = first + d.questions.length - i;
      const text = typeof q.text === "string" ? q.text : t("question", { n: n });
      el.list.appendChild(h("li", { class: "pa-room-item", "data-outcome": q.outcome }, [
        h("span", { class: "pa-room-time", text: time(q.time) }),
        h("span", { class: "pa-room-outcome", "data-outcome": q.outcome, text: t(q.outcome) }),
        q.follow_up ? h("span", { class: "pa-room-move", text: t("followUp") }) : null,
        h("span", { class: "pa-room-text" + (typeof q.text === "string" ? "" : " pa-room-placeholder"),
          lang: q.lang === "zh" ? "zh-CN" : q.lang === "en" ? "en" : null, text: text })
      ]));
    });
  }

  function getJson(path) {
    const token = get("session", KEY_TOKEN);
    return fetch(path, { headers: token ? { Authorization: "Bearer " + token } : {}, cache: "no-store" })
      .then(function (res) {
        return res.json().catch(function () { return {}; }).then(function (body) {
          if (!res.ok) throw new Error(body.error || String(res.status));
          return body;
        });
      });
  }

  function poll() {
    if (R.busy) return;
    R.busy = true;
    getJson("/api/room?since=" + encodeURIComponent(String(since() - 2)))
      .then(function (body) {
        R.data = body;
        R.error = "";
      })
      .catch(function (e) {
        R.error = (e && e.message) || "error";
      })
      .then(function () {
        R.busy = false;
        renderList();
      });
  }

  function init() {
    const panel = document.getElementById("room-panel");
    if (!panel || panel.getAttribute("data-ready")) return;
    panel.setAttribute("data-ready", "1");
    build(panel);
    renderStrings();
    getJson("/api/room/address").then(function (a) {
      R.address = a;
      renderQr();
    }).catch(function () { renderQr(); });
    poll();
    R.timer = setInterval(function () {
      if (!document.hidden) poll();
    }, POLL_MS);
    document.addEventListener("pa:reset-all", function (e) {
      const at = e && e.detail && e.detail.time ? e.detail.time : Date.now() / 1000;
      put("local", KEY_SINCE, String(at));
      R.data = null;
      renderList();
      poll();
    });
    document.addEventListener("pa:lang", renderStrings);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
