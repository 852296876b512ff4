// 12367 ONLINE agent console. Plain JS, no framework, no build step.
// Talks the agent protocol (docs/protocol.md, "Agent protocol") over /agent/ws.
// Every piece of text from visitors or the server is inserted with textContent, never as HTML.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const TOKEN_KEY = "12367.agent.token";
  const ACCEPT_KEY = "12367.agent.accepting";
  const ALERT_KEY = "12367.agent.alerts";

  const OPTION_NAMES = {
    port_clearance: "口岸通关 · Port clearance",
    entry_exit_documents: "出入境证件 · Entry-exit documents",
    comments_suggestions: "意见建议 · Comments",
  };
  const REASON_NAMES = {
    explicit_request: "访客要求人工 · asked for a person",
    complaint: "投诉 · complaint",
    comments_suggestions: "意见建议 · comments",
    low_confidence: "机器人无把握 · bot unsure",
    thumbs_down: "差评后转人工 · thumbs down",
  };
  const ERRORS = {
    bad_credentials: "用户名或密码错误 · Wrong username or password",
    locked: "登录失败次数过多，请稍后再试 · Too many failed logins; try again later",
    busy: "服务器繁忙，请稍后再试 · Server busy, try again in a moment",
    unauthorized: "登录已过期，请重新登录 · Session expired, log in again",
    already_claimed: "该对话已被其他坐席认领 · Another agent took this chat",
    at_capacity: "已达到最大并发对话数 · You are at your maximum number of chats",
    assist_unavailable: "知识库暂不可用 · Knowledge base not loaded",
    purged: "该对话内容已按数据保留规定删除 · This chat's content was removed under the retention policy",
  };

  const state = {
    ws: null, token: sessionStorage.getItem(TOKEN_KEY), agent: null, allQueues: [],
    snapshot: null, chats: new Map(), current: null, canned: [], tickets: [], overview: null,
    wanted: null, tab: "queues", seenWaiting: null, assistBusy: null, clockSkew: 0, retry: 0, loggedOut: false, typingTimer: null, typingOn: false,
  };

  // ------------------------------------------------------------------ small DOM helpers
  function el(tag, opts = {}, ...children) {
    const node = document.createElement(tag);
    if (opts.cls) node.className = opts.cls;
    if (opts.text !== undefined && opts.text !== null) node.textContent = String(opts.text);
    if (opts.title) node.title = opts.title;
    if (opts.data) for (const [k, v] of Object.entries(opts.data)) node.dataset[k] = v;
    if (opts.on) for (const [k, v] of Object.entries(opts.on)) node.addEventListener(k, v);
    for (const c of children) if (c) node.append(c);
    return node;
  }
  const clear = (node) => { while (node.firstChild) node.removeChild(node.firstChild); };
  const now = () => Date.now() / 1000 + state.clockSkew;
  function duration(s) {
    s = Math.max(0, Math.round(s));
    if (s < 60) return `${s}s`;
    if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
    return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  }
  // What the retention purge left of a chat or ticket (docs/security.md, "Data retention").
  function removedText(ts) {
    const day = new Date(ts * 1000).toISOString().slice(0, 10);
    return `内容已按数据保留规定于 ${day} 删除 · Content removed on ${day} under the retention policy`;
  }
  function langTag(lang, script) {
    // yue is the script replies are written in (Hong Kong characters): the visitor writes
    // Cantonese, or standard Chinese from a Hong Kong or Macao page; the transcript tells which.
    const name = lang === "en" ? "EN" : script === "yue" ? "繁(港)" : script === "zh-Hant" ? "繁" : "中";
    const title = script === "yue" ? "yue: Hong Kong characters" : script || lang;
    return el("span", { cls: `tag lang-${lang}`, text: name, title });
  }
  const queueName = (id) => {
    const q = state.allQueues.find((x) => x.id === id);
    return q ? `${q.zh} · ${q.en}` : id;
  };

  // ------------------------------------------------------------------ connection
  function connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${proto}//${location.host}/agent/ws`);
    state.ws = ws;
    setConn("连接中… · connecting…");
    ws.addEventListener("open", () => {
      state.retry = 0;
      setConn("");
      if (state.token) send({ type: "auth", token: state.token });
      else showLogin();
    });
    ws.addEventListener("message", (e) => {
      let frame;
      try { frame = JSON.parse(e.data); } catch { return; }
      const handler = HANDLERS[frame.type];
      if (handler) handler(frame);
    });
    ws.addEventListener("close", (e) => {
      if (state.loggedOut) return;
      if (e.code === 4401) { forgetToken(); showLogin(ERRORS.unauthorized); }
      setConn("已断开，正在重连… · disconnected, reconnecting…");
      const delay = Math.min(30000, 500 * 2 ** state.retry++) * (0.5 + Math.random() / 2);
      setTimeout(connect, delay);
    });
  }
  function send(frame) {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(frame));
  }
  function setConn(text) { $("conn-state").textContent = text; }
  function forgetToken() {
    state.token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(ACCEPT_KEY);
  }

  // ------------------------------------------------------------------ frames from the server
  const HANDLERS = {
    auth_ok(f) {
      if (f.token) { state.token = f.token; sessionStorage.setItem(TOKEN_KEY, f.token); }
      state.agent = f.agent;
      state.allQueues = f.all_queues || state.allQueues;
      $("login-view").hidden = true;
      $("work-view").hidden = false;
      $("me").hidden = false;
      $("me-name").textContent = `${f.agent.name} (${f.agent.username}) · ${f.agent.role === "supervisor" ? "主管 supervisor" : "坐席 agent"}`;
      $("tab-supervisor").hidden = f.agent.role !== "supervisor";
      $("login-error").textContent = "";
      // After a reconnect (or a server restart) the agent is accepting again if they were.
      if (sessionStorage.getItem(ACCEPT_KEY) === "1") send({ type: "accepting", on: true });
    },
    error(f) {
      const text = ERRORS[f.code] || f.message || f.code;
      if (!state.agent || ["bad_credentials", "locked", "busy", "unauthorized"].includes(f.code)) {
        if (f.code === "unauthorized") { forgetToken(); state.agent = null; }
        const wait = f.retry_after ? ` (${duration(f.retry_after)})` : "";
        showLogin(text + wait);
      } else {
        if (state.assistBusy !== null && ["assist_unavailable", "empty"].includes(f.code)) {
          state.assistBusy = null;
          $("assist").removeAttribute("aria-busy");
          $("assist-query").textContent = text;
        }
        flash(text);
      }
    },
    // After the first full snapshot the server sends only what changed (docs/protocol.md).
    queues_delta(f) {
      const snap = state.snapshot;
      if (!snap) return;
      const gone = new Set([...f.remove, ...f.upsert.map((c) => c.id)]);
      snap.mine = snap.mine.filter((c) => !gone.has(c.id));
      const byId = new Map();
      for (const q of snap.queues) { q.waiting = q.waiting.filter((c) => !gone.has(c.id)); byId.set(q.id, q); }
      for (const c of f.upsert) {
        if (c.status === "queued" && byId.has(c.queue)) byId.get(c.queue).waiting.push(c);
        else if (c.status === "agent") snap.mine.push(c);
      }
      for (const q of snap.queues) {
        q.waiting.sort((a, b) => a.waiting_since - b.waiting_since || a.id - b.id);
        q.waiting.forEach((c, i) => { c.position = i + 1; });
      }
      HANDLERS.queues({ ...snap, now: f.now, accepting: f.accepting, online_agents: f.online_agents });
    },
    queues(f) {
      state.snapshot = f;
      state.clockSkew = f.now - Date.now() / 1000;
      $("accepting").checked = !!f.accepting;
      const waiting = new Set(f.queues.flatMap((q) => q.waiting.map((c) => c.id)));
      const mine = new Map(f.mine.map((c) => [c.id, c]));
      for (const [id, chat] of state.chats) {
        if (mine.has(id)) chat.info = { ...chat.info, ...mine.get(id) };
        // (a past chat opened from search or history stays open)
        else if (!waiting.has(id) && state.agent.role !== "supervisor" && ["queued", "agent"].includes(chat.info.status)) state.chats.delete(id);
      }
      if (state.current !== null && !state.chats.has(state.current)) state.current = null;
      renderQueues();
      renderChat();
      renderTransferTargets();
      alertNewChats(f);
    },
    chat(f) {
      state.chats.set(f.chat.id, { info: f.chat, transcript: f.transcript, notes: f.notes || [],
        history: f.history || [], tickets: f.tickets || [] });
      // Open it when nothing is open or the agent asked for it; an auto-assigned chat never
      // pulls the agent away from the chat they are typing in.
      if (state.current === null || state.wanted === f.chat.id) {
        state.current = f.chat.id;
        state.wanted = null;
      }
      renderQueues();
      renderChat();
    },
    event(f) {
      const chat = state.chats.get(f.chat);
      if (!chat) return;
      if (!chat.transcript.some((e) => e.seq === f.event.seq)) chat.transcript.push(f.event);
      if (f.event.type === "visitor") chat.typing = false;
      if (state.current === f.chat) renderChat();
    },
    typing(f) {
      const chat = state.chats.get(f.chat);
      if (chat) chat.typing = f.on;
      if (state.current === f.chat) $("visitor-typing").hidden = !f.on;
    },
    released(f) {
      state.chats.delete(f.chat);
      if (state.current === f.chat) {
        state.current = null;
        $("assist-list").replaceChildren();
        $("assist-query").textContent = "";
      }
      renderQueues();
      renderChat();
    },
    sent() { $("reply-text").value = ""; },
    assist(f) { state.assistBusy = null; renderAssist(f); },
    notes(f) {
      const chat = state.chats.get(f.chat);
      if (chat) chat.notes = f.notes;
      if (state.current === f.chat) { $("note-text").value = ""; renderChat(); }
    },
    search(f) { renderSearch(f); },
    canned(f) { state.canned = f.replies; renderCanned(); },
    tickets(f) { state.tickets = f.tickets; renderTickets(); },
    ticket_done() { flash("已回复 · Reply sent"); },
    overview(f) { state.overview = f; renderOverview(); },
    logged_out() { forgetToken(); },
    pong() {},
  };

  function showLogin(message) {
    $("work-view").hidden = true;
    $("me").hidden = true;
    $("login-view").hidden = false;
    $("login-error").textContent = message || "";
  }
  function flash(text) {
    setConn(text);
    setTimeout(() => { if ($("conn-state").textContent === text) setConn(""); }, 5000);
  }

  // ------------------------------------------------------------------ rendering
  function chatCard(c, { claim }) {
    const meta = el("div", { cls: "meta" }, langTag(c.visitor_lang || c.lang, c.script),
      el("span", { text: OPTION_NAMES[c.business_option] || "" }),
      el("span", { text: c.region_zh ? ` · ${c.city || c.region_zh}` : c.overseas ? " · 境外 overseas" : "" }));
    const li = el("li", { data: { chat: c.id } }, meta,
      el("div", { cls: "summary", text: c.summary || c.last_text || "" }));
    if (c.last_text && c.last_text !== c.summary) li.append(el("div", { cls: "meta", text: `“${c.last_text}”` }));
    const wait = el("div", { cls: "meta wait", data: { since: claim ? c.waiting_since : c.claimed_at || c.waiting_since,
      label: claim ? "等待 waiting" : "接入 with you" } });
    li.append(el("div", { cls: "meta", text: REASON_NAMES[c.reason] || c.reason || "" }), wait);
    if (c.leaving_message) li.append(el("span", { cls: "tag warn", text: "正在留言 · leaving a message" }));
    if (c.online === false) li.append(el("span", { cls: "tag warn offline", text: "访客已离线 · visitor offline" }));
    if (claim) {
      const actions = el("div", { cls: "actions" });
      const btn = el("button", { cls: "primary claim", text: "认领 · Claim",
        on: { click: (e) => { e.stopPropagation(); state.wanted = c.id; send({ type: "claim", chat: c.id }); } } });
      if (c.eligible === false) { btn.disabled = true; btn.title = "语言不符 · language skill missing"; }
      actions.append(btn, el("button", { text: "查看 · View",
        on: { click: (e) => { e.stopPropagation(); state.wanted = c.id; send({ type: "view", chat: c.id }); } } }));
      li.append(actions);
    } else {
      li.addEventListener("click", () => { state.current = c.id; renderQueues(); renderChat(); });
    }
    if (state.current === c.id) li.classList.add("current");
    return li;
  }

  function renderQueues() {
    const snap = state.snapshot;
    if (!snap) return;
    const mine = $("mine");
    clear(mine);
    for (const c of snap.mine) mine.append(chatCard(c, { claim: false }));
    if (!snap.mine.length) mine.append(el("li", { cls: "meta", text: "暂无 · none" }));
    const box = $("queues");
    clear(box);
    for (const q of snap.queues) {
      if (!q.waiting.length) continue;
      const list = el("ul", { cls: "list" });
      for (const c of q.waiting) list.append(chatCard(c, { claim: true }));
      box.append(el("div", { cls: "queue", data: { queue: q.id } },
        el("h3", { text: `${q.zh} · ${q.en} ` }, el("span", { cls: "count", text: `(${q.waiting.length})` })), list));
    }
    if (!box.firstChild) box.append(el("p", { cls: "meta", text: "无人等待 · Nobody is waiting" }));
    tick();
  }

  function tick() {
    for (const node of document.querySelectorAll(".wait[data-since]")) {
      node.textContent = `${node.dataset.label} ${duration(now() - Number(node.dataset.since))}`;
    }
  }

  // Whether the visitor agreed that agents see their numbers and dates unmasked (bot/consent.py).
  const CONSENT_TEXT = {
    true: "访客已同意：显示完整信息 · Details shown in full: the visitor agreed",
    false: "访客未同意：信息已遮盖 · Details masked: the visitor declined",
    null: "信息已遮盖 · Details masked",
  };

  /** The service form the visitor left for a person: the service, what was given (masked by the
   *  server: bot/form_summary.py) and the question that was pending. */
  function renderForm(form) {
    const box = $("form-state");
    box.hidden = !form;
    if (!form) return;
    $("form-service").textContent = `${form.name.zh} · ${form.name.en}`;
    const list = $("form-fields");
    clear(list);
    for (const f of form.fields) list.append(el("dt", { text: `${f.label.zh} · ${f.label.en}` }), el("dd", { text: f.value }));
    if (form.asking) list.append(el("dt", { text: "正在询问 · Was asking" }), el("dd", { text: `${form.asking.zh} · ${form.asking.en}` }));
  }

  function renderChat() {
    const chat = state.current !== null ? state.chats.get(state.current) : null;
    const overview = state.tab === "supervisor";  // the supervisor tables take the centre
    $("empty-chat").hidden = !!chat || overview;
    $("chat").hidden = !chat || overview;
    $("tools").hidden = !chat || overview;
    if (!chat || overview) return;
    const c = chat.info;
    const mineNow = c.status === "agent" && c.owner === state.agent.username;
    const head = $("chat-head");
    clear(head);
    head.append(
      el("div", { cls: "title" }, langTag(c.visitor_lang || c.lang, c.script),
        el("span", { text: `#${c.id} · ${queueName(c.queue)}` })),
      el("div", { cls: "meta", text: [OPTION_NAMES[c.business_option], c.city || c.region_zh,
        c.overseas ? "境外 overseas" : null, REASON_NAMES[c.reason] || c.reason,
        c.online ? "在线 online" : "离线 offline"].filter(Boolean).join(" · ") }),
      el("div", { cls: "meta", text: `摘要 Summary: ${c.summary || "—"}` }),
      el("div", { cls: "meta consent", text: CONSENT_TEXT[String(c.consent)] || CONSENT_TEXT.null }));
    const list = $("transcript");
    clear(list);
    if (c.purged_at) list.append(el("li", { cls: "msg system purged", text: removedText(c.purged_at) }));
    $("note-form").hidden = !!c.purged_at;
    let lastState = "";
    for (const e of chat.transcript) {
      if (e.type === "state") {
        // Queue position updates repeat while the visitor waits; show each change once.
        const key = `${e.state}:${e.position || ""}:${e.agent || ""}`;
        if (key === lastState) continue;
        lastState = key;
      }
      list.append(renderEvent(e));
    }
    list.scrollTop = list.scrollHeight;
    $("visitor-typing").hidden = !chat.typing;
    $("composer").hidden = !mineNow;
    $("claim-bar").hidden = c.status !== "queued";
    for (const id of ["transfer", "handback", "resolve", "assist"]) $(id).disabled = !mineNow && state.agent.role !== "supervisor";
    renderForm(c.form);
    const notes = $("notes");
    clear(notes);
    for (const n of chat.notes) {
      const kind = n.kind === "note" ? "内部 private" : n.kind;
      notes.append(el("li", { cls: `note-${n.kind}`, text: `${n.author} (${kind}) ${time(new Date(n.ts * 1000).toISOString())}: ${n.text}` }));
    }
    if (!chat.notes.length) notes.append(el("li", { cls: "meta", text: "—" }));
    const hist = $("history");
    clear(hist);
    for (const h of chat.history || []) {
      const when = new Date(h.waiting_since * 1000).toLocaleString();
      hist.append(el("li", {}, el("button", { cls: "link", text: `#${h.id}`, title: "查看 · View",
        on: { click: () => { state.wanted = h.id; send({ type: "view", chat: h.id }); } } }),
      el("span", { text: ` ${when} · ${h.outcome || h.status}${h.owner ? " · " + h.owner : ""} · ${h.purged_at ? removedText(h.purged_at) : h.summary || ""}` })));
    }
    for (const t of chat.tickets || []) {
      hist.append(el("li", { text: `留言 Ticket ${t.ref || "#" + t.id} · ${t.status === "closed" ? "已回复 answered" : "待回复 open"}: ${t.purged_at ? removedText(t.purged_at) : t.text}` }));
    }
    if (!hist.firstChild) hist.append(el("li", { cls: "meta", text: "首次咨询 · first contact" }));
    renderCanned();
  }

  function renderEvent(e) {
    if (e.type === "visitor") {
      const li = el("li", { cls: "msg visitor" }, el("span", { cls: "who", text: `访客 Visitor · ${time(e.ts)}` }),
        el("span", { text: e.text }));
      if (e.meta && e.meta.intent) {
        const conf = typeof e.meta.confidence === "number" ? ` ${(e.meta.confidence * 100).toFixed(0)}%` : "";
        const ents = (e.meta.entities || []).map((x) => `${x.type}=${x.value}`).join(", ");
        li.append(el("span", { cls: "nlu", text: `NLU: ${e.meta.intent}${conf}${ents ? " · " + ents : ""}` }));
      }
      return li;
    }
    if (e.type === "reply") {
      const who = e.from === "agent" ? `坐席 ${(e.meta && e.meta.agent) || "agent"}` : e.from === "bot" ? "机器人 Bot" : "系统 System";
      const li = el("li", { cls: `msg ${e.from}` }, el("span", { cls: "who", text: `${who} · ${time(e.ts)}` }),
        el("span", { text: e.text }));
      const choices = (e.quick_replies || []).map((q) => q.label).filter(Boolean);
      if (choices.length) {
        // What the visitor was offered ("Which of these do you mean?"), as they saw it.
        const box = el("span", { cls: "choices", text: "选项 Choices: " });
        for (const label of choices) box.append(el("span", { cls: "tag choice", text: label }));
        li.append(box);
      }
      return li;
    }
    if (e.type === "state") {
      const extra = e.state === "queued" && e.position ? ` #${e.position}` : e.agent ? ` ${e.agent}` : "";
      return el("li", { cls: "msg state", text: `— ${e.state}${extra} —` });
    }
    return el("li", { cls: "msg state", text: e.type });
  }
  function time(ts) { return ts ? String(ts).slice(11, 19) : ""; }

  function renderTransferTargets() {
    const sel = $("transfer-target");
    const keep = sel.value;
    clear(sel);
    const gq = el("optgroup");
    gq.label = "队列 Queues";
    for (const q of state.allQueues) {
      const o = el("option", { text: `${q.zh} · ${q.en}` });
      o.value = `queue:${q.id}`;
      gq.append(o);
    }
    const ga = el("optgroup");
    ga.label = "在线坐席 Online agents";
    for (const a of (state.snapshot && state.snapshot.online_agents) || []) {
      if (a.username === state.agent.username) continue;
      const o = el("option", { text: `${a.name} (${a.langs.join(",")})` });
      o.value = `agent:${a.username}`;
      ga.append(o);
    }
    sel.append(gq, ga);
    if (keep) sel.value = keep;
  }

  function renderAssist(f) {
    const list = $("assist-list");
    clear(list);
    $("assist-query").textContent = "";
    if (f.chat !== state.current) return;
    $("assist-query").textContent = `问题 Question: ${f.query} → ${f.lang === "en" ? "English" : "中文"}`;
    $("assist").removeAttribute("aria-busy");
    if (!f.answers.length) $("assist-query").textContent += " · 没有找到答案 No answer found";
    for (const a of f.answers) {
      const li = el("li", {}, el("div", { cls: "title", text: a.title }),
        el("div", { cls: "short", text: a.short || "" }));
      const src = (a.sources || []).map((s) => s.title || s.ref).filter(Boolean).join("; ");
      if (src) li.append(el("div", { cls: "src", text: `依据 Source: ${src}` }));
      li.append(el("button", { cls: "insert", text: "插入 · Insert",
        on: { click: () => insert(a.text || a.short || "") } }));
      list.append(li);
    }
  }

  function renderCanned() {
    const box = $("canned");
    clear(box);
    const chat = state.current !== null ? state.chats.get(state.current) : null;
    const lang = chat ? chat.info.visitor_lang || chat.info.lang : "zh";
    for (const r of state.canned) {
      const main = lang === "en" ? r.en : r.zh;
      const alt = lang === "en" ? r.zh : r.en;
      const btn = el("button", { data: { canned: r.id }, title: alt,
        on: { click: () => insert(main) } },
      el("span", { text: `${r.title_zh} · ${r.title_en}` }), el("span", { cls: "alt", text: main }));
      box.append(el("li", {}, btn));
    }
  }

  function renderTickets() {
    const box = $("tickets");
    clear(box);
    $("ticket-count").textContent = state.tickets.length ? String(state.tickets.length) : "";
    for (const t of state.tickets) {
      const input = el("textarea", { cls: "ticket-reply" });
      input.rows = 2;
      input.placeholder = "回复 · Reply";
      input.setAttribute("aria-label", `回复留言 ${t.ref || "#" + t.id} · Reply to message ${t.ref || "#" + t.id}`);
      const li = el("li", {}, el("div", { cls: "meta" }, langTag(t.lang),
        el("span", { text: `${t.ref || "#" + t.id} · ${queueName(t.queue_id)} · ${new Date(t.created_at * 1000).toLocaleString()}` })),
      el("div", { cls: "summary", text: t.text }), input,
      el("button", { text: "回复并关闭 · Reply & close", on: { click: () => {
        const text = input.value.trim();
        if (text) send({ type: "ticket_reply", ticket: t.id, text });
      } } }));
      box.append(li);
    }
    if (!state.tickets.length) box.append(el("li", { cls: "meta", text: "暂无留言 · No messages" }));
  }

  function renderOverview() {
    const o = state.overview;
    const qb = $("sup-queues").tBodies[0];
    clear(qb);
    for (const q of o.queues) {
      qb.append(el("tr", {}, el("td", { text: `${q.zh} · ${q.en}` }), el("td", { text: q.waiting }),
        el("td", { text: q.waiting ? duration(q.oldest_wait_s) : "—" }), el("td", { text: q.active }),
        el("td", { text: q.agents_online })));
    }
    const ab = $("sup-agents").tBodies[0];
    clear(ab);
    for (const a of o.agents) {
      const status = a.disabled ? "停用 disabled" : a.online ? (a.accepting ? "接单 accepting" : "在线 online") : "离线 offline";
      const load = el("td", { text: `${a.load}/${a.max_chats} ` });
      for (const id of a.chats) {
        // Supervisors can open any agent's chat (to monitor it, or transfer it if the agent left).
        load.append(el("button", { cls: "chip", text: `#${id}`, title: "查看 · View",
          on: { click: () => { state.wanted = id; send({ type: "view", chat: id });
            document.querySelector('[data-tab="queues"]').click(); } } }));
      }
      ab.append(el("tr", {}, el("td", { text: `${a.name} (${a.username})` }), el("td", { text: a.role }),
        el("td", { cls: a.online ? "online" : "offline", text: status }), load,
        el("td", { text: a.langs.join(",") })));
    }
  }

  function renderSearch(f) {
    $("search-results").hidden = false;
    const list = $("search-list");
    clear(list);
    for (const c of f.chats) {
      const when = new Date(c.waiting_since * 1000).toLocaleString();
      list.append(el("li", {}, el("div", { cls: "meta" }, langTag(c.lang),
        el("span", { text: `#${c.id} · ${queueName(c.queue)} · ${when} · ${c.outcome || c.status}` })),
      el("div", { cls: "summary", text: c.snippet || c.summary }),
      el("button", { text: "查看 · View", on: { click: () => { state.wanted = c.id; send({ type: "view", chat: c.id }); } } })));
    }
    for (const t of f.tickets) {
      list.append(el("li", {}, el("div", { cls: "meta" }, langTag(t.lang),
        el("span", { text: `留言 Ticket ${t.ref || "#" + t.id} · ${t.status === "closed" ? "已回复 answered" : "待回复 open"}` })),
      el("div", { cls: "summary", text: t.purged_at ? removedText(t.purged_at) : t.text }),
      t.reply ? el("div", { cls: "meta", text: `回复 Reply: ${t.reply}` }) : null));
    }
    if (!list.firstChild) list.append(el("li", { cls: "meta", text: `没有找到“${f.query}” · Nothing found for “${f.query}”` }));
  }

  /** Opt-in: a short tone and a desktop notification when a new chat waits in my queues. */
  function alertNewChats(f) {
    const ids = new Set(f.queues.flatMap((q) => q.waiting.map((c) => c.id)));
    const before = state.seenWaiting;
    state.seenWaiting = ids;
    if (before === null || !$("alerts").checked) return;
    const fresh = f.queues.flatMap((q) => q.waiting).filter((c) => !before.has(c.id));
    if (!fresh.length) return;
    window.__consoleAlerts = (window.__consoleAlerts || 0) + 1;  // read by the browser test
    try {
      const ctx = new (window.AudioContext || window.webkitAudioContext)();
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      gain.gain.value = 0.08;
      osc.frequency.value = 880;
      osc.connect(gain).connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.25);
    } catch { /* no audio: the notification still shows */ }
    if (window.Notification && Notification.permission === "granted") {
      const c = fresh[0];
      new Notification("12367 ONLINE: 新对话 · New chat", { body: `#${c.id} ${c.summary || c.last_text || ""}`, tag: `chat-${c.id}` });
    }
  }

  function insert(text) {
    const box = $("reply-text");
    box.value = box.value ? `${box.value}\n${text}` : text;
    box.focus();
  }

  // ------------------------------------------------------------------ user actions
  $("login-form").addEventListener("submit", (e) => {
    e.preventDefault();
    state.loggedOut = false;
    send({ type: "login", username: $("username").value.trim(), password: $("password").value });
    $("password").value = "";
  });
  $("logout").addEventListener("click", () => {
    state.loggedOut = true;
    send({ type: "logout" });
    forgetToken();
    state.agent = null;
    state.chats.clear();
    state.current = null;
    showLogin();
    setTimeout(() => { state.loggedOut = false; connect(); }, 300);
  });
  $("accepting").addEventListener("change", (e) => {
    sessionStorage.setItem(ACCEPT_KEY, e.target.checked ? "1" : "0");
    send({ type: "accepting", on: e.target.checked });
  });
  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("reply-text").value.trim();
    if (!text || state.current === null) return;
    send({ type: "send", chat: state.current, text, id: `a-${Date.now()}` });
    stopTyping();
  });
  $("reply-text").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); $("composer").requestSubmit(); }
  });
  $("reply-text").addEventListener("input", () => {
    if (state.current === null) return;
    if (!state.typingOn) { state.typingOn = true; send({ type: "typing", chat: state.current, on: true }); }
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(stopTyping, 3000);
  });
  function stopTyping() {
    clearTimeout(state.typingTimer);
    if (state.typingOn && state.current !== null) send({ type: "typing", chat: state.current, on: false });
    state.typingOn = false;
  }
  $("claim-open").addEventListener("click", () => { state.wanted = state.current; send({ type: "claim", chat: state.current }); });
  $("assist").addEventListener("click", () => {
    // The answer takes a moment: say so, then show the answers or "no answer".
    state.assistBusy = state.current;
    clear($("assist-list"));
    $("assist").setAttribute("aria-busy", "true");
    $("assist-query").replaceChildren(el("span", { cls: "spinner", title: "" }), "正在查找… · Searching…");
    send({ type: "assist", chat: state.current });
  });
  $("note-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("note-text").value.trim();
    if (text && state.current !== null) send({ type: "note", chat: state.current, text });
  });
  $("search-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const query = $("search-q").value.trim();
    if (query.length >= 2) send({ type: "search", query });
  });
  $("search-close").addEventListener("click", () => { $("search-results").hidden = true; });
  $("alerts").checked = localStorage.getItem(ALERT_KEY) === "1";
  $("alerts").addEventListener("change", (e) => {
    localStorage.setItem(ALERT_KEY, e.target.checked ? "1" : "0");
    if (e.target.checked && window.Notification && Notification.permission === "default") Notification.requestPermission();
  });
  // Keyboard shortcuts: Alt+C claim (the open waiting chat, else the oldest I may take),
  // Alt+T transfer, Alt+R resolve, Alt+H hand back, Alt+S suggest answers, / search.
  document.addEventListener("keydown", (e) => {
    if (!state.agent) return;
    const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement && document.activeElement.tagName);
    if (e.key === "/" && !typing && !e.altKey && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      $("search-q").focus();
      return;
    }
    if (!e.altKey || e.ctrlKey || e.metaKey) return;
    const key = e.key.toLowerCase();
    const click = (id) => { if (!$(id).disabled && !$("tools").hidden) $(id).click(); };
    if (key === "c" || e.code === "KeyC") {
      e.preventDefault();
      const open = state.current !== null && state.chats.get(state.current);
      let target = open && open.info.status === "queued" ? state.current : null;
      if (target === null && state.snapshot) {
        const next = state.snapshot.queues.flatMap((q) => q.waiting).filter((c) => c.eligible !== false)
          .sort((a, b) => a.waiting_since - b.waiting_since)[0];
        target = next ? next.id : null;
      }
      if (target !== null) { state.wanted = target; send({ type: "claim", chat: target }); }
    } else if (key === "t" || e.code === "KeyT") { e.preventDefault(); click("transfer"); }
    else if (key === "r" || e.code === "KeyR") { e.preventDefault(); click("resolve"); }
    else if (key === "h" || e.code === "KeyH") { e.preventDefault(); click("handback"); }
    else if (key === "s" || e.code === "KeyS") { e.preventDefault(); click("assist"); }
  });
  $("transfer").addEventListener("click", () => {
    const [kind, target] = $("transfer-target").value.split(/:(.*)/s);
    const note = $("transfer-note").value.trim();
    const frame = { type: "transfer", chat: state.current, [kind]: target };
    if (note) frame.note = note;
    send(frame);
    $("transfer-note").value = "";
  });
  $("handback").addEventListener("click", () => send({ type: "handback", chat: state.current }));
  $("resolve").addEventListener("click", () => send({ type: "resolve", chat: state.current }));
  for (const tab of document.querySelectorAll("[data-tab]")) {
    tab.addEventListener("click", () => {
      for (const t of document.querySelectorAll("[data-tab]")) t.classList.toggle("active", t === tab);
      state.tab = tab.dataset.tab;
      $("panel-queues").hidden = !["queues", "supervisor"].includes(state.tab);
      $("panel-tickets").hidden = state.tab !== "tickets";
      $("panel-supervisor").hidden = state.tab !== "supervisor";
      renderChat();
      if (tab.dataset.tab === "supervisor") send({ type: "overview" });
      if (tab.dataset.tab === "tickets") send({ type: "tickets" });
    });
  }
  setInterval(tick, 1000);
  setInterval(() => send({ type: "ping" }), 25000);
  connect();
})();
