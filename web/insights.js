/*
 * Policy Assistant — insights page (/insights, issue #21).
 *
 * Reads GET /api/insights?since=… with "Authorization: Bearer <token>" (the token typed into the
 * form, kept in sessionStorage for this tab only) and draws the report: totals, messages per
 * day, outcomes, languages and channels as plain SVG bar charts (no library, no CDN), the
 * declined questions grouped, the rated answers with their citations, the most cited documents
 * and paragraphs, and follow-up use. English / 中文 interface. Every text is set with
 * textContent, never as HTML.
 */
(function () {
  "use strict";

  const KEY_TOKEN = "pa-insights.token";   // shared with the presenter's room view (same origin)
  const KEY_LANG = "pa-insights.lang";
  const SVG = "http://www.w3.org/2000/svg";

  const STRINGS = {
    en: {
      title: "Policy Assistant — insights",
      intro: "What was asked and how the assistant answered, from the conversation store.",
      langSwitch: "中文",
      langSwitchLabel: "中文 — switch the interface to Chinese",
      token: "Access token",
      tokenHint: "INSIGHTS_TOKEN, or the Rasa API token (RASA_TOKEN in .env). Kept in this tab only.",
      show: "Show",
      forget: "Forget token",
      period: "Period",
      p24h: "last 24 hours", p7d: "last 7 days", p30d: "last 30 days", pall: "everything kept",
      loading: "Loading…",
      needToken: "Enter the access token to see the insights.",
      badToken: "The token was not accepted.",
      off: "Insights are off on this server: set INSIGHTS_TOKEN (or RASA_TOKEN) and restart it.",
      failed: "The insights could not be loaded: {error}",
      conversations: "Conversations", messages: "Messages", up: "Rated 👍", down: "Rated 👎",
      perDay: "Messages per day (UTC)",
      perDayDesc: "Bar chart: messages per day; conversations in brackets.",
      outcomes: "Outcomes",
      answer: "answered", no_answer: "not in the documents", refusal: "refused", support: "help referral", other: "other",
      languages: "Languages", channels: "Channels",
      declined: "Questions the documents could not answer (grouped by similarity)",
      declinedNone: "None in this period.",
      hidden: "(text not shown)",
      count: "Count", question: "Question", rating: "Rating", cited: "Cited paragraphs",
      rated: "Rated answers",
      ratedNone: "No ratings in this period.",
      docs: "Most cited documents", paras: "Most cited paragraphs",
      citedNone: "No citations in this period.",
      followUps: "Follow-up use",
      followUpsText: "{n} follow-ups ({share} of the messages, ratings aside): more results, sources, narrower or wider questions…",
      textsOff: "Message texts are off on this server (counts only).",
      store: "Source: {store}, {since} – {until}",
      empty: "No conversations in this period.",
      noCitation: "no citation",
      lang_en: "English", lang_zh: "Chinese", lang_mixed: "mixed", lang_unknown: "unknown",
      fu_more_results: "more results", fu_show_source: "source", fu_show_original: "original text",
      fu_ask_paragraph: "a paragraph", fu_filter_document: "one document", fu_continue: "continued",
      fu_switch: "switched topic", fu_narrow: "narrower", fu_widen: "wider", fu_shown: "about a quote",
      fu_item: "a listed item"
    },
    zh: {
      title: "政策助手 — 洞察",
      intro: "根据会话记录显示用户提出的问题以及助手的回答情况。",
      langSwitch: "English",
      langSwitchLabel: "English — 将界面切换为英文",
      token: "访问令牌",
      tokenHint: "INSIGHTS_TOKEN，或 Rasa API 令牌（.env 中的 RASA_TOKEN）。仅保存在此标签页中。",
      show: "显示",
      forget: "清除令牌",
      period: "时间范围",
      p24h: "最近 24 小时", p7d: "最近 7 天", p30d: "最近 30 天", pall: "全部保留的记录",
      loading: "正在加载…",
      needToken: "请输入访问令牌以查看洞察。",
      badToken: "令牌不正确。",
      off: "此服务器未启用洞察：请设置 INSIGHTS_TOKEN（或 RASA_TOKEN）并重新启动。",
      failed: "无法加载洞察：{error}",
      conversations: "会话", messages: "消息", up: "👍 评价", down: "👎 评价",
      perDay: "每日消息数（UTC）",
      perDayDesc: "柱状图：每日消息数；括号内为会话数。",
      outcomes: "回答结果",
      answer: "已回答", no_answer: "文件中没有", refusal: "已拒绝", support: "求助转介", other: "其他",
      languages: "语言", channels: "渠道",
      declined: "文件无法回答的问题（按相似度分组）",
      declinedNone: "此期间没有。",
      hidden: "（不显示文本）",
      count: "次数", question: "问题", rating: "评价", cited: "引用的段落",
      rated: "已评价的回答",
      ratedNone: "此期间没有评价。",
      docs: "引用最多的文件", paras: "引用最多的段落",
      citedNone: "此期间没有引用。",
      followUps: "追问使用情况",
      followUpsText: "{n} 次追问（占消息的 {share}，评价除外）：更多结果、出处、缩小或放宽问题……",
      textsOff: "此服务器已关闭消息文本（仅显示计数）。",
      store: "来源：{store}，{since} – {until}",
      empty: "此期间没有会话。",
      noCitation: "无引用",
      lang_en: "英文", lang_zh: "中文", lang_mixed: "混合", lang_unknown: "未知",
      fu_more_results: "更多结果", fu_show_source: "出处", fu_show_original: "原文",
      fu_ask_paragraph: "某一段落", fu_filter_document: "限定文件", fu_continue: "继续",
      fu_switch: "换话题", fu_narrow: "缩小", fu_widen: "放宽", fu_shown: "关于引文",
      fu_item: "列表中的一项"
    }
  };
  const OUTCOMES = ["answer", "no_answer", "refusal", "support", "other"];
  const COLOURS = { answer: "#1a7f37", no_answer: "#9a6700", refusal: "#b42318", support: "#6f42c1", other: "#4b5563" };

  const S = { lang: "en", data: null, error: "", since: "7d", el: {}, bound: [] };

  function store(kind) {
    try {
      return kind === "session" ? window.sessionStorage : window.localStorage;
    } catch (e) {
      return null;
    }
  }
  function get(kind, key) {
    const s = store(kind);
    try {
      return s ? s.getItem(key) || "" : "";
    } catch (e) {
      return "";
    }
  }
  function put(kind, key, value) {
    const s = store(kind);
    try {
      if (s) (value ? s.setItem(key, value) : s.removeItem(key));
    } catch (e) { /* private mode: nothing kept */ }
  }

  function t(key) {
    const table = STRINGS[S.lang] || STRINGS.en;
    return table[key] !== undefined ? table[key] : STRINGS.en[key] || key;
  }
  function format(template, values) {
    return String(template).replace(/\{(\w+)\}/g, function (m, k) {
      return values[k] !== undefined ? String(values[k]) : m;
    });
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
  function s(tag, attrs, children) {
    const el = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) {
      el.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) {
      if (c) el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return el;
  }
  function bind(el, key, attr) {
    S.bound.push({ el: el, key: key, attr: attr });
    apply(S.bound[S.bound.length - 1]);
    return el;
  }
  function apply(b) {
    if (b.attr) b.el.setAttribute(b.attr, t(b.key));
    else b.el.textContent = t(b.key);
  }

  // ------------------------------------------------------------------------------------------
  // charts (plain SVG; sizes in viewBox units, so they scale with the page)

  /** Horizontal bars: [{label, value, colour}] with the value at the end of each bar. */
  function barsH(items, title) {
    const rowH = 28, labelW = 190, barW = 260, width = labelW + barW + 60;
    const max = Math.max(1, ...items.map(function (i) { return i.value; }));
    const svg = s("svg", { viewBox: "0 0 " + width + " " + Math.max(rowH, items.length * rowH), role: "img",
      class: "ins-chart ins-bars", "aria-label": title, preserveAspectRatio: "xMinYMin meet" });
    svg.appendChild(s("title", {}, [title]));
    items.forEach(function (item, i) {
      const y = i * rowH;
      const w = Math.round((item.value / max) * barW);
      svg.appendChild(s("text", { x: labelW - 8, y: y + rowH / 2 + 5, "text-anchor": "end", class: "ins-label" },
        [truncate(item.label, 26)]));
      svg.appendChild(s("rect", { x: labelW, y: y + 5, width: Math.max(item.value ? 2 : 0, w), height: rowH - 10,
        fill: item.colour || "#0b57d0", rx: 3 }));
      svg.appendChild(s("text", { x: labelW + w + 6, y: y + rowH / 2 + 5, class: "ins-value" }, [String(item.value)]));
    });
    return svg;
  }

  /** Vertical bars per day, stacked by language: [{date, messages, conversations, languages}]. */
  function barsDays(days, title) {
    const height = 180, pad = 28, colW = Math.max(14, Math.min(48, Math.floor(640 / Math.max(1, days.length))));
    const width = Math.max(320, pad * 2 + days.length * colW);
    const max = Math.max(1, ...days.map(function (d) { return d.messages; }));
    const langs = [];
    days.forEach(function (d) {
      Object.keys(d.languages || {}).forEach(function (l) { if (langs.indexOf(l) < 0) langs.push(l); });
    });
    langs.sort(function (a, b) { return LANG_ORDER(a) - LANG_ORDER(b) || (a < b ? -1 : 1); });
    const svg = s("svg", { viewBox: "0 0 " + width + " " + (height + 62), role: "img", class: "ins-chart ins-days",
      "aria-label": title, preserveAspectRatio: "xMinYMin meet" });
    svg.appendChild(s("title", {}, [title]));
    svg.appendChild(s("line", { x1: pad, y1: height, x2: width - pad, y2: height, class: "ins-axis" }));
    const every = Math.ceil(days.length / 8);
    days.forEach(function (d, i) {
      const x = pad + i * colW;
      const bh = Math.round((d.messages / max) * (height - 30));
      let top = height;
      langs.forEach(function (l) {
        const n = (d.languages || {})[l] || 0;
        if (!n) return;
        const part = Math.max(1, Math.round((n / max) * (height - 30)));
        top -= part;
        const bar = s("rect", { x: x + 2, y: top, width: colW - 4, height: part, fill: langColour(l), "data-lang": l });
        bar.appendChild(s("title", {}, [d.date + " " + l + ": " + n]));
        svg.appendChild(bar);
      });
      svg.appendChild(s("text", { x: x + colW / 2, y: height - bh - 5, "text-anchor": "middle", class: "ins-value" },
        [String(d.messages)]));
      if (i % every === 0) {
        svg.appendChild(s("text", { x: x + colW / 2, y: height + 18, "text-anchor": "middle", class: "ins-label" },
          [d.date.slice(5)]));
      }
    });
    langs.forEach(function (l, i) {   // legend
      const x = pad + i * 110;
      svg.appendChild(s("rect", { x: x, y: height + 36, width: 14, height: 14, fill: langColour(l) }));
      svg.appendChild(s("text", { x: x + 20, y: height + 48, class: "ins-label" }, [langName(l)]));
    });
    return svg;
  }

  function LANG_ORDER(l) {
    return { en: 0, zh: 1, mixed: 2 }[l] !== undefined ? { en: 0, zh: 1, mixed: 2 }[l] : 3;
  }
  function langColour(l) {
    return { en: "#0b57d0", zh: "#b3261e", mixed: "#6f42c1" }[l] || "#4b5563";
  }
  function langName(l) {
    return t("lang_" + l) !== "lang_" + l ? t("lang_" + l) : l;
  }

  function truncate(text, n) {
    text = String(text || "");
    return text.length > n ? text.slice(0, n - 1) + "…" : text;
  }

  // ------------------------------------------------------------------------------------------
  // layout

  function build(root) {
    const el = S.el;
    el.title = bind(h("h1", { id: "ins-title" }), "title");
    el.intro = bind(h("p", { class: "ins-intro" }), "intro");
    el.langSwitch = h("button", { type: "button", id: "ins-lang", class: "ins-btn ins-secondary" });
    bind(el.langSwitch, "langSwitch");
    bind(el.langSwitch, "langSwitchLabel", "aria-label");
    el.langSwitch.addEventListener("click", function () {
      S.lang = S.lang === "zh" ? "en" : "zh";
      put("local", KEY_LANG, S.lang);
      applyAll();
    });

    el.token = h("input", { id: "ins-token", type: "password", autocomplete: "off", class: "ins-input",
      "aria-describedby": "ins-token-hint", spellcheck: "false" });
    el.token.value = get("session", KEY_TOKEN);
    el.period = h("select", { id: "ins-since", class: "ins-input" });
    ["24h", "7d", "30d", "all"].forEach(function (p) {
      el.period.appendChild(bind(h("option", { value: p }), "p" + p));
    });
    el.period.value = S.since;
    el.show = bind(h("button", { type: "submit", id: "ins-show", class: "ins-btn" }), "show");
    el.forget = bind(h("button", { type: "button", id: "ins-forget", class: "ins-btn ins-secondary" }), "forget");
    el.forget.addEventListener("click", function () {
      put("session", KEY_TOKEN, "");
      el.token.value = "";
      S.data = null;
      S.error = "needToken";
      render();
    });
    el.form = h("form", { id: "ins-form", class: "ins-form", autocomplete: "off" }, [
      h("div", { class: "ins-field" }, [bind(h("label", { for: "ins-token" }), "token"), el.token,
        bind(h("small", { id: "ins-token-hint", class: "ins-hint" }), "tokenHint")]),
      h("div", { class: "ins-field" }, [bind(h("label", { for: "ins-since" }), "period"), el.period]),
      h("div", { class: "ins-actions" }, [el.show, el.forget])
    ]);
    el.form.addEventListener("submit", function (e) {
      e.preventDefault();
      put("session", KEY_TOKEN, el.token.value.trim());
      S.since = el.period.value;
      load();
    });
    el.status = h("p", { id: "ins-status", class: "ins-status", role: "status", "aria-live": "polite" });
    el.report = h("main", { id: "ins-report", class: "ins-report" });
    root.textContent = "";
    root.appendChild(h("header", { class: "ins-header" }, [
      h("div", {}, [el.title, el.intro]), el.langSwitch
    ]));
    root.appendChild(el.form);
    root.appendChild(el.status);
    root.appendChild(el.report);
  }

  function applyAll() {
    document.documentElement.lang = S.lang === "zh" ? "zh-CN" : "en";
    document.title = t("title");
    S.bound.forEach(apply);
    render();
  }

  function section(id, titleKey, children) {
    const heading = h("h2", { id: id + "-title", text: t(titleKey) });
    return h("section", { id: id, class: "ins-card", "aria-labelledby": id + "-title" }, [heading].concat(children));
  }

  function table(headers, rows, cls) {
    const head = h("tr", {}, headers.map(function (x) { return h("th", { scope: "col", text: x }); }));
    const body = rows.map(function (r) {
      return h("tr", {}, r.map(function (c) {
        return c instanceof Node ? h("td", {}, [c]) : h("td", { text: String(c) });
      }));
    });
    return h("div", { class: "ins-table-wrap " + (cls || "") }, [h("table", { class: "ins-table" },
      [h("thead", {}, [head]), h("tbody", {}, body)])]);
  }

  function paragraphLink(id, label) {
    return h("a", { href: "/?p=" + encodeURIComponent(id), class: "ins-cite", text: label || id, target: "_blank",
      rel: "noopener" });
  }

  function render() {
    const el = S.el;
    el.status.textContent = S.error ? format(t(S.error) || S.error, { error: S.errorDetail || "" }) : "";
    el.status.setAttribute("data-state", S.error ? "error" : "ok");
    el.report.textContent = "";
    const d = S.data;
    if (!d) return;
    const totals = h("section", { id: "ins-totals", class: "ins-totals", "aria-label": t("messages") }, [
      ["conversations", d.conversations], ["messages", d.messages], ["up", d.ratings.up], ["down", d.ratings.down]
    ].map(function (pair) {
      return h("div", { class: "ins-total", "data-key": pair[0] }, [
        h("span", { class: "ins-total-value", text: String(pair[1]) }),
        h("span", { class: "ins-total-label", text: t(pair[0]) })
      ]);
    }));
    el.report.appendChild(totals);
    el.report.appendChild(h("p", { class: "ins-source", text: format(t("store"), {
      store: d.store, since: d.since.replace("T", " ").replace("Z", ""), until: d.until.replace("T", " ").replace("Z", "") }) }));
    if (!d.texts) el.report.appendChild(h("p", { class: "ins-note", text: t("textsOff") }));
    if (!d.messages) {
      el.report.appendChild(h("p", { class: "ins-note", id: "ins-empty", text: t("empty") }));
      return;
    }
    const grid = h("div", { class: "ins-grid" });
    grid.appendChild(section("ins-days", "perDay", [barsDays(d.days, t("perDayDesc")),
      table([t("perDay"), t("messages"), t("conversations")], d.days.map(function (x) {
        return [x.date, x.messages, x.conversations];
      }), "ins-sr")]));
    grid.appendChild(section("ins-outcomes", "outcomes", [barsH(OUTCOMES.map(function (k) {
      return { label: t(k), value: d.outcomes[k] || 0, colour: COLOURS[k] };
    }), t("outcomes"))]));
    const kv = function (obj) {
      return Object.keys(obj).map(function (k) { return { label: k, value: obj[k] }; });
    };
    grid.appendChild(section("ins-languages", "languages", [barsH(Object.keys(d.languages).map(function (k) {
      return { label: langName(k), value: d.languages[k], colour: langColour(k) };
    }), t("languages"))]));
    grid.appendChild(section("ins-channels", "channels", [barsH(kv(d.channels), t("channels"))]));
    el.report.appendChild(grid);

    el.report.appendChild(section("ins-declined", "declined", d.declined.length ? [table([t("count"), t("question")],
      d.declined.map(function (x) {
        return [x.count, x.text === null ? t("hidden") : x.text];
      }), "ins-declined-table")] : [h("p", { class: "ins-note", text: t("declinedNone") })]));

    const rated = d.ratings.rated || [];
    el.report.appendChild(section("ins-rated", "rated", rated.length ? [table([t("rating"), t("question"), t("cited")],
      rated.slice().reverse().map(function (x) {
        const cites = h("span", { class: "ins-cites" }, x.citations.length ? x.citations.map(function (c) {
          return paragraphLink(c.id, c.citation || c.id);
        }) : [t("noCitation")]);
        return [x.rating === "up" ? "👍" : x.rating === "down" ? "👎" : "?", x.question === null ? t("hidden") : x.question, cites];
      }), "ins-rated-table")] : [h("p", { class: "ins-note", text: t("ratedNone") })]));

    const docs = d.cited.documents || [], paras = d.cited.paragraphs || [];
    const cited = h("div", { class: "ins-grid" });
    cited.appendChild(section("ins-docs", "docs", docs.length ? [barsH(docs.map(function (x) {
      return { label: x.symbol || x.doc_id, value: x.count };
    }), t("docs"))] : [h("p", { class: "ins-note", text: t("citedNone") })]));
    cited.appendChild(section("ins-paras", "paras", paras.length ? [table([t("count"), t("cited")], paras.map(function (x) {
      return [x.count, paragraphLink(x.id, x.citation)];
    }), "ins-paras-table")] : [h("p", { class: "ins-note", text: t("citedNone") })]));
    el.report.appendChild(cited);

    const f = d.follow_ups || {};
    el.report.appendChild(section("ins-follow", "followUps", [h("p", { text: format(t("followUpsText"), {
      n: f.turns || 0, share: Math.round((f.share || 0) * 100) + "%" }) }),
      Object.keys(f.by || {}).length ? barsH(Object.keys(f.by).map(function (k) {
        return { label: t("fu_" + k) !== "fu_" + k ? t("fu_" + k) : k, value: f.by[k] };
      }), t("followUps")) : null]));
  }

  function load() {
    const token = get("session", KEY_TOKEN);
    if (!token) {
      S.data = null;
      S.error = "needToken";
      render();
      return;
    }
    S.error = "loading";
    render();
    fetch("/api/insights?since=" + encodeURIComponent(S.since), {
      headers: { Authorization: "Bearer " + token, Accept: "application/json" },
      cache: "no-store"
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (body) {
        if (res.status === 401) throw { key: "badToken" };
        if (res.status === 503 && /INSIGHTS_TOKEN/.test(body.error || "")) throw { key: "off" };
        if (!res.ok) throw { key: "failed", detail: body.error || res.status };
        return body;
      });
    }).then(function (body) {
      S.data = body;
      S.error = "";
      render();
    }).catch(function (e) {
      S.data = null;
      S.error = (e && e.key) || "failed";
      S.errorDetail = (e && e.detail) || (e && e.message) || "";
      render();
    });
  }

  function init() {
    const root = document.getElementById("insights");
    if (!root) return;
    const saved = get("local", KEY_LANG);
    S.lang = saved === "zh" || saved === "en" ? saved : /^zh/i.test(navigator.language || "") ? "zh" : "en";
    const m = /[?&]since=([0-9a-z]+)/i.exec(location.search || "");
    if (m && ["24h", "7d", "30d", "all"].indexOf(m[1]) >= 0) S.since = m[1];
    build(root);
    applyAll();
    load();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
