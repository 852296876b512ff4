/*! 12367 ONLINE visitor widget. Apache-2.0.
 * One script tag adds the <nia-chat> Web Component (Shadow DOM, no framework):
 *   <script src="http://HOST/widget.js" data-server="ws://HOST/ws" data-lang="zh"
 *           data-color="#0b5cad" async></script>
 * The same element in mode="fullscreen" is the mobile page (/m). Protocol: docs/protocol.md.
 * Message text is only ever inserted with textContent / Text nodes, never parsed as HTML.
 */
(() => {
  'use strict';
  if (window.customElements === undefined || customElements.get('nia-chat')) return;

  const SCRIPT = document.currentScript;
  const MAX_CHARS = 2000;
  const MAX_STORED_EVENTS = 300;
  const BACKOFF_BASE_MS = 500;
  const BACKOFF_CAP_MS = 8000;
  const PING_EVERY_MS = 25000;
  const PONG_WITHIN_MS = 10000;
  const TYPING_SHOWN_MS = 15000;
  const QUICK_REPLIES_AS_BUTTONS = 8;

  const TEXT = {
    zh: {
      launcher: '12367 ONLINE', launcherSub: '在线咨询',
      title: '12367 ONLINE', subtitle: '移民管理服务在线咨询', dialog: '12367 在线咨询',
      connecting: '正在连接…', online: '已连接', starting: '智能助手启动中，稍后即为您解答', offline: '连接中断，{s} 秒后重试',
      offlineNow: '网络已断开，恢复后自动重连', retry: '立即重试', movedStatus: '已转到手机',
      minimize: '最小化聊天窗口', langToggle: 'English', langLabel: 'Switch to English', otherLang: 'en',
      phone: '手机', phoneLabel: '在手机上继续咨询', save: '下载', saveLabel: '下载聊天记录（文本文件）',
      end: '结束', endLabel: '结束本次咨询', endConfirm: '确认结束？',
      log: '聊天记录', emptyLog: '您好！请输入您想咨询的问题。', input: '输入您的问题', placeholder: '请输入您的问题',
      send: '发送', you: '您', bot: '12367 智能助手', agent: '人工客服', system: '系统消息',
      tooLong: '消息不能超过 2000 个字符（当前 {n} 个），请删减或分段发送。',
      sending: '发送中…', waitingNet: '等待网络，恢复后自动发送', notSent: '未发送：{m}',
      typingBot: '智能助手正在输入…', typingAgent: '人工客服正在输入…',
      sources: '依据', helpful: '有帮助', notHelpful: '没有帮助', feedbackThanks: '感谢您的反馈',
      sourcesN: '来源（{n}）', details: '详细说明',
      choose: '请选择', chooseSend: '确定',
      queued: '正在为您转接人工客服：您排在第 {n} 位，预计等待{eta}。',
      queuedNoPos: '正在为您转接人工客服，请稍候。', queuedNoEta: '目前没有在线的人工客服：您排在第 {n} 位，客服上线后按顺序接待。您也可以留言或拨打 12367 服务热线。', etaMin: '约 {m} 分钟', etaSoon: '不到 1 分钟',
      agentState: '人工客服{name}已接入，正在为您服务。', closed: '本次咨询已结束。',
      rateTitle: '请为本次服务评分', star: '{n} 星（满分 5 星）', comment: '意见或建议（可选）',
      rateSubmit: '提交评价', rated: '感谢您的评价！', newChat: '开始新的咨询',
      transferTitle: '用手机扫码，继续本次咨询', transferLink: '或在手机上打开以下链接：',
      transferValid: '{s} 秒内有效，只能使用一次。', transferExpired: '二维码已过期。',
      transferNew: '重新生成', transferClose: '关闭', qrAlt: '继续本次咨询的二维码',
      transferOffline: '当前未连接，连接后才能生成二维码。',
      moved: '本次咨询已转到您的手机上继续。',
      expiredSession: '之前的会话已过期，已为您开始新的咨询。',
      badTransfer: '二维码已失效或已被使用，已为您开始新的咨询。',
      rateLimited: '发送太频繁，请稍候再试。', closedError: '本次咨询已结束，请开始新的咨询。',
      newMessages: '{n} 条新消息',
      transcript: '12367 ONLINE 聊天记录', exported: '导出时间',
    },
    en: {
      launcher: '12367 ONLINE', launcherSub: 'Chat with us',
      title: '12367 ONLINE', subtitle: 'Immigration service chat', dialog: '12367 ONLINE chat',
      connecting: 'Connecting…', online: 'Connected', starting: 'Assistant starting: your answer is on its way', offline: 'Connection lost, retrying in {s} s',
      offlineNow: 'You are offline; reconnecting when the network is back', retry: 'Retry now',
      movedStatus: 'Moved to your phone',
      minimize: 'Minimize chat', langToggle: '中文', langLabel: '切换到中文', otherLang: 'zh-CN',
      phone: 'Phone', phoneLabel: 'Continue on your phone', save: 'Save',
      saveLabel: 'Save the transcript (text file)',
      end: 'End', endLabel: 'End this chat', endConfirm: 'End chat?',
      log: 'Conversation', emptyLog: 'Hello! Type the question you have.', input: 'Your question', placeholder: 'Type your question',
      send: 'Send', you: 'You', bot: '12367 Assistant', agent: 'Agent', system: 'System notice',
      tooLong: 'Messages can be at most 2,000 characters (this one has {n}). Please shorten or split it.',
      sending: 'Sending…', waitingNet: 'Waiting for the connection; it will be sent automatically',
      notSent: 'Not sent: {m}',
      typingBot: 'The assistant is typing…', typingAgent: 'The agent is typing…',
      sources: 'Sources', helpful: 'Helpful', notHelpful: 'Not helpful',
      sourcesN: 'Sources ({n})', details: 'Details',
      feedbackThanks: 'Thanks for your feedback',
      choose: 'Please choose', chooseSend: 'OK',
      queued: 'Connecting you to an agent: you are number {n} in the queue, estimated wait {eta}.',
      queuedNoPos: 'Connecting you to an agent, please wait.',
      queuedNoEta: 'No agent is online right now: you are number {n} in line and will be answered in order. You can also leave a message or call the 12367 hotline.', etaMin: 'about {m} min',
      etaSoon: 'under a minute',
      agentState: 'An agent{name} has joined and is helping you.', closed: 'This chat has ended.',
      rateTitle: 'How was this chat?', star: '{n} out of 5 stars', comment: 'Comments (optional)',
      rateSubmit: 'Submit rating', rated: 'Thank you for your rating!', newChat: 'Start a new chat',
      transferTitle: 'Scan with your phone to continue this chat',
      transferLink: 'Or open this link on your phone:',
      transferValid: 'Valid for {s} s, one use only.', transferExpired: 'The code has expired.',
      transferNew: 'New code', transferClose: 'Close', qrAlt: 'QR code to continue this chat',
      transferOffline: 'Not connected; the code can be made once the chat reconnects.',
      moved: 'This chat has moved to your phone.',
      expiredSession: 'Your earlier chat has expired; a new one has started.',
      badTransfer: 'That code has expired or was already used; a new chat has started.',
      rateLimited: 'Too many messages, please wait a moment.',
      closedError: 'This chat has ended. Please start a new one.',
      newMessages: '{n} new messages',
      transcript: '12367 ONLINE chat transcript', exported: 'Exported',
    },
  };

  /* The online services' controls (docs/services.md, "In the widget") are labelled in the reply's
   * own script, like the reply they belong to, not in the panel's language. */
  const SERVICE_TEXT = {
    en: {
      service: 'Choose the application', city: 'Choose the city', office: 'Choose the office',
      date: 'Choose the day', time: 'Choose a time', confirm: 'Check and confirm',
      otherDay: 'Another day', pickDay: 'Choose', notBookable: '{d} cannot be booked: choose one of the working days offered.',
      free: '{n} free', freeLabel: '{t}, {n} seats free', bookable: 'Bookable days: {a} to {b}',
      booked: 'Appointment booked', rescheduled: 'Appointment rescheduled', cancelled: 'Appointment cancelled',
      reference: 'Reference', officeName: 'Office', day: 'Date', at: 'Time', applicant: 'Applicant', helper: 'Helper',
      passport: 'passport', download: 'Download the e-document (PDF)', verify: 'Verify it online', code: 'Verification code',
      edoc: 'Passport e-document', guide: 'Checklist', guideDownload: 'Download the checklist (PDF)',
      birth: 'Date of birth', sendBirth: 'Send', badBirth: '{d} is not a possible date of birth.',
      badDate: 'This date is not complete or does not exist: enter the day, month and year of a real date.',
      guidePick: 'Choose a procedure', consentPick: 'May the agent see your details in full?',
    },
    'zh-Hans': {
      service: '请选择办理业务', city: '请选择城市', office: '请选择办证地点',
      date: '请选择日期', time: '请选择时段', confirm: '请核对并确认',
      otherDay: '其他日期', pickDay: '选择', notBookable: '{d}不可预约，请选择可预约的工作日。',
      free: '余 {n}', freeLabel: '{t}，剩余 {n} 个名额', bookable: '可预约日期：{a} 至 {b}',
      booked: '预约成功', rescheduled: '已改期', cancelled: '预约已取消',
      reference: '预约号', officeName: '办证地点', day: '日期', at: '时间', applicant: '申请人', helper: '帮办人',
      passport: '护照', download: '下载电子文书（PDF）', verify: '在线核验', code: '核验码',
      edoc: '护照信息电子文书', guide: '材料清单', guideDownload: '下载材料清单（PDF）',
      birth: '出生日期', sendBirth: '发送', badBirth: '{d}不是有效的出生日期。',
      badDate: '日期不完整或不存在：请填写真实日期的年、月、日。',
      guidePick: '请选择办理事项', consentPick: '是否同意客服查看完整信息？',
    },
    'zh-Hant': {
      service: '請選擇辦理業務', city: '請選擇城市', office: '請選擇辦證地點',
      date: '請選擇日期', time: '請選擇時段', confirm: '請核對並確認',
      otherDay: '其他日期', pickDay: '選擇', notBookable: '{d}不可預約，請選擇可預約的工作日。',
      free: '餘 {n}', freeLabel: '{t}，剩餘 {n} 個名額', bookable: '可預約日期：{a} 至 {b}',
      booked: '預約成功', rescheduled: '已改期', cancelled: '預約已取消',
      reference: '預約號', officeName: '辦證地點', day: '日期', at: '時間', applicant: '申請人', helper: '幫辦人',
      passport: '護照', download: '下載電子文書（PDF）', verify: '在線核驗', code: '核驗碼',
      edoc: '護照信息電子文書', guide: '材料清單', guideDownload: '下載材料清單（PDF）',
      birth: '出生日期', sendBirth: '發送', badBirth: '{d}不是有效的出生日期。',
      badDate: '日期不完整或不存在：請填寫真實日期的年、月、日。',
      guidePick: '請選擇辦理事項', consentPick: '是否同意客服查看完整信息？',
    },
  };
  const CHOICE_FIELDS = ['service', 'city', 'office', 'date', 'time', 'confirm'];
  // Replies whose quick replies are all answers to one question: drawn as a labelled group.
  const PICK_KINDS = { guide_pick: 'guide', consent_ask: 'consent' };
  const PICK_LEGENDS = { guide: 'guidePick', consent: 'consentPick' };
  const BOOKING_KINDS = { appointment_booked: 'booked', appointment_rescheduled: 'rescheduled', appointment_cancelled: 'cancelled' };

  const fill = (s, vars) => s.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ''));
  const normLang = (l) => (l ? (String(l).toLowerCase().startsWith('zh') ? 'zh' : 'en') : null);
  const charCount = (s) => [...s].length;

  /** Exponential backoff with "equal jitter": half fixed, half random, capped. */
  function backoffDelay(attempt) {
    const d = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
    return d / 2 + Math.random() * (d / 2);
  }

  /** Absolute http(s) URL or null: citations must never become javascript: links. */
  function safeHttpUrl(u, base) {
    try {
      const url = base ? new URL(u, base) : new URL(u);
      return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
    } catch (_) {
      return null;
    }
  }

  /** DOM builder: attributes and Text nodes only. */
  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v == null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) if (c != null && c !== false) el.append(c);
    return el;
  }

  /* Answers in parts (docs/protocol.md, "reply"): the details are a small markup, turned into DOM
   * nodes here and never parsed as HTML. Blocks are separated by blank lines; a line is a "- " bullet,
   * a "1. " step, a "Label: text" line (a label of at most 24 characters, no sentence punctuation)
   * or a paragraph; bare http(s) URLs become links. */
  const BULLET = /^[-•]\s+/;
  const STEP = /^(\d{1,2})\.\s+/;
  const LABEL = /^([^:：.。!！?？;；\n]{1,24}?)([:：])\s*/;
  const URL_RE = /https?:\/\/[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]+/g;
  let partId = 0;

  /** Text with its bare http(s) URLs as links (trailing punctuation stays text). */
  function linkify(text) {
    const out = [];
    let last = 0;
    for (const m of text.matchAll(URL_RE)) {
      const raw = m[0].replace(/[.,;:!?)\]'*]+$/, '');
      const href = safeHttpUrl(raw);
      if (!href) continue;
      if (m.index > last) out.push(text.slice(last, m.index));
      out.push(h('a', { href, target: '_blank', rel: 'noopener noreferrer' }, raw));
      last = m.index + raw.length;
    }
    if (last < text.length) out.push(text.slice(last));
    return out;
  }

  /** One line's content: "Label: text" gets its label in bold. */
  function inline(text) {
    const m = LABEL.exec(text);
    if (!m || text.slice(m.index + m[1].length + 1).startsWith('//')) return linkify(text);
    return [h('strong', { class: 'k' }, m[1] + m[2]), m[2] === ':' ? ' ' : '', ...linkify(text.slice(m[0].length))];
  }

  /** The details markup as a DocumentFragment of p, ul and ol elements. */
  function renderMarkup(markup) {
    const frag = document.createDocumentFragment();
    let list = null;
    for (const raw of String(markup).split(/\r?\n/)) {
      const line = raw.trim();
      if (!line) {
        list = null;
        continue;
      }
      const bullet = BULLET.exec(line);
      const step = bullet ? null : STEP.exec(line);
      if (bullet || step) {
        const tag = bullet ? 'ul' : 'ol';
        if (!list || list.tagName.toLowerCase() !== tag) {
          frag.append((list = h(tag, step && step[1] !== '1' ? { start: step[1] } : null)));
        }
        list.append(h('li', step ? { value: step[1] } : null, inline(line.slice((bullet || step)[0].length))));
      } else {
        list = null;
        frag.append(h('p', null, inline(line)));
      }
    }
    return frag;
  }

  function icon(path, size = 20) {
    const NS = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('width', size);
    svg.setAttribute('height', size);
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    const p = document.createElementNS(NS, 'path');
    p.setAttribute('d', path);
    p.setAttribute('fill', 'currentColor');
    svg.append(p);
    return svg;
  }
  const ICON_CHAT = 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2zm3 6v2h2v-2H7zm4 0v2h2v-2h-2zm4 0v2h2v-2h-2z';
  const ICON_CLOSE = 'M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6l5.6-5.6L5 6.4z';
  const ICON_SEND = 'M3 20.5 21 12 3 3.5 3 10l12 2-12 2z';

  // ---- colours: keep text on the brand colour, and links, at WCAG AA (4.5:1) ----
  function luminance([r, g, b]) {
    const f = (c) => ((c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  }
  const contrast = (a, b) => {
    const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  function parseRgb(css) {
    const m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(css || '');
    return m ? [+m[1], +m[2], +m[3]] : null;
  }
  const hex = (rgb) => '#' + rgb.map((c) => Math.round(c).toString(16).padStart(2, '0')).join('');
  function palette(rgb) {
    const white = [255, 255, 255];
    const on = contrast(rgb, white) >= 4.5 ? '#ffffff' : '#111111';
    let ink = rgb;
    for (let i = 0; i < 20 && contrast(ink, white) < 4.5; i++) ink = ink.map((c) => c * 0.85);
    return { primary: hex(rgb), on, ink: hex(ink) };
  }

  // ---- storage: localStorage when allowed, memory otherwise ----
  const memoryStore = new Map();
  const store = {
    get(key) {
      try {
        return JSON.parse(localStorage.getItem(key) || 'null');
      } catch (_) {
        return memoryStore.get(key) ?? null;
      }
    },
    set(key, value) {
      try {
        localStorage.setItem(key, JSON.stringify(value));
      } catch (_) {
        memoryStore.set(key, value);
      }
    },
  };

  /**
   * The conversation as the client knows it, without I/O: events deduplicated by seq, the highest
   * contiguous seq (sent as last_seq), and the outbox of messages not yet acknowledged.
   */
  class Conversation {
    constructor(saved) {
      const s = saved || {};
      this.session = s.session || null;
      this.lang = s.lang || null;
      this.langChosen = !!s.langChosen;
      this.events = Array.isArray(s.events) ? s.events : [];
      this.lastSeq = Number.isInteger(s.lastSeq) ? s.lastSeq : 0;
      this.outbox = Array.isArray(s.outbox) ? s.outbox : [];
      this.rated = !!s.rated;
      this.moved = !!s.moved;
      this.feedback = s.feedback || {};
      this.seen = new Set(this.events.map((e) => e.seq));
    }
    snapshot() {
      const { session, lang, langChosen, lastSeq, outbox, rated, feedback, moved } = this;
      return { session, lang, langChosen, lastSeq, outbox, rated, feedback, moved, events: this.events.slice(-MAX_STORED_EVENTS) };
    }
    /** Adds a stored event; false when its seq was already seen (replays, other devices). */
    accept(ev) {
      if (!Number.isInteger(ev.seq) || this.seen.has(ev.seq)) return false;
      this.seen.add(ev.seq);
      let i = this.events.length;
      while (i > 0 && this.events[i - 1].seq > ev.seq) i--;
      this.events.splice(i, 0, ev);
      while (this.seen.has(this.lastSeq + 1)) this.lastSeq++;
      if (ev.type === 'visitor') this.outbox = this.outbox.filter((m) => m.id !== ev.id);
      return true;
    }
    /** The ack of our own message: it becomes a `visitor` event even if the server only acks. */
    ack(id, seq) {
      const m = this.outbox.find((x) => x.id === id);
      this.outbox = this.outbox.filter((x) => x.id !== id);
      if (!m || this.seen.has(seq)) return null;
      const ev = { type: 'visitor', seq, id, text: m.text, ts: m.ts };
      this.accept(ev);
      return ev;
    }
    drop(id) {
      this.outbox = this.outbox.filter((x) => x.id !== id);
    }
    reset(keepSession) {
      if (!keepSession) this.session = null;
      this.events = [];
      this.seen = new Set();
      this.lastSeq = 0;
      this.rated = false;
      this.moved = false;
      this.feedback = {};
    }
    get state() {
      for (let i = this.events.length - 1; i >= 0; i--) if (this.events[i].type === 'state') return this.events[i].state;
      return 'bot';
    }
  }

  let idCounter = 0;
  const newMessageId = () => `c-${Date.now().toString(36)}-${(++idCounter).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

  const CSS = `
:host{all:initial;display:block;--p:#0b5cad;--on:#fff;--ink:#0b5cad;--tap:44px}
.w{all:initial;display:contents;font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","Noto Sans SC","PingFang SC","Microsoft YaHei",sans-serif;font-size:15px;line-height:1.5;color:#1a2433}
:host([hidden]),[hidden]{display:none!important}
*{box-sizing:border-box;font:inherit}
button,textarea,select,input{color:inherit}
button{cursor:pointer;border:0;background:none;padding:0}
:focus-visible{outline:3px solid #1a2433;outline-offset:2px;box-shadow:0 0 0 5px #fff}
.sr{position:absolute;width:1px;height:1px;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}
.launcher{position:fixed;bottom:20px;right:20px;z-index:2147483000;display:flex;align-items:center;gap:10px;min-height:56px;padding:8px 20px 8px 16px;border-radius:28px;background:var(--p);color:var(--on);box-shadow:0 6px 20px rgba(10,40,80,.35);text-align:left}
.launcher b{display:block;font-size:16px;letter-spacing:.5px}
.launcher small{display:block;font-size:13px}
.launcher .badge{position:absolute;top:-6px;right:-4px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;background:#b00020;color:#fff;font-size:13px;font-weight:700;line-height:22px;text-align:center}
:host([position=left]) .launcher{right:auto;left:20px}
@media (max-width:480px){.launcher{padding:8px 14px;right:12px;bottom:12px}.launcher>span{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}}
.panel{position:fixed;bottom:88px;right:20px;z-index:2147483001;width:390px;height:min(640px,calc(100vh - 108px));display:flex;flex-direction:column;background:#fff;border-radius:14px;box-shadow:0 12px 40px rgba(10,40,80,.35);overflow:hidden}
:host([position=left]) .panel{right:auto;left:20px}
.panel[hidden]{display:none}
:host([mode=fullscreen]) .panel{inset:0;width:auto;height:100vh;height:100dvh;border-radius:0;box-shadow:none;padding:0 env(safe-area-inset-right) env(safe-area-inset-bottom) env(safe-area-inset-left)}
@media (max-width:480px){.panel{inset:0;width:auto;height:100vh;height:100dvh;border-radius:0;padding:0 env(safe-area-inset-right) env(safe-area-inset-bottom) env(safe-area-inset-left)}}
header{background:var(--p);color:var(--on);padding:10px 8px 8px 16px;padding-top:calc(10px + env(safe-area-inset-top));display:flex;align-items:center;gap:8px}
:host(:not([mode=fullscreen])) .panel:not(.narrow) header{padding-top:10px}
header .t{flex:1;min-width:0}
header h2{margin:0;font-size:17px;font-weight:700;letter-spacing:.5px}
header .s{font-size:13px;display:flex;align-items:center;gap:6px;flex-wrap:wrap}
.dot{width:9px;height:9px;border-radius:50%;background:#f2c94c;border:1px solid var(--on)}
.dot.online{background:#39d98a}.dot.offline{background:#ff5a5f}
header .retry{text-decoration:underline;min-height:var(--tap);padding:0 6px;color:var(--on)}
.icon{display:inline-flex;align-items:center;justify-content:center;min-width:var(--tap);min-height:var(--tap);border-radius:8px;color:var(--on)}
.tools{display:flex;gap:4px;padding:4px 8px;background:#eef3f9;border-bottom:1px solid #d5dce6}
.tools button{min-height:var(--tap);min-width:var(--tap);padding:0 10px;white-space:nowrap;flex:none;border-radius:8px;color:#17324f;font-size:14px;font-weight:600}
.tools button:hover{background:#dce7f3}
.tools .end{margin-left:auto;color:#9b1c1c}
.banner{padding:8px 14px;font-size:14px;background:#fff7e0;color:#4d3900;border-bottom:1px solid #e6cf85}
.banner.agent{background:#e9f6ee;color:#17502f;border-color:#9fd3b2}
.banner.closed{background:#eef0f3;color:#333d4a;border-color:#cfd5dd}
.log{flex:1;overflow-y:auto;margin:0;padding:12px;list-style:none;background:#f4f6f9;overscroll-behavior:contain}
.log:empty::before{content:attr(data-empty);display:block;margin-top:30%;text-align:center;color:#4a5566}
.log li{margin:0 0 12px;display:flex;flex-direction:column;align-items:flex-start;max-width:100%}
.who{font-size:12px;color:#4a5566;margin:0 0 2px 2px;font-weight:600}
.bubble{max-width:88%;padding:9px 12px;border-radius:4px 12px 12px 12px;background:#fff;border:1px solid #d5dce6;white-space:pre-wrap;overflow-wrap:anywhere}
.log li.m-visitor{align-items:flex-end}
.m-visitor .who{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.m-visitor .bubble{background:var(--p);color:var(--on);border-color:var(--p);border-radius:12px 4px 12px 12px}
.m-agent .bubble{background:#eaf6ee;border-color:#7cc298;border-left:4px solid #2e7d4f}
.m-agent .who{color:#1e6b3f}
.log li.m-system{align-items:center}
.m-system .bubble{max-width:95%;background:#fff7e0;border:1px dashed #c9a84a;color:#4d3900;font-size:14px;border-radius:8px;text-align:center}
.meta{font-size:12px;color:#4a5566;margin:2px 4px 0}
.meta.err{color:#a00018;font-weight:600}
.bubble.parts{white-space:normal}
.ttl{margin:0 0 4px;font-size:15px;font-weight:700;line-height:1.35}
.short{margin:0}
.log .bubble li{display:list-item;margin:0 0 3px}
.det{margin:2px 0 4px}
.det p{margin:0 0 6px}
.det .k{font-weight:700}
.det ul,.det ol{margin:0 0 6px;padding-left:20px}
.det ul{list-style:disc}
.det a,.short a,.src a{color:var(--ink)}
.tog{-webkit-tap-highlight-color:transparent;display:inline-flex;align-items:center;gap:8px;min-height:36px;padding:0 6px 0 0;color:var(--ink);font-size:14px;font-weight:600;white-space:nowrap}
.tog::after{content:"";width:7px;height:7px;margin-top:-4px;border:solid currentColor;border-width:0 2px 2px 0;transform:rotate(45deg)}
.tog[aria-expanded=true]::after{margin-top:4px;transform:rotate(-135deg)}
.src{display:flex;flex-wrap:wrap;align-items:center;column-gap:10px;margin:6px 0 0;padding:2px 0 0;border-top:1px solid #e3e8ef;font-size:13px}
.src .tog{font-size:13px}
.src ol{flex:1 1 100%;margin:0 0 4px;padding-left:18px}
.src ol.clip{flex:1 1 0;min-width:0;margin:0;padding:0;list-style:none}
.log .src ol.clip li{margin:0;overflow:hidden;white-space:nowrap;text-overflow:ellipsis}
.fb{display:flex;gap:4px;margin-top:4px;align-items:center;font-size:12px;color:#4a5566}
.fb button{min-width:36px;min-height:36px;border-radius:8px;border:1px solid #cdd5df;background:#fff;font-size:16px}
.fb button[aria-pressed=true]{background:#dce7f3;border-color:var(--ink)}
.qr{display:flex;flex-wrap:wrap;gap:6px;margin-top:8px;max-width:100%}
.qr button{min-height:var(--tap);padding:6px 14px;border-radius:22px;border:1px solid var(--ink);color:var(--ink);background:#fff;font-size:14px;text-align:left}
.qr button:hover{background:#eef3f9}
.qr select{min-height:var(--tap);max-width:70%;border:1px solid #8594a8;border-radius:8px;padding:0 8px;background:#fff}
.qr .go,.qr .go:hover{background:var(--p);color:var(--on);border-color:var(--p)}
.choices{display:flex;flex-wrap:wrap;gap:6px;margin:8px 0 0;padding:0;border:0;min-width:0;max-width:100%}
.choices legend,.datepick label{display:block;width:100%;margin:0 0 4px;padding:0;font-size:13px;font-weight:600;color:#333d4a}
.choices button{min-height:var(--tap);padding:6px 14px;border-radius:10px;border:1px solid var(--ink);color:var(--ink);background:#fff;font-size:14px;text-align:left;max-width:100%;overflow-wrap:anywhere}
.choices button:hover,.choices button:focus-visible{background:#eef3f9}
.form-ctl{align-self:stretch;max-width:100%}
.choices.slots{display:grid;grid-template-columns:repeat(auto-fill,minmax(76px,1fr))}
.choices.slots legend{grid-column:1/-1}
.choices.slots button{text-align:center;padding:4px 6px;line-height:1.25}
.choices.slots small{display:block;font-size:12px;color:#4a5566}
.choices .primary{background:var(--p);color:var(--on);border-color:var(--p)}
.datepick{display:flex;flex-wrap:wrap;gap:6px;align-items:center;margin-top:8px;max-width:100%}
.datepick input{min-height:var(--tap);min-width:0;flex:1 1 150px;border:1px solid #8594a8;border-radius:8px;padding:0 8px;background:#fff}
.datepick input[aria-invalid=true]{border:2px solid #a00018}
.datepick .hint,.datepick .err{flex:1 1 100%;margin:0;font-size:12px}
.datepick .hint{color:#4a5566}
.bubble .booking,.bubble .edoc{margin:8px 0 0;padding:10px 12px;border:1px solid #9fd3b2;border-left:4px solid #2e7d4f;border-radius:8px;background:#f3faf5;white-space:normal}
.bubble .booking.cancelled{border-color:#cfd5dd;border-left-color:#6b7685;background:#f4f6f9}
.booking h4,.edoc h4{margin:0 0 6px;font-size:15px;font-weight:700}
.booking dl{display:grid;grid-template-columns:auto 1fr;gap:2px 10px;margin:0}
.booking dt{font-weight:600;color:#333d4a}
.booking dd{margin:0;overflow-wrap:anywhere}
.booking .ref{font-family:ui-monospace,monospace;font-size:16px;font-weight:700;letter-spacing:.5px}
.edoc p{margin:6px 0 0;overflow-wrap:anywhere}
.edoc a.btn{display:inline-flex;align-items:center;text-decoration:none;max-width:100%}
.edoc a:not(.btn){color:var(--ink)}
.divider{align-items:center!important;font-size:13px;color:#4a5566}
.divider:empty{border-top:1px solid #cfd5dd;margin:6px 24px;padding:0;min-height:0}
.card{align-self:stretch;background:#fff;border:1px solid #d5dce6;border-radius:12px;padding:12px;align-items:stretch!important}
.card h3{margin:0 0 8px;font-size:15px}
.stars{display:flex;gap:2px}
.stars button{min-width:var(--tap);min-height:var(--tap);font-size:26px;color:#6b7685;border-radius:8px}
.stars button[aria-pressed=true]{color:#a15c00}
.card textarea{width:100%;min-height:56px;margin:8px 0;border:1px solid #8594a8;border-radius:8px;padding:6px 8px;resize:vertical}
.btn{min-height:var(--tap);padding:0 16px;border-radius:8px;background:var(--p);color:var(--on);font-weight:600}
.btn[disabled]{opacity:.6;cursor:not-allowed}
.btn2{min-height:var(--tap);padding:0 16px;border-radius:8px;border:1px solid var(--ink);color:var(--ink);background:#fff;font-weight:600}
.typing{padding:0 14px 6px;font-size:13px;color:#4a5566;background:#f4f6f9}
.typing i{display:inline-block;width:6px;height:6px;margin-right:3px;border-radius:50%;background:#4a5566;animation:b 1.2s infinite}
.typing i:nth-child(2){animation-delay:.2s}.typing i:nth-child(3){animation-delay:.4s}
@keyframes b{0%,80%,100%{opacity:.3}40%{opacity:1}}
@media (prefers-reduced-motion:reduce){.typing i{animation:none}}
form{display:flex;flex-direction:column;gap:4px;padding:8px;border-top:1px solid #d5dce6;background:#fff}
.row{display:flex;gap:8px;align-items:flex-end}
form textarea{flex:1;min-height:var(--tap);max-height:140px;padding:10px 12px;border:1px solid #8594a8;border-radius:10px;resize:none;background:#fff}
form textarea[aria-invalid=true]{border-color:#a00018;border-width:2px}
.send{min-width:var(--tap);min-height:var(--tap);border-radius:10px;background:var(--p);color:var(--on);display:inline-flex;align-items:center;justify-content:center;gap:4px;padding:0 12px;font-weight:600}
.send[aria-disabled=true]{opacity:.55;cursor:not-allowed}
.err{color:#a00018;font-size:13px}
.count{font-size:12px;color:#4a5566;text-align:right}
.transfer{position:absolute;inset:0;z-index:3;background:#fff;display:flex;flex-direction:column;align-items:center;gap:10px;padding:20px;padding-top:calc(20px + env(safe-area-inset-top));text-align:center;overflow-y:auto}
.transfer>:first-child{margin-top:auto}.transfer>:last-child{margin-bottom:auto}
.transfer p{margin:0}
.transfer img{width:200px;height:200px;border:8px solid #fff;box-shadow:0 0 0 1px #d5dce6;image-rendering:pixelated}
.transfer a{color:var(--ink);overflow-wrap:anywhere;font-size:13px}
.transfer h3{margin:0;font-size:16px}
.body{position:relative;flex:1;display:flex;flex-direction:column;min-height:0}
:host([mode=fullscreen]) .fb button,.narrow .fb button,:host([mode=fullscreen]) .tog,.narrow .tog{min-width:var(--tap);min-height:var(--tap)}
:host([mode=fullscreen]) .tog,.narrow .tog{margin:-6px 0}
`;

  class NiaChatElement extends HTMLElement {
    static get observedAttributes() {
      return ['lang', 'color'];
    }

    constructor() {
      super();
      this.root = this.attachShadow({ mode: 'open' });
      this.bindings = [];
      this.ws = null;
      this.ready = false;
      this.attempt = 0;
      this.timers = {};
      this.pendingControl = [];
      this.typingTimers = {};
      this.bubbles = new Map(); // message id -> <li>, for pending visitor messages
      this.announceQueue = [];
      this.unread = 0;
      this.moved = false;
      this.resetOnWelcome = null;
    }

    // ---------------------------------------------------------------- configuration
    get fullscreen() {
      return this.getAttribute('mode') === 'fullscreen';
    }
    get serverUrl() {
      const s = this.getAttribute('server');
      if (s) return new URL(s, location.href).href.replace(/^http/, 'ws');
      const base = SCRIPT && SCRIPT.src ? SCRIPT.src : location.href;
      const u = new URL('/ws', base);
      u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
      return u.href;
    }
    get httpBase() {
      const u = new URL(this.serverUrl);
      u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
      u.pathname = '/';
      u.search = '';
      return u.href;
    }
    get storageKey() {
      return 'nia-chat:v1:' + this.serverUrl;
    }
    t(key, vars) {
      const texts = TEXT[this.uiLang] || TEXT.zh;
      const s = (vars && vars.n === 1 && texts[key + '_one']) || texts[key];
      return vars ? fill(s, vars) : s;
    }

    connectedCallback() {
      if (this.built) return;
      this.built = true;
      this.convo = new Conversation(store.get(this.storageKey));
      // Not `this.uiLang`: HTMLElement reflects that to the lang attribute, whose change handler
      // would take the page's language for the visitor's own choice.
      this.uiLang =
        (this.convo.langChosen && this.convo.lang) ||
        normLang(this.getAttribute('lang')) ||
        normLang(document.documentElement.lang) ||
        normLang(navigator.language) ||
        'zh';
      this.transferToken = this.getAttribute('transfer') || (this.fullscreen ? new URLSearchParams(location.search).get('t') : null);
      if (this.transferToken && this.fullscreen) {
        // Single use: a reload must not send the spent token again.
        const u = new URL(location.href);
        u.searchParams.delete('t');
        history.replaceState(history.state, '', u.pathname + u.search + u.hash);
      }
      this.build();
      this.applyColor();
      this.renderAll();
      this.listen(window, 'online', () => this.reconnectNow());
      this.listen(window, 'offline', () => this.updateStatus());
      this.listen(window, 'pagehide', () => this.save());
      const stored = store.get(this.storageKey + ':ui') || {};
      if (this.convo.moved && !this.transferToken) this.showMoved(false);
      if (this.fullscreen || stored.open) this.openPanel(false);
      else if (this.convo.session || this.convo.outbox.length) this.connect();
    }

    disconnectedCallback() {
      this.stopped = true;
      for (const t of Object.values(this.timers)) clearTimeout(t);
      for (const [target, type, fn] of this.listeners || []) target.removeEventListener(type, fn);
      if (this.ws) this.ws.close(1000);
    }

    attributeChangedCallback(name, oldValue, value) {
      if (!this.built || oldValue === value) return;
      if (name === 'color') this.applyColor();
      if (name === 'lang' && normLang(value)) this.setLang(normLang(value));
    }

    listen(target, type, fn) {
      (this.listeners = this.listeners || []).push([target, type, fn]);
      target.addEventListener(type, fn);
    }

    applyColor() {
      const probe = h('span', { style: 'display:none' });
      this.root.append(probe);
      probe.style.color = this.getAttribute('color') || '#0b5cad';
      const rgb = parseRgb(getComputedStyle(probe).color) || [11, 92, 173];
      probe.remove();
      const p = palette(rgb);
      this.style.setProperty('--p', p.primary);
      this.style.setProperty('--on', p.on);
      this.style.setProperty('--ink', p.ink);
    }

    // ---------------------------------------------------------------- DOM
    /** Registers a translated text or attribute so a language switch relabels it in place. */
    tr(el, key, attr) {
      this.bindings.push([el, key, attr]);
      if (attr) el.setAttribute(attr, this.t(key));
      else el.textContent = this.t(key);
      return el;
    }

    build() {
      const r = this.root;
      r.append(h('style', { text: CSS }));
      this.launcher = h(
        'button',
        { class: 'launcher', type: 'button', 'aria-expanded': 'false', 'aria-controls': 'nia-panel', onclick: () => this.togglePanel() },
        icon(ICON_CHAT, 26),
        h('span', null, this.tr(h('b'), 'launcher'), this.tr(h('small'), 'launcherSub')),
      );
      this.badge = h('span', { class: 'badge', hidden: true });
      this.launcher.append(this.badge);
      if (this.fullscreen) this.launcher.hidden = true;

      this.statusDot = h('span', { class: 'dot', 'aria-hidden': 'true' });
      this.statusText = h('span');
      this.retryBtn = h('button', { class: 'retry', type: 'button', hidden: true, onclick: () => this.reconnectNow() });
      this.tr(this.retryBtn, 'retry');
      const closeBtn = h('button', { class: 'icon', type: 'button', onclick: () => this.closePanel() }, icon(ICON_CLOSE, 22));
      this.tr(closeBtn, 'minimize', 'aria-label');
      this.tr(closeBtn, 'minimize', 'title');
      if (this.fullscreen) closeBtn.hidden = true;
      const title = this.tr(h('h2', { id: 'nia-title' }), 'title');
      const header = h(
        'header',
        null,
        h('div', { class: 't' }, title, h('div', { class: 's' }, this.statusDot, this.statusText, this.retryBtn)),
        closeBtn,
      );

      // Named by its visible text ("English" / "中文", in that language); the title explains.
      this.langBtn = h('button', { type: 'button', onclick: () => this.setLang(this.uiLang === 'zh' ? 'en' : 'zh') });
      this.tr(this.langBtn, 'langToggle');
      this.tr(this.langBtn, 'otherLang', 'lang');
      this.tr(this.langBtn, 'langLabel', 'title');
      this.phoneBtn = this.toolButton('phone', 'phoneLabel', () => this.requestTransfer());
      this.saveBtn = this.toolButton('save', 'saveLabel', () => this.downloadTranscript());
      this.endBtn = this.toolButton('end', 'endLabel', () => this.endChat());
      this.endBtn.classList.add('end');
      if (this.fullscreen) this.phoneBtn.hidden = true;
      const tools = h('div', { class: 'tools' }, this.langBtn, this.phoneBtn, this.saveBtn, this.endBtn);

      this.banner = h('div', { class: 'banner', hidden: true });
      this.log = h('ol', { class: 'log', tabindex: '0' });
      this.tr(this.log, 'log', 'aria-label');
      this.tr(this.log, 'emptyLog', 'data-empty');
      this.typing = h('div', { class: 'typing', hidden: true, 'aria-hidden': 'true' }, h('i'), h('i'), h('i'), h('span'));

      this.input = h('textarea', { id: 'nia-input', rows: '1', 'aria-describedby': 'nia-err', enterkeyhint: 'send' });
      this.tr(this.input, 'placeholder', 'placeholder');
      this.tr(this.input, 'input', 'aria-label');
      this.input.addEventListener('input', () => this.onInput());
      this.input.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
          e.preventDefault();
          this.submit();
        }
      });
      this.sendBtn = h('button', { class: 'send', type: 'submit' }, icon(ICON_SEND, 18), this.tr(h('span'), 'send'));
      this.errorLine = h('div', { class: 'err', id: 'nia-err', role: 'alert' });
      this.counter = h('div', { class: 'count', hidden: true, 'aria-hidden': 'true' });
      this.form = h(
        'form',
        { onsubmit: (e) => (e.preventDefault(), this.submit()) },
        this.errorLine,
        h('div', { class: 'row' }, this.input, this.sendBtn),
        this.counter,
      );
      this.endActions = h('div', { class: 'row endactions', hidden: true, style: 'padding:8px;justify-content:center;border-top:1px solid #d5dce6' });

      this.live = h('div', { class: 'sr', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true' });
      this.body = h('div', { class: 'body' }, this.banner, this.log, this.typing);
      this.panel = h(
        'section',
        { class: 'panel', id: 'nia-panel', role: this.fullscreen ? 'main' : 'dialog', 'aria-labelledby': 'nia-title', hidden: !this.fullscreen },
        header,
        tools,
        this.body,
        this.form,
        this.endActions,
        this.live,
      );
      this.panel.addEventListener('keydown', (e) => this.onPanelKey(e));
      // .w resets what the host element inherits from the page, even page-level !important.
      this.wrapper = h('div', { class: 'w', lang: this.htmlLang() }, this.launcher, this.panel);
      r.append(this.wrapper);
      if (window.matchMedia) {
        const mq = matchMedia('(max-width: 480px)');
        const narrow = () => this.panel.classList.toggle('narrow', mq.matches);
        narrow();
        mq.addEventListener && mq.addEventListener('change', narrow);
      }
      this.updateStatus();
    }

    toolButton(textKey, labelKey, onclick) {
      const b = h('button', { type: 'button', onclick });
      this.tr(b, textKey);
      this.tr(b, labelKey, 'aria-label');
      this.tr(b, labelKey, 'title');
      return b;
    }

    htmlLang() {
      return this.uiLang === 'zh' ? 'zh-CN' : 'en';
    }

    /** Relabels everything, the messages' sender labels included. */
    relabel() {
      this.relabelChrome();
      this.renderAll();
      this.updateBanner();
    }

    /** Relabels the fixed parts (header, tools, composer) in place, keeping focus. */
    relabelChrome() {
      for (const [el, key, attr] of this.bindings) {
        if (!el.isConnected) continue;
        if (attr) el.setAttribute(attr, this.t(key));
        else el.textContent = this.t(key);
      }
      this.bindings = this.bindings.filter(([el]) => el.isConnected);
      this.wrapper.setAttribute('lang', this.htmlLang());
      this.updateStatus();
      this.updateBanner();
      this.onInput();
    }

    setUiLang(lang) {
      this.uiLang = lang;
      this.convo.lang = lang;
      this.relabel();
    }

    // ---------------------------------------------------------------- panel
    openPanel(focus = true) {
      this.panel.hidden = false;
      this.launcher.setAttribute('aria-expanded', 'true');
      if (!this.fullscreen) this.launcher.hidden = window.matchMedia && matchMedia('(max-width: 480px)').matches;
      this.unread = 0;
      this.updateBadge();
      store.set(this.storageKey + ':ui', { open: true });
      this.connect();
      this.scrollDown();
      if (focus) (this.input.disabled || this.form.hidden ? this.panel.querySelector('button:not([hidden])') : this.input).focus();
    }

    closePanel() {
      if (this.fullscreen) return;
      this.panel.hidden = true;
      this.launcher.hidden = false;
      this.launcher.setAttribute('aria-expanded', 'false');
      store.set(this.storageKey + ':ui', { open: false });
      this.launcher.focus();
    }

    togglePanel() {
      if (this.panel.hidden) this.openPanel();
      else this.closePanel();
    }

    /** Public API: element.open() / element.close(). */
    open() {
      this.openPanel();
    }
    close() {
      this.closePanel();
    }
    /** Public API: element.ask(text) opens the chat and sends text as the visitor's message
     *  (the portal's service cards ask about their service this way). */
    ask(text) {
      this.openPanel();
      if (!text || this.form.hidden) return;
      this.input.value = String(text);
      this.submit();
    }

    /** What Tab can reach in the panel, in order. */
    focusables() {
      const sel = 'button,a[href],textarea,input,select,[tabindex]:not([tabindex="-1"])';
      return [...this.panel.querySelectorAll(sel)].filter((el) => !el.disabled && el.getClientRects().length && el.tabIndex >= 0);
    }

    onPanelKey(e) {
      if (e.key === 'Tab' && !this.fullscreen) {
        // A dialog keeps Tab inside: past the last control back to the first, and back.
        const items = this.focusables();
        const active = this.root.activeElement;
        if (!items.length) return;
        if (!e.shiftKey && active === items[items.length - 1]) {
          e.preventDefault();
          items[0].focus();
        } else if (e.shiftKey && active === items[0]) {
          e.preventDefault();
          items[items.length - 1].focus();
        }
        return;
      }
      if (e.key !== 'Escape') return;
      if (this.transferBox) {
        e.stopPropagation();
        this.closeTransfer();
      } else if (!this.fullscreen) {
        e.stopPropagation();
        this.closePanel();
      }
    }

    // ---------------------------------------------------------------- connection
    connect() {
      if (this.ws || this.moved || this.stopped) return;
      clearTimeout(this.timers.retry);
      clearInterval(this.timers.countdown);
      this.status = 'connecting';
      this.updateStatus();
      let ws;
      try {
        ws = new WebSocket(this.serverUrl);
      } catch (_) {
        this.scheduleReconnect();
        return;
      }
      this.ws = ws;
      ws.onopen = () => ws.send(JSON.stringify(this.helloFrame()));
      ws.onmessage = (e) => {
        let frame;
        try {
          frame = JSON.parse(e.data);
        } catch (_) {
          return;
        }
        if (frame && typeof frame.type === 'string') this.onFrame(frame);
      };
      ws.onclose = () => {
        if (this.ws !== ws) return;
        this.ws = null;
        this.ready = false;
        clearTimeout(this.timers.ping);
        clearTimeout(this.timers.pong);
        this.showTyping('bot', false);
        this.showTyping('agent', false);
        for (const m of this.convo.outbox) this.setBubbleStatus(m.id, 'waiting');
        if (!this.moved && !this.stopped) this.scheduleReconnect();
      };
    }

    helloFrame() {
      // Each resume issues a new token (a copied one stops working): another tab of this
      // conversation may have resumed since, so take the newest token it saved.
      const saved = store.get(this.storageKey);
      if (this.convo.session && saved && saved.session) this.convo.session = saved.session;
      // page_lang starts a new chat in the page's language; lang is sent only when the visitor
      // chose one with the switch, because it locks the reply language.
      const hello = { type: 'hello', session: this.convo.session, lang: this.convo.langChosen ? this.uiLang : null, page_lang: this.uiLang, last_seq: this.convo.lastSeq, channel: this.fullscreen ? 'mobile' : 'web' };
      this.helloNew = !hello.session && !this.transferToken;
      if (this.transferToken) {
        hello.transfer = this.transferToken;
        hello.session = null;
        hello.last_seq = 0;
        this.transferUsed = true;
      }
      return hello;
    }

    scheduleReconnect() {
      const delay = backoffDelay(this.attempt++);
      this.status = 'offline';
      this.retryAt = Date.now() + delay;
      this.timers.retry = setTimeout(() => this.connect(), delay);
      clearInterval(this.timers.countdown);
      this.timers.countdown = setInterval(() => this.updateStatus(), 1000);
      this.updateStatus();
    }

    reconnectNow() {
      if (this.ws || this.moved) return;
      this.attempt = 0;
      this.connect();
    }

    send(frame) {
      if (!this.ready) return false;
      try {
        this.ws.send(JSON.stringify(frame));
        return true;
      } catch (_) {
        return false;
      }
    }

    /** Control frames (lang, feedback, rating, close) wait for the connection like messages do. */
    sendControl(frame) {
      if (!this.send(frame)) {
        this.pendingControl = this.pendingControl.filter((f) => f.type !== frame.type || frame.type === 'feedback');
        this.pendingControl.push(frame);
        this.connect();
      }
    }

    heartbeat() {
      clearTimeout(this.timers.ping);
      this.timers.ping = setTimeout(() => {
        if (!this.send({ type: 'ping' })) return;
        this.timers.pong = setTimeout(() => this.ws && this.ws.close(4000, 'no pong'), PONG_WITHIN_MS);
      }, PING_EVERY_MS);
    }

    updateStatus() {
      let text;
      let cls = '';
      if (this.moved) text = this.t('movedStatus');
      else if (this.ready) (text = this.t(this.starting ? 'starting' : 'online')), (cls = 'online');
      else if (this.status === 'offline') {
        cls = 'offline';
        text = navigator.onLine === false ? this.t('offlineNow') : this.t('offline', { s: Math.max(0, Math.ceil((this.retryAt - Date.now()) / 1000)) });
      } else text = this.t('connecting');
      this.statusText.textContent = text;
      this.statusDot.className = 'dot ' + cls;
      this.retryBtn.hidden = !(this.status === 'offline' && !this.ready && !this.moved);
      this.panel.setAttribute('data-status', this.moved ? 'moved' : this.ready ? 'online' : this.status || 'idle');
      if (this.lastAnnouncedStatus !== cls && (cls === 'offline' || (cls === 'online' && this.lastAnnouncedStatus === 'offline'))) this.announce(text);
      this.lastAnnouncedStatus = cls;
    }

    // ---------------------------------------------------------------- incoming frames
    onFrame(f) {
      clearTimeout(this.timers.pong);
      this.heartbeat();
      const handler = this['on_' + f.type];
      if (typeof handler === 'function') handler.call(this, f);
      else if (Number.isInteger(f.seq)) this.onEvent(f);
    }

    on_welcome(f) {
      const otherSession = this.transferUsed ? f.session !== this.convo.session : !!this.convo.session && f.last_seq < this.convo.lastSeq;
      if (this.resetOnWelcome || otherSession) {
        this.convo.reset(true);
        this.renderAll();
        if (this.resetOnWelcome) this.addNote(this.t(this.resetOnWelcome === 'bad_transfer' ? 'badTransfer' : 'expiredSession'));
      }
      this.transferToken = null;
      this.transferUsed = false;
      const isNew = this.helloNew || !!this.resetOnWelcome || otherSession;
      this.resetOnWelcome = null;
      this.convo.session = f.session;
      // A chat resumed here keeps this browser's choice: a lock chosen on this device is sent
      // again, and a lock this visitor never chose (another device's) is kept as it is.
      const serverLang = normLang(f.lang);
      if (!isNew && this.convo.langChosen && (serverLang !== this.uiLang || !f.locked)) {
        this.pendingControl.unshift({ type: 'lang', lang: this.uiLang });
      } else if (!isNew && f.locked && serverLang && serverLang !== this.uiLang) {
        this.convo.langChosen = true;
        this.setUiLang(serverLang);
      }
      this.convo.lang = this.uiLang;
      this.starting = !!f.starting; // models still loading: say an answer is coming
      this.ready = true;
      this.attempt = 0;
      this.status = 'online';
      clearInterval(this.timers.countdown);
      this.updateStatus();
      this.baseState = f.state;
      if (f.state && f.state !== this.state && !this.convo.events.some((e) => e.type === 'state')) {
        this.state = f.state;
        this.updateBanner();
        if (f.state === 'closed') this.showEndActions();
      }
      // Unacknowledged messages go again with the same id: the server acks a known id without
      // storing or answering it twice.
      for (const m of this.convo.outbox) {
        this.send({ type: 'message', id: m.id, text: m.text });
        this.setBubbleStatus(m.id, 'sending');
      }
      const control = this.pendingControl;
      this.pendingControl = [];
      for (const c of control) this.send(c);
      this.save();
    }

    on_ack(f) {
      const li = this.bubbles.get(f.id);
      const ev = this.convo.ack(f.id, f.seq);
      if (li) {
        this.bubbles.delete(f.id);
        li.dataset.seq = f.seq;
        this.placeBySeq(li, f.seq);
        this.setMeta(li, ev || { ts: new Date().toISOString() });
      }
      this.save();
    }

    on_typing(f) {
      if (f.from === 'bot' || f.from === 'agent') this.showTyping(f.from, !!f.on);
    }

    /** The server confirms a language choice, also one typed or pressed as a quick reply
     * ("English please", "中文"): the panel's own labels follow it. */
    on_ready() {
      this.starting = false;
      this.updateStatus();
    }

    on_lang(f) {
      const l = normLang(f.lang);
      if (f.locked) this.convo.langChosen = true;
      if (l && l !== this.uiLang) this.setUiLang(l);
      this.save();
    }

    on_rated(f) {
      this.convo.rated = true;
      this.save();
      if (this.ratingCard) {
        this.ratingCard.remove(); // the server confirms with a system message
        this.ratingCard = null;
        this.announce(this.t('rated'));
        const next = this.endActions.hidden ? this.input : this.endActions.querySelector('button');
        if (!this.panel.hidden && next) next.focus();
      }
    }

    on_transfer(f) {
      this.showTransfer(f);
    }

    /** The phone took the conversation over (the server rotated the resume token). */
    on_moved() {
      this.convo.moved = true;
      this.save();
      this.showMoved(true);
    }

    showMoved(live) {
      this.moved = true;
      this.ready = false;
      clearTimeout(this.timers.retry);
      const ws = this.ws;
      this.ws = null;
      if (ws) ws.close(1000);
      this.closeTransfer();
      this.updateStatus();
      const again = h('button', { class: 'btn', type: 'button', onclick: () => this.newChat() });
      this.tr(again, 'newChat');
      this.addNote(this.t('moved'));
      this.form.hidden = true;
      this.endActions.replaceChildren(again);
      this.endActions.hidden = false;
      if (live) this.announce(this.t('moved'));
    }

    on_pong() {}

    on_error(f) {
      const code = f.code;
      if (code === 'unknown_session' || code === 'bad_transfer') {
        this.resetOnWelcome = code;
        return;
      }
      if (code === 'hello_required' && this.ws) {
        this.ws.send(JSON.stringify(this.helloFrame()));
        return;
      }
      if (code === 'rate_limited') {
        this.showError(this.t('rateLimited'));
        const wait = Math.max(0.5, Number(f.retry_after) || 1) * 1000;
        clearTimeout(this.timers.resend);
        this.timers.resend = setTimeout(() => {
          for (const m of this.convo.outbox) this.send({ type: 'message', id: m.id, text: m.text });
        }, wait);
        return;
      }
      if (f.id && this.convo.outbox.some((m) => m.id === f.id)) {
        this.convo.drop(f.id);
        this.save();
        const msg = code === 'closed' ? this.t('closedError') : code === 'too_long' ? this.t('tooLong', { n: '> 2000' }) : f.message || code;
        this.setBubbleStatus(f.id, 'failed', msg);
        this.bubbles.delete(f.id);
        if (code === 'closed') this.showEndActions();
        return;
      }
      if (f.message) this.showError(f.message);
    }

    /** Stored events (visitor, reply, state, and any future type with a seq). */
    onEvent(ev) {
      if (!this.convo.accept(ev)) return;
      // The panel's labels stay in the page's language until the visitor chooses another: the
      // bot's replies follow what the visitor writes, message by message.
      this.renderEvent(ev, true);
      this.save();
    }

    // ---------------------------------------------------------------- rendering
    renderAll() {
      this.clearLog();
      for (const ev of this.convo.events) this.renderEvent(ev, false);
      for (const m of this.convo.outbox) this.renderPending(m);
      if (this.moved) this.addNote(this.t('moved'));
      this.updateBanner();
    }

    clearLog() {
      this.log.replaceChildren();
      this.bubbles.clear();
      this.qrBar = null;
      this.ratingCard = null;
      this.lastReplySeq = 0;
      this.state = this.baseState || 'bot';
      this.prevState = this.state;
      this.agentName = null;
    }

    renderEvent(ev, live) {
      if (ev.type === 'visitor') this.renderVisitor(ev);
      else if (ev.type === 'reply') this.renderReply(ev, live);
      else if (ev.type === 'state') this.renderState(ev, live);
      if (live && ev.type === 'reply') this.scrollToReply(ev.seq);
      else this.scrollDown();
    }

    /** A long answer is shown from its first line (and the question above it), not its last. */
    scrollToReply(seq) {
      requestAnimationFrame(() => {
        const li = this.log.querySelector(`li[data-seq="${seq}"]`);
        const log = this.log;
        if (!li || li.offsetHeight <= log.clientHeight * 0.8) {
          log.scrollTop = log.scrollHeight;
          return;
        }
        // What must be on the first screen: an answer in parts down to its sources line, else the
        // first line. Shown with the question above it, or from the sender label, or from the bubble,
        // whichever is the first to fit.
        const bubble = li.querySelector('.bubble');
        const need = bubble.classList.contains('parts') ? (bubble.querySelector('.src') || bubble).getBoundingClientRect().bottom : bubble.getBoundingClientRect().top;
        const question = li.previousElementSibling;
        const tops = [question && question.classList.contains('m-visitor') && question.offsetHeight < log.clientHeight * 0.3 ? question : null, li, bubble];
        const top = tops.find((el) => el && need - el.getBoundingClientRect().top + 8 <= log.clientHeight) || li;
        log.scrollTop += top.getBoundingClientRect().top - log.getBoundingClientRect().top - 8;
      });
    }

    /** Keeps the log in seq order; messages still waiting for their seq stay at the end. */
    placeBySeq(li, seq) {
      let before = null;
      for (const child of this.log.children) {
        const s = child.dataset.seq;
        if (child === li) continue;
        if (s === undefined || Number(s) > seq) {
          before = child;
          break;
        }
      }
      this.log.insertBefore(li, before);
    }

    message(kind, whoText, text, seq) {
      const who = h('div', { class: 'who' }, whoText);
      const bubble = h('div', { class: 'bubble' }, text == null ? '' : String(text));
      const li = h('li', { class: 'm-' + kind }, who, bubble);
      if (seq != null) {
        li.dataset.seq = seq;
        this.placeBySeq(li, seq);
      } else this.log.append(li);
      return li;
    }

    setMeta(li, ev, status, detail) {
      let meta = li.querySelector('.meta');
      if (!meta) li.append((meta = h('div', { class: 'meta' })));
      const time = ev && ev.ts ? new Date(ev.ts) : null;
      const parts = [];
      if (time && !isNaN(time)) parts.push(time.toLocaleTimeString(this.htmlLang(), { hour: '2-digit', minute: '2-digit' }));
      if (status === 'sending') parts.push(this.t('sending'));
      if (status === 'waiting') parts.push(this.t('waitingNet'));
      if (status === 'failed') parts.push(this.t('notSent', { m: detail }));
      meta.textContent = parts.join(' · ');
      meta.classList.toggle('err', status === 'failed');
      li.dataset.status = status || 'sent';
    }

    renderVisitor(ev) {
      const pending = ev.id && this.bubbles.get(ev.id);
      if (pending) {
        this.bubbles.delete(ev.id);
        pending.dataset.seq = ev.seq;
        this.placeBySeq(pending, ev.seq);
        this.setMeta(pending, ev);
        return;
      }
      const li = this.message('visitor', this.t('you'), ev.text, ev.seq);
      this.setMeta(li, ev);
    }

    renderPending(m) {
      const li = this.message('visitor', this.t('you'), m.text, null);
      li.dataset.id = m.id;
      li.dataset.ts = m.ts;
      this.bubbles.set(m.id, li);
      this.setMeta(li, m, this.ready ? 'sending' : 'waiting');
      return li;
    }

    setBubbleStatus(id, status, detail) {
      const li = this.bubbles.get(id);
      if (li) this.setMeta(li, { ts: li.dataset.ts }, status, detail);
    }

    senderLabel(ev) {
      if (ev.from === 'agent') {
        const name = (ev.meta && ev.meta.agent) || ev.agent;
        return name ? `${this.t('agent')} ${name}` : this.t('agent');
      }
      return this.t(ev.from === 'system' ? 'system' : 'bot');
    }

    renderReply(ev, live) {
      const from = ev.from === 'agent' || ev.from === 'system' ? ev.from : 'bot';
      // An answer in parts: the title and short answer always show; the details wait behind a button.
      const parts = typeof ev.short === 'string' && ev.short.trim() !== '';
      const li = this.message(from, this.senderLabel(ev), parts ? null : ev.text, ev.seq);
      const bubble = li.lastElementChild;
      bubble.setAttribute('lang', normLang(ev.lang) === 'en' ? 'en' : ev.script || 'zh');
      if (parts) this.renderParts(bubble, ev);
      const sources = (Array.isArray(ev.sources) ? ev.sources : []).filter((s) => s && (s.title || s.url));
      if (sources.length) bubble.append(this.renderSources(sources, normLang(ev.lang)));
      const kind = ev.meta && ev.meta.kind;
      if (from === 'bot' && (kind === 'answer' || (!kind && sources.length))) this.renderFeedback(li, ev.seq);
      this.setMeta(li, ev);
      this.showTyping(from === 'agent' ? 'agent' : 'bot', false);
      if (ev.seq > (this.lastReplySeq || 0)) {
        this.lastReplySeq = ev.seq;
        if (this.qrBar) this.qrBar.remove();
        this.qrBar = null;
        const qr = (Array.isArray(ev.quick_replies) ? ev.quick_replies : []).filter((q) => q && q.value != null);
        const asList = qr.length > 16 || (qr.length > QUICK_REPLIES_AS_BUTTONS && kind === 'ask_region');
        const controls = from !== 'bot' ? null : kind === 'appointment_ask' ? this.formControls(ev, qr)
          : kind === 'lookup_form' && ev.meta.field === 'birth' ? this.birthControls(ev, qr)
          : PICK_KINDS[kind] && qr.length ? this.pickControls(ev, qr, PICK_KINDS[kind]) : null;
        if (controls) li.append((this.qrBar = controls));
        else if (qr.length) li.append((this.qrBar = this.quickReplies(qr, asList)));
      }
      if (from === 'bot') this.renderServiceResult(bubble, ev);
      if (live) {
        // Screen readers hear what is on screen: the title and short answer of an answer in parts.
        this.announce(`${this.senderLabel(ev)}: ${parts ? [ev.title, ev.short].filter(Boolean).join(' ') : ev.text}`);
        if (this.panel.hidden) {
          this.unread++;
          this.updateBadge();
        }
      }
    }

    /** Title (a heading), the short answer, and the details collapsed under a "Details" button. */
    renderParts(bubble, ev) {
      bubble.classList.add('parts');
      bubble.replaceChildren(h('div', { class: 'lead' },
        ev.title ? h('h3', { class: 'ttl' }, String(ev.title)) : null,
        h('p', { class: 'short' }, linkify(String(ev.short)))));
      if (typeof ev.details !== 'string' || !ev.details.trim()) return;
      const id = `nia-part-${++partId}`;
      const details = h('div', { class: 'det', id, hidden: true }, renderMarkup(ev.details));
      const toggle = h('button', { class: 'tog', type: 'button', 'aria-expanded': 'false', 'aria-controls': id }, this.t('details'));
      toggle.addEventListener('click', () => {
        const open = toggle.getAttribute('aria-expanded') !== 'true';
        toggle.setAttribute('aria-expanded', String(open));
        details.hidden = !open;
      });
      bubble.append(toggle, details);
    }

    /** "Sources (n)" and the first source on one line; pressing it lists every source with its ref.
     * A bilingual title ("中文 / English") starts with the English half in an English answer, so the
     * one line a phone shows is readable. */
    renderSources(sources, lang) {
      const id = `nia-part-${++partId}`;
      const list = h('ol', { id, class: 'clip' });
      const han = /[\u3400-\u9fff]/;
      sources.forEach((s, i) => {
        const url = safeHttpUrl(s.url);
        const ref = s.ref && s.title && !String(s.title).toLowerCase().includes(String(s.ref).toLowerCase()) ? `(${s.ref})` : null;
        const halves = String(s.title || '').split(' / ');
        const title = lang === 'en' && halves.length === 2 && han.test(halves[0]) && !han.test(halves[1]) ? `${halves[1]} / ${halves[0]}` : s.title;
        const label = [title || url, ref].filter(Boolean).join(' ');
        list.append(h('li', { hidden: i > 0 }, url ? h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, label) : label));
      });
      const toggle = h('button', { class: 'tog', type: 'button', 'aria-expanded': 'false', 'aria-controls': id }, this.t('sourcesN', { n: sources.length }));
      toggle.addEventListener('click', () => {
        const open = toggle.getAttribute('aria-expanded') !== 'true';
        toggle.setAttribute('aria-expanded', String(open));
        list.classList.toggle('clip', !open);
        [...list.children].forEach((item, i) => (item.hidden = !open && i > 0));
      });
      return h('div', { class: 'src' }, toggle, list);
    }

    quickReplies(items, asList) {
      const bar = h('div', { class: 'qr' });
      if (!asList) {
        for (const q of items) bar.append(h('button', { type: 'button', onclick: () => this.sendText(String(q.value)) }, String(q.label ?? q.value)));
        return bar;
      }
      // Long lists (the region picker) as one select: one tab stop instead of thirty.
      const select = h('select', { 'aria-label': this.t('choose') }, h('option', { value: '' }, this.t('choose')));
      items.forEach((q, i) => select.append(h('option', { value: String(i) }, String(q.label ?? q.value))));
      const go = h('button', { class: 'btn go', type: 'button', onclick: () => select.value !== '' && this.sendText(String(items[+select.value].value)) }, this.t('chooseSend'));
      bar.append(select, go);
      return bar;
    }

    /** A service control's label in the reply's script. */
    st(ev, key, vars) {
      const script = normLang(ev.lang) === 'en' ? 'en' : ev.script === 'zh-Hant' ? 'zh-Hant' : 'zh-Hans';
      const s = SERVICE_TEXT[script][key];
      return vars ? fill(s, vars) : s;
    }

    /** The appointment form's question as proper controls (meta.field; meta.slots, meta.dates,
     * meta.bookable): a labelled group of choice buttons, a date picker for the time slots' day.
     * A choice sends the same text a visitor could type; the "cancel" and "person" replies stay
     * plain quick replies. Null when the question has nothing to choose from (name, passport). */
    formControls(ev, qr) {
      const meta = ev.meta || {};
      const field = meta.field;
      if (!CHOICE_FIELDS.includes(field) || qr.length < 3) return null;
      const choices = qr.slice(0, -2);
      const box = h('div', { class: 'form-ctl' });
      const slots = Array.isArray(meta.slots) ? meta.slots : [];
      const group = this.choiceGroup(ev, field, field, choices, (b, q) => {
        const value = String(q.value);
        const slot = field === 'time' ? slots.find((x) => x && x.time === value) : null;
        if (field === 'confirm') b.classList.add('primary');
        if (!slot) return;
        b.replaceChildren(value, h('small', { 'aria-hidden': 'true' }, this.st(ev, 'free', { n: slot.free })));
        b.setAttribute('aria-label', this.st(ev, 'freeLabel', { t: value, n: slot.free }));
      });
      if (field === 'time') group.classList.add('slots');
      box.append(group);
      if (field === 'date') {
        const picker = this.datePicker(ev);
        if (picker) box.append(picker);
      }
      box.append(this.quickReplies(qr.slice(-2), false));
      return box;
    }

    /** A labelled group of choice buttons (a fieldset, the question as its legend), one Tab stop
     * (rove); each button sends its value, the same text a visitor could type. ``dress`` adjusts
     * a button (a time slot's free seats). */
    choiceGroup(ev, field, legendKey, items, dress) {
      const group = h('fieldset', { class: 'choices', 'data-field': field }, h('legend', null, this.st(ev, legendKey)));
      items.forEach((q, i) => {
        const value = String(q.value);
        const b = h('button', { type: 'button', 'data-value': value, onclick: () => this.sendText(value) }, String(q.label ?? value));
        if (dress) dress(b, q);
        b.tabIndex = i === 0 ? 0 : -1;
        group.append(b);
      });
      this.rove(group);
      return group;
    }

    /** A reply whose quick replies all answer its one question (the service guides' "which
     * procedure?", the consent's yes / no) as a labelled group of choice buttons. */
    pickControls(ev, qr, field) {
      return h('div', { class: 'form-ctl' }, this.choiceGroup(ev, field, PICK_LEGENDS[field], qr));
    }

    /** The look-up form's "date of birth?" as a date field (meta.field 'birth'): bounded from
     * 1900 to yesterday, a later day refused here before anything is sent; it sends the ISO date,
     * as a visitor could type it. The "cancel" and "person" replies stay plain quick replies. */
    birthControls(ev, qr) {
      const yesterday = new Date(Date.now() - 86400000);
      const max = `${yesterday.getFullYear()}-${String(yesterday.getMonth() + 1).padStart(2, '0')}-${String(yesterday.getDate()).padStart(2, '0')}`;
      const field = this.dateField(ev, {
        min: '1900-01-01', max, label: 'birth', button: 'sendBirth', cls: 'datepick birth', required: true,
        refusal: (d) => (d > max || d < '1900-01-01' ? 'badBirth' : null),
      });
      const box = h('div', { class: 'form-ctl' }, field);
      if (qr.length) box.append(this.quickReplies(qr, false));
      return box;
    }

    /** A native date field and its button: a day that ``refusal`` names a message key for is
     * refused here, with that message, before anything is sent; Enter sends as the button does. */
    dateField(ev, { min, max, label, button, refusal, hint = null, cls = 'datepick', required = false }) {
      const id = `nia-part-${++partId}`;
      const input = h('input', { type: 'date', id, min, max, required, 'aria-describedby': (hint ? id + '-h ' : '') + id + '-e' });
      const err = h('p', { class: 'err', id: id + '-e', role: 'alert' });
      const refuse = (key, d) => {
        input.setAttribute('aria-invalid', 'true');
        err.textContent = this.st(ev, key, { d });
        input.focus();
      };
      const send = () => {
        const d = input.value;
        // A half-typed or impossible day (31 April) leaves the value empty and badInput set:
        // say so, rather than a button that silently does nothing.
        if (!d) return input.validity.badInput ? refuse('badDate') : undefined;
        const refused = refusal(d);
        if (refused) return refuse(refused, d);
        this.sendText(d);
      };
      input.addEventListener('input', () => {
        input.removeAttribute('aria-invalid');
        err.textContent = '';
      });
      input.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') {
          e.preventDefault();
          send();
        }
      });
      const go = h('button', { class: 'btn', type: 'button', onclick: send }, this.st(ev, button));
      const note = hint && h('p', { class: 'hint', id: id + '-h' }, hint);
      return h('div', { class: cls }, h('label', { for: id }, this.st(ev, label)), input, go, note, err);
    }

    /** One Tab stop per group: the arrow keys, Home and End move between its buttons. */
    rove(group) {
      group.addEventListener('keydown', (e) => {
        const items = [...group.querySelectorAll('button')];
        const at = items.indexOf(this.root.activeElement);
        if (at < 0) return;
        const next = { ArrowRight: at + 1, ArrowDown: at + 1, ArrowLeft: at - 1, ArrowUp: at - 1, Home: 0, End: items.length - 1 }[e.key];
        if (next === undefined) return;
        e.preventDefault();
        const to = items[(next + items.length) % items.length];
        items.forEach((b) => (b.tabIndex = b === to ? 0 : -1));
        to.focus();
      });
    }

    /** Any bookable day of the window (meta.bookable, else the offered meta.dates): min and max
     * bound the native picker, and a day between them that is not bookable (a weekend, a holiday)
     * is refused here with the reason, before anything is sent. */
    datePicker(ev) {
      const meta = ev.meta || {};
      const days = (Array.isArray(meta.bookable) && meta.bookable.length ? meta.bookable : meta.dates || []).map(String).filter((d) => /^\d{4}-\d{2}-\d{2}$/.test(d));
      if (!days.length) return null;
      return this.dateField(ev, {
        min: days[0], max: days[days.length - 1], label: 'otherDay', button: 'pickDay',
        hint: this.st(ev, 'bookable', { a: days[0], b: days[days.length - 1] }),
        refusal: (d) => (days.includes(d) ? null : 'notBookable'),
      });
    }

    /** A booking's confirmation card (meta.booking, the passport already masked by the server),
     * the e-document's download and verify links (meta.download, meta.verify, meta.code), and a
     * service guide's checklist to download (meta.kind 'guide', meta.download). */
    renderServiceResult(bubble, ev) {
      const meta = ev.meta || {};
      const state = BOOKING_KINDS[meta.kind];
      if (state && meta.booking && typeof meta.booking === 'object') bubble.append(this.bookingCard(ev, meta.booking, state));
      const download = (meta.kind === 'lookup_result' || meta.kind === 'guide') && meta.download ? safeHttpUrl(meta.download, this.httpBase) : null;
      if (!download) return;
      this.dropAddress(bubble, String(meta.download));
      bubble.append(meta.kind === 'guide' ? this.guideLink(ev, download) : this.documentLinks(ev, download));
    }

    /** The reply's text without the address the control below links to: "Download the checklist
     * (PDF): http://…/guides/<43-character token>" wrapped over four lines of a phone becomes
     * "Download the checklist (PDF)" above its button. The transcript keeps the address. */
    dropAddress(bubble, url) {
      const text = bubble.firstChild;
      if (!text || text.nodeType !== Node.TEXT_NODE) return;
      text.data = text.data.split(url).map((part, i, all) => (i < all.length - 1 ? part.replace(/\s*[:：]\s*$/, '') : part)).join('');
    }

    guideLink(ev, download) {
      const id = `nia-part-${++partId}`;
      return h('section', { class: 'edoc', 'aria-labelledby': id },
        h('h4', { id }, this.st(ev, 'guide')),
        h('a', { class: 'btn', href: download, download: '', target: '_blank', rel: 'noopener noreferrer', type: 'application/pdf' }, this.st(ev, 'guideDownload')));
    }

    bookingCard(ev, b, state) {
      const zh = normLang(ev.lang) !== 'en';
      const office = b.office_name && typeof b.office_name === 'object' ? b.office_name[zh ? 'zh' : 'en'] || b.office_name.zh : b.office_id;
      const day = String(b.date || '');
      const date = new Date(day + 'T12:00:00Z');
      const dayText = isNaN(date) ? day : `${day} (${date.toLocaleDateString(zh ? 'zh-CN' : 'en', { weekday: 'short', timeZone: 'UTC' })})`;
      const row = (key, value, cls) => [h('dt', null, this.st(ev, key)), h('dd', { class: cls || null }, value)];
      const passport = `${this.st(ev, 'passport')} ${b.passport_masked || ''}`;
      const applicant = `${b.applicant_name || ''}${zh ? `（${passport}）` : ` (${passport})`}`;
      const id = `nia-part-${++partId}`;
      return h('section', { class: 'booking ' + state, 'aria-labelledby': id },
        h('h4', { id }, this.st(ev, state)),
        h('dl', null,
          row('reference', String(b.reference || ''), 'ref'),
          row('officeName', String(office || '')),
          row('day', dayText),
          row('at', String(b.time || '')),
          row('applicant', applicant),
          b.helper_name ? row('helper', String(b.helper_name)) : null));
    }

    documentLinks(ev, download) {
      const meta = ev.meta;
      const verify = meta.verify ? safeHttpUrl(meta.verify, this.httpBase) : null;
      const id = `nia-part-${++partId}`;
      return h('section', { class: 'edoc', 'aria-labelledby': id },
        h('h4', { id }, this.st(ev, 'edoc')),
        h('a', { class: 'btn', href: download, download: '', target: '_blank', rel: 'noopener noreferrer', type: 'application/pdf' }, this.st(ev, 'download')),
        meta.code ? h('p', null, `${this.st(ev, 'code')}: `, h('strong', null, String(meta.code))) : null,
        verify ? h('p', null, h('a', { href: verify, target: '_blank', rel: 'noopener noreferrer' }, this.st(ev, 'verify'))) : null);
    }

    renderFeedback(li, seq) {
      const label = h('span', { class: 'sr' });
      const bar = h('div', { class: 'fb' });
      const mk = (value, glyph, key) => {
        const b = h('button', { type: 'button', 'aria-pressed': String(this.convo.feedback[seq] === value), 'aria-label': this.t(key), title: this.t(key) }, glyph);
        b.addEventListener('click', () => {
          this.convo.feedback[seq] = value;
          this.save();
          for (const x of bar.querySelectorAll('button')) x.setAttribute('aria-pressed', String(x === b));
          this.sendControl({ type: 'feedback', seq, value });
          label.textContent = this.t('feedbackThanks');
          label.className = '';
        });
        return b;
      };
      bar.append(mk('up', '👍', 'helpful'), mk('down', '👎', 'notHelpful'), label);
      li.append(bar);
    }

    renderState(ev, live) {
      this.prevState = this.state;
      this.state = ev.state;
      this.queue = ev;
      this.agentName = ev.state === 'agent' ? ev.agent || null : null;
      if (ev.state !== 'agent') this.showTyping('agent', false);
      this.updateBanner();
      if (live && ev.state !== this.prevState) this.announce(this.banner.textContent);
      else if (live && ev.state === 'queued') this.announce(this.banner.textContent);
      // Closed by the visitor, or resolved by an agent (closed with rating: true).
      const resolved = ev.state === 'closed' || ev.rating === true;
      if (ev.state === 'closed' && this.prevState !== 'closed') {
        const li = h('li', { class: 'divider', 'aria-hidden': 'true' });
        li.dataset.seq = ev.seq;
        this.placeBySeq(li, ev.seq);
      }
      if (resolved && ev.state !== this.prevState) this.showRating();
      if (ev.state === 'closed') this.showEndActions();
      else if (!this.moved) this.endActions.hidden = true;
    }

    updateBanner() {
      const s = this.state;
      const b = this.banner;
      b.className = 'banner ' + (s || '');
      // Closed: the server's own message says so once; no banner repeating it.
      b.hidden = !(s === 'queued' || s === 'agent');
      if (s === 'queued') {
        const q = this.queue || {};
        if (Number.isInteger(q.position)) {
          const eta = q.eta_s == null ? NaN : Number(q.eta_s);
          const etaText = eta < 60 ? this.t('etaSoon') : this.t('etaMin', { m: Math.ceil(eta / 60) });
          b.textContent = this.t(Number.isFinite(eta) ? 'queued' : 'queuedNoEta', { n: q.position, eta: etaText });
        } else b.textContent = this.t('queuedNoPos');
      } else if (s === 'agent') {
        const n = this.agentName;
        b.textContent = this.t('agentState', { name: n ? (this.uiLang === 'zh' ? `（${n}）` : ` (${n})`) : '' });
      } else b.textContent = '';
    }

    showRating() {
      if (this.convo.rated || this.ratingCard) return;
      let score = 0;
      const stars = h('div', { class: 'stars', role: 'group' });
      this.tr(stars, 'rateTitle', 'aria-label');
      const submit = h('button', { class: 'btn', type: 'button', disabled: true });
      this.tr(submit, 'rateSubmit');
      for (let n = 1; n <= 5; n++) {
        const b = h('button', { type: 'button', 'aria-pressed': 'false', 'aria-label': this.t('star', { n }), title: this.t('star', { n }) }, '★');
        b.addEventListener('click', () => {
          score = n;
          [...stars.children].forEach((x, i) => x.setAttribute('aria-pressed', String(i < n)));
          submit.disabled = false;
        });
        stars.append(b);
      }
      const comment = h('textarea', { maxlength: '2000' });
      this.tr(comment, 'comment', 'aria-label');
      this.tr(comment, 'comment', 'placeholder');
      submit.addEventListener('click', () => {
        if (!score) return;
        const text = comment.value.trim();
        this.sendControl({ type: 'rating', score, comment: text || null });
      });
      const heading = this.tr(h('h3'), 'rateTitle');
      this.ratingCard = h('li', { class: 'card rating' }, heading, stars, comment, h('div', null, submit));
      this.log.append(this.ratingCard);
      this.scrollDown();
    }

    /** After the end: the composer stays (writing again reopens the chat), plus "new chat". */
    showEndActions() {
      const again = h('button', { class: 'btn2', type: 'button', onclick: () => this.newChat() });
      this.tr(again, 'newChat');
      this.endActions.replaceChildren(again);
      this.endActions.hidden = false;
    }

    addNote(text) {
      this.log.append(h('li', { class: 'divider' }, text));
      this.scrollDown();
    }

    showTyping(from, on) {
      clearTimeout(this.typingTimers[from]);
      this.typingFrom = on ? from : this.typingFrom === from ? null : this.typingFrom;
      if (on) this.typingTimers[from] = setTimeout(() => this.showTyping(from, false), TYPING_SHOWN_MS);
      this.typing.hidden = !this.typingFrom;
      if (this.typingFrom) this.typing.lastElementChild.textContent = this.t(this.typingFrom === 'agent' ? 'typingAgent' : 'typingBot');
      // Only an appearing indicator scrolls, and only a reader already at the bottom.
      const log = this.log;
      if (on && log.scrollHeight - log.scrollTop - log.clientHeight < 80) this.scrollDown();
    }

    scrollDown() {
      requestAnimationFrame(() => (this.log.scrollTop = this.log.scrollHeight));
    }

    updateBadge() {
      this.badge.hidden = this.unread === 0;
      this.badge.replaceChildren(String(this.unread), h('span', { class: 'sr' }, ' ' + this.t('newMessages', { n: this.unread })));
    }

    /** The live region says each new message once; a burst (a replay) is summed up by its last two. */
    announce(text) {
      this.announceQueue.push(text);
      clearTimeout(this.timers.announce);
      this.timers.announce = setTimeout(() => {
        this.live.textContent = this.announceQueue.slice(-2).join('\n');
        this.announceQueue = [];
      }, 250);
    }

    showError(text) {
      this.errorLine.textContent = text || '';
    }

    // ---------------------------------------------------------------- outgoing
    onInput() {
      const n = charCount(this.input.value);
      const over = n > MAX_CHARS;
      this.input.setAttribute('aria-invalid', String(over));
      this.sendBtn.setAttribute('aria-disabled', String(over));
      this.counter.hidden = n < MAX_CHARS * 0.9;
      this.counter.textContent = `${n} / ${MAX_CHARS}`;
      if (over) this.showError(this.t('tooLong', { n }));
      else if (this.errorLine.textContent && this.errorLine.dataset.kind !== 'server') this.showError('');
      this.input.style.height = 'auto';
      this.input.style.height = Math.min(140, this.input.scrollHeight + 2) + 'px';
      if (this.state === 'agent' || this.state === 'queued') this.visitorTyping(n > 0);
    }

    visitorTyping(on) {
      clearTimeout(this.timers.typingOff);
      if (on) this.timers.typingOff = setTimeout(() => this.visitorTyping(false), 3000);
      if (on === this.typingSent) return;
      this.typingSent = on;
      this.send({ type: 'typing', on });
    }

    submit() {
      const text = this.input.value;
      const n = charCount(text);
      if (n > MAX_CHARS) {
        this.showError(this.t('tooLong', { n }));
        this.input.focus();
        return;
      }
      if (!text.trim()) return;
      if (this.sendText(text.trim())) {
        this.input.value = '';
        this.onInput();
        this.visitorTyping(false);
      }
    }

    sendText(text) {
      if (charCount(text) > MAX_CHARS) {
        this.showError(this.t('tooLong', { n: charCount(text) }));
        return false;
      }
      const m = { id: newMessageId(), text, ts: new Date().toISOString() };
      this.convo.outbox.push(m);
      this.save();
      this.renderPending(m);
      this.scrollDown();
      if (this.qrBar) {
        // A choice made from the keyboard would leave the focus on a removed button, outside
        // the panel: it goes to the message box, one Shift+Tab from the next question's choices.
        // (A tap matches no :focus-visible and leaves a phone's keyboard closed.)
        const byKeyboard = !!this.qrBar.querySelector(':focus-visible');
        this.qrBar.remove();
        this.qrBar = null;
        if (byKeyboard) this.input.focus();
      }
      if (!this.send({ type: 'message', id: m.id, text })) this.connect();
      this.showError('');
      return true;
    }

    setLang(lang) {
      if (lang !== 'zh' && lang !== 'en') return;
      this.convo.langChosen = true;
      if (lang !== this.uiLang) this.setUiLang(lang);
      this.save();
      if (this.convo.session || this.ws) this.sendControl({ type: 'lang', lang });
    }

    endChat() {
      if (this.state === 'closed') return;
      if (!this.endArmed) {
        // Two presses: an accidental tap must not end a conversation.
        this.endArmed = true;
        this.endBtn.textContent = this.t('endConfirm');
        this.timers.endArm = setTimeout(() => {
          this.endArmed = false;
          this.endBtn.textContent = this.t('end');
        }, 4000);
        return;
      }
      clearTimeout(this.timers.endArm);
      this.endArmed = false;
      this.endBtn.textContent = this.t('end');
      this.sendControl({ type: 'close' });
    }

    newChat() {
      this.convo.reset(false);
      this.convo.outbox = [];
      this.save();
      this.clearLog();
      this.updateBanner();
      this.endActions.hidden = true;
      this.form.hidden = false;
      this.closeTransfer(false);
      const ws = this.ws;
      this.ws = null;
      this.ready = false;
      if (ws) ws.close(1000);
      this.moved = false;
      this.attempt = 0;
      this.connect();
      this.input.focus();
    }

    requestTransfer() {
      if (!this.ready) {
        this.showTransferBox([h('p', null, this.t('transferOffline'))]);
        this.connect();
        return;
      }
      this.send({ type: 'transfer_request' });
    }

    showTransfer(f) {
      const url = safeHttpUrl(f.url, this.httpBase);
      const qr = safeHttpUrl(f.qr || '/qr.svg?t=' + encodeURIComponent(f.token || ''), this.httpBase);
      const valid = h('p', { 'aria-live': 'polite' });
      let left = Number(f.expires_in) || 120;
      const img = h('img', { src: qr, alt: this.t('qrAlt'), width: '200', height: '200' });
      const tick = () => {
        valid.textContent = left > 0 ? this.t('transferValid', { s: left }) : this.t('transferExpired');
        if (left <= 0) {
          clearInterval(this.timers.transfer);
          img.style.opacity = '0.15';
        }
      };
      tick();
      clearInterval(this.timers.transfer);
      this.timers.transfer = setInterval(() => (left--, left % 10 === 0 || left <= 0 ? tick() : null), 1000);
      const renew = h('button', { class: 'btn2', type: 'button', onclick: () => this.send({ type: 'transfer_request' }) }, this.t('transferNew'));
      this.showTransferBox([
        img,
        h('p', null, this.t('transferLink'), h('br'), url ? h('a', { href: url, target: '_blank', rel: 'noopener noreferrer', class: 'turl' }, url) : ''),
        valid,
        renew,
      ]);
    }

    showTransferBox(content) {
      this.closeTransfer(false);
      const close = h('button', { class: 'btn', type: 'button', onclick: () => this.closeTransfer() }, this.t('transferClose'));
      const title = h('h3', { id: 'nia-transfer-title', tabindex: '-1' }, this.t('transferTitle'));
      this.transferBox = h('div', { class: 'transfer', role: 'group', 'aria-labelledby': 'nia-transfer-title' }, title, ...content, close);
      this.panel.append(this.transferBox);
      title.focus();
    }

    closeTransfer(restoreFocus = true) {
      clearInterval(this.timers.transfer);
      if (!this.transferBox) return;
      this.transferBox.remove();
      this.transferBox = null;
      if (restoreFocus && !this.panel.hidden) this.phoneBtn.focus();
    }

    /** A plain-text transcript built from the stored events; nothing is fetched. */
    downloadTranscript() {
      const lines = [this.t('transcript'), `${this.t('exported')}: ${new Date().toLocaleString(this.htmlLang())}`, ''];
      for (const ev of this.convo.events) {
        const time = ev.ts ? new Date(ev.ts).toLocaleString(this.htmlLang()) : '';
        if (ev.type === 'visitor') lines.push(`[${time}] ${this.t('you')}: ${ev.text}`);
        else if (ev.type === 'reply') {
          lines.push(`[${time}] ${this.senderLabel(ev)}: ${ev.text}`);
          for (const s of ev.sources || []) lines.push(`    ${this.t('sources')}: ${s.title || ''}${s.url ? ' <' + s.url + '>' : ''}`);
        } else if (ev.type === 'state' && ev.state === 'closed') lines.push(`[${time}] ${this.t('closed')}`);
      }
      for (const m of this.convo.outbox) lines.push(`[${new Date(m.ts).toLocaleString(this.htmlLang())}] ${this.t('you')}: ${m.text} (${this.t('waitingNet')})`);
      const blob = new Blob([lines.join('\r\n') + '\r\n'], { type: 'text/plain;charset=utf-8' });
      const a = h('a', { href: URL.createObjectURL(blob), download: `12367-chat-${new Date().toISOString().slice(0, 16).replace(/[-:T]/g, '')}.txt`, hidden: true });
      this.root.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    }

    save() {
      if (this.convo) store.set(this.storageKey, this.convo.snapshot());
    }
  }

  customElements.define('nia-chat', NiaChatElement);
  window.NiaChat = { Conversation, backoffDelay, safeHttpUrl, palette };

  /** The one-script-tag embed: data-* of the script tag become attributes of a new <nia-chat>. */
  function autoEmbed() {
    if (!SCRIPT || SCRIPT.dataset.embed === 'none' || document.querySelector('nia-chat')) return;
    const el = document.createElement('nia-chat');
    for (const name of ['server', 'lang', 'color', 'position']) if (SCRIPT.dataset[name]) el.setAttribute(name, SCRIPT.dataset[name]);
    document.body.append(el);
  }
  if (document.body) autoEmbed();
  else document.addEventListener('DOMContentLoaded', autoEmbed);
})();
