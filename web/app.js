/* app.js — the chat page of coachd.
 *
 * One session per browser: its id is kept in localStorage and the
 * conversation is rebuilt from GET /api/coach/sessions/{id} on load. A
 * question is POSTed to the session's messages; the answer is read with an
 * EventSource from the stream_url the server returns (the question never
 * goes into a URL). Every event carries an id "<message>:<seq>"; events at
 * or below the last seen seq are ignored, so a resumed stream can never
 * duplicate text.
 *
 * Safety of rendering: everything that comes from the model, the knowledge
 * base or the safety policy is put into the page with createElement and
 * textContent only (never innerHTML). Answers get a small Markdown subset:
 * paragraphs, numbered and bulleted lists, **bold**, http(s) links and [n]
 * source markers. Images are never rendered and any other link scheme stays
 * plain text. No inline styles either: the page's CSP forbids them, so
 * every visual state is a class. */
'use strict';

(() => {
  const STORE_KEY = 'coach.session';
  const $ = (id) => document.getElementById(id);
  const ui = {
    loading: $('loading'), startView: $('start-view'), chatView: $('chat-view'),
    startForm: $('start-form'), parentName: $('parent-name'), startBtn: $('start-btn'),
    startError: $('start-error'), chatTitle: $('chat-title'), messages: $('messages'),
    askForm: $('ask-form'), question: $('question'), askError: $('ask-error'),
    sendBtn: $('send-btn'), stopBtn: $('stop-btn'), deleteBtn: $('delete-btn'),
    announcer: $('announcer'), status: $('status-announcer'), dialog: $('confirm-dialog'),
    confirmOk: $('confirm-ok'), confirmCancel: $('confirm-cancel'),
  };

  let session = null;   // { id }
  let turn = null;      // the answer being streamed, see startTurn
  let sending = false;

  /* ---------- small helpers ---------- */

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  const str = (v) => (typeof v === 'string' ? v : '');

  function storeGet() {
    try { return localStorage.getItem(STORE_KEY); } catch { return null; }
  }
  function storeSet(id) {
    try {
      if (id) localStorage.setItem(STORE_KEY, id);
      else localStorage.removeItem(STORE_KEY);
    } catch { /* storage off: the session lasts until reload */ }
  }

  async function call(method, path, body) {
    const opts = { method, headers: {} };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    let res;
    try { res = await fetch(path, opts); } catch { return { status: 0, json: null }; }
    let json = null;
    try {
      const text = await res.text();
      json = text ? JSON.parse(text) : null;
    } catch { /* not JSON */ }
    return { status: res.status, json };
  }

  function errorText(r, fallback) {
    const e = r.json && r.json.error;
    if (e && typeof e.message === 'string' && e.message) return e.message;
    if (r.status === 0) return 'Could not reach the coach. Check your connection and try again.';
    return fallback;
  }

  /* Only absolute http(s) URLs become links. */
  function safeHref(u) {
    if (typeof u !== 'string') return null;
    let url;
    try { url = new URL(u); } catch { return null; }
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  }

  function say(text) {            // a polite status for screen readers
    ui.status.textContent = '';
    ui.status.textContent = text;
  }

  function nearBottom() {
    const d = document.documentElement;
    return window.innerHeight + window.scrollY >= d.scrollHeight - 120;
  }
  function toBottom() {
    window.scrollTo(0, document.documentElement.scrollHeight);
  }

  /* ---------- Markdown subset, built from DOM nodes ---------- */

  const INLINE = /(!\[[^\]\n]*\]\([^)\n]*\))|\[([^\]\n]+)\]\(([^)\s]+)\)|\[(\d{1,3})\]|\*\*([^*\n]+?)\*\*/g;

  function refMark(n, ctx) {
    const sup = el('sup', 'ref');
    const c = ctx.cites.get(n);
    if (c) {
      const a = el('a');
      a.href = '#' + ctx.prefix + n;
      a.append(el('span', 'sr-only', 'source '), String(n));
      sup.append(a);
    } else {
      sup.textContent = String(n);
    }
    return sup;
  }

  function inline(parent, text, ctx) {
    const re = new RegExp(INLINE.source, 'g');
    let last = 0;
    let m;
    while ((m = re.exec(text))) {
      if (m.index > last) parent.append(text.slice(last, m.index));
      if (m[1]) {
        parent.append(m[1]);                       // images stay plain text
      } else if (m[2] !== undefined) {
        const href = safeHref(m[3]);
        if (href) {
          const a = el('a', null, m[2]);
          a.href = href;
          a.target = '_blank';
          a.rel = 'noopener noreferrer';
          parent.append(a);
        } else {
          parent.append(m[0]);                     // javascript: etc. stay text
        }
      } else if (m[4] !== undefined) {
        parent.append(refMark(Number(m[4]), ctx));
      } else {
        const b = el('strong');
        inline(b, m[5], ctx);
        parent.append(b);
      }
      last = re.lastIndex;
    }
    if (last < text.length) parent.append(text.slice(last));
  }

  function renderMarkdown(text, ctx) {
    const frag = document.createDocumentFragment();
    let para = null;
    let list = null;
    for (const raw of text.replace(/\r\n?/g, '\n').split('\n')) {
      const line = raw.trim().replace(/[ \t]+(?=\[\d{1,3}\](?!\())/g, '');
      let m;
      if (!line) { para = null; list = null; continue; }
      const num = /^(\d{1,3})[.)]\s+(.*)$/.exec(line);
      const bullet = num ? null : /^[-*•]\s+(.*)$/.exec(line);
      if (num || bullet) {
        const tag = num ? 'ol' : 'ul';
        if (!list || list.tagName.toLowerCase() !== tag) {
          list = el(tag);
          if (num && num[1] !== '1') list.start = Number(num[1]);
          frag.append(list);
        }
        para = null;
        const li = el('li');
        inline(li, num ? num[2] : bullet[1], ctx);
        list.append(li);
      } else if ((m = /^#{1,6}\s+(.*)$/.exec(line))) {
        list = null;
        para = null;
        const p = el('p');
        const b = el('strong');
        inline(b, m[1], ctx);
        p.append(b);
        frag.append(p);
      } else {
        list = null;
        if (para) para.append(el('br'));
        else { para = el('p'); frag.append(para); }
        inline(para, line, ctx);
      }
    }
    return frag;
  }

  /* The text of a Markdown slice as a screen reader should hear it. */
  function spoken(text) {
    return text
      .replace(/!\[[^\]\n]*\]\([^)\n]*\)/g, '')
      .replace(/\[([^\]\n]+)\]\([^)\s]+\)/g, '$1')
      .replace(/\s*\[\d{1,3}\]/g, '')
      .replace(/\*\*/g, '')
      .replace(/^\s*(?:[-*•]|\d{1,3}[.)]|#{1,6})\s+/gm, '')
      .replace(/\s+/g, ' ')
      .trim();
  }

  /* ---------- messages ---------- */

  function citeMap(cites) {
    const map = new Map();
    for (const c of cites) {
      if (c && typeof c === 'object' && Number.isInteger(c.id))
        map.set(c.id, { source: str(c.source) || 'Source', title: str(c.title), url: c.url });
    }
    return map;
  }

  function addUser(text) {
    const root = el('div', 'msg user');
    const bubble = el('div', 'bubble');
    bubble.append(el('span', 'sr-only', 'You asked: '));
    bubble.append(el('p', 'user-text', text));
    root.append(bubble);
    ui.messages.append(root);
    return root;
  }

  function addAssistant(id) {
    const root = el('div', 'msg assistant');
    const bubble = el('div', 'bubble');
    const p = {
      id: str(id), root, bubble,
      label: el('span', 'sr-only', 'The coach answered: '),
      extra: el('div', 'extra'),
      body: el('div', 'answer'),
      note: el('p', 'note'),
      tail: el('div', 'tail'),
    };
    p.note.hidden = true;
    bubble.append(p.label, p.extra, p.body, p.note, p.tail);
    root.append(bubble);
    ui.messages.append(root);
    return p;
  }

  function setState(p, state) {
    p.root.dataset.status = state;
    p.root.setAttribute('aria-busy', state === 'waiting' || state === 'streaming' ? 'true' : 'false');
  }

  function showDots(p) {
    const dots = el('div', 'dots');
    dots.append(el('span', 'dot'), el('span', 'dot'), el('span', 'dot'),
      el('span', 'sr-only', 'The coach is thinking'));
    p.body.replaceChildren(dots);
    setState(p, 'waiting');
  }

  function setNote(p, text, cls) {
    p.note.className = 'note' + (cls ? ' ' + cls : '');
    p.note.textContent = text || '';
    p.note.hidden = !text;
  }

  function renderBody(p, text, cites, cursor) {
    const ctx = { cites: citeMap(cites), prefix: 'src-' + p.id + '-' };
    const frag = renderMarkdown(text, ctx);
    if (cursor) {
      const c = el('span', 'cursor', '▮');
      c.setAttribute('aria-hidden', 'true');
      let host = frag.lastChild;
      while (host && (host.tagName === 'OL' || host.tagName === 'UL')) host = host.lastChild;
      (host || frag).append(c);
    }
    p.body.replaceChildren(frag);
  }

  function renderCites(p, cites) {
    const items = cites.filter((c) => c && typeof c === 'object');
    if (!items.length) return;
    const box = el('div', 'cites');
    const detail = el('p', 'cite-detail');
    detail.setAttribute('aria-hidden', 'true');
    detail.hidden = true;
    box.append(el('p', 'cites-label', 'Sources'));
    const list = el('ul', 'badges');
    for (const c of items) {
      const n = Number.isInteger(c.id) ? c.id : null;
      const source = str(c.source) || 'Source';
      const title = str(c.title);
      const href = safeHref(c.url);
      const b = el(href ? 'a' : 'span', 'badge');
      if (n !== null) b.id = 'src-' + p.id + '-' + n;
      b.title = title ? source + ': ' + title : source;
      b.append(el('span', 'badge-text', '[' + (n === null ? '?' : n) + '] ' + source));
      if (title) b.append(el('span', 'sr-only', ': ' + title));
      if (href) {
        b.href = href;
        b.target = '_blank';
        b.rel = 'noopener noreferrer';
        b.append(el('span', 'sr-only', ' (opens in a new tab)'));
      }
      const show = () => {
        detail.textContent = title ? source + ' — ' + title : source;
        detail.hidden = false;
      };
      b.addEventListener('mouseenter', show);
      b.addEventListener('focus', show);
      const li = el('li');
      li.append(b);
      list.append(li);
    }
    box.append(list, detail);
    p.tail.append(box);
  }

  function renderRefusal(p, r) {
    const cat = str(r.category);
    const urgent = cat === 'emergency' || cat === 'crisis';
    const box = el('div', 'refusal ' + (urgent ? 'urgent' : 'gentle'));
    box.dataset.category = cat;
    p.root.classList.add('is-refusal');
    if (urgent) {
      const lab = el('p', 'urgent-label');
      const icon = el('span', 'urgent-icon', '!');
      icon.setAttribute('aria-hidden', 'true');
      lab.append(icon, 'Call now');
      box.append(lab);
    }
    if (str(r.empathy)) box.append(el('p', 'empathy', r.empathy));
    if (str(r.message)) box.append(el('p', 'refusal-message', r.message));
    const res = Array.isArray(r.resources) ? r.resources : [];
    if (res.length) {
      const list = el('ul', 'resources');
      list.setAttribute('aria-label', urgent ? 'Call now' : 'Where to get help');
      for (const x of res) {
        if (!x || typeof x !== 'object') continue;
        const li = el('li', 'resource');
        const name = str(x.name) || 'Help line';
        li.append(el('span', 'resource-name', name));
        const digits = str(x.phone).replace(/\D/g, '');
        if (digits.length >= 2) {
          const a = el('a', 'call', 'Call ' + str(x.phone).trim());
          a.href = 'tel:' + digits;
          a.append(el('span', 'sr-only', ' (' + name + ')'));
          li.append(a);
        }
        const href = safeHref(x.url);
        if (href) {
          const a = el('a', 'web', 'Visit ' + new URL(href).hostname.replace(/^www\./, ''));
          a.href = href;
          a.target = '_blank';
          a.rel = 'noopener noreferrer';
          a.append(el('span', 'sr-only', ' (' + name + ', opens in a new tab)'));
          li.append(a);
        }
        list.append(li);
      }
      box.append(list);
    }
    p.extra.replaceChildren(box);
  }

  function retryBox(p, message, question) {
    const box = el('div', 'error-box');
    box.append(el('p', 'error-title', 'The coach could not answer.'));
    if (message && message !== 'The coach could not answer.') box.append(el('p', 'error-detail', message));
    if (question) {
      const btn = el('button', 'secondary retry', 'Retry');
      btn.type = 'button';
      btn.addEventListener('click', () => {
        if (turn || sending) return;
        btn.disabled = true;
        ask(question, false).then((ok) => { if (ok) btn.remove(); else btn.disabled = false; });
      });
      box.append(btn);
    }
    p.tail.append(box);
  }

  /* Final rendering of an assistant message (from history or a finished
   * stream). m: { content, citations, refusal, status, error, question }. */
  function renderFinal(p, m) {
    const cites = Array.isArray(m.citations) ? m.citations : [];
    p.tail.replaceChildren();
    p.extra.replaceChildren();
    p.root.classList.remove('reconnecting');
    if (m.refusal && typeof m.refusal === 'object') renderRefusal(p, m.refusal);
    renderBody(p, str(m.content), cites, false);
    renderCites(p, cites);
    setNote(p, null);
    if (m.status === 'stopped') {
      setNote(p, str(m.content) ? 'Stopped. The answer above is incomplete.' : 'Stopped.', 'stopped');
    } else if (m.status === 'incomplete') {
      retryBox(p, str(m.error), m.question);
    } else if (!str(m.content) && !m.refusal) {
      setNote(p, 'No answer was given.', 'stopped');
    }
    setState(p, m.status || 'complete');
  }

  /* ---------- streaming ---------- */

  function setBusy(on) {
    ui.question.disabled = on;
    ui.sendBtn.disabled = on;
    ui.stopBtn.hidden = !on;
    ui.stopBtn.disabled = false;
  }

  function seqOf(id) {
    const i = typeof id === 'string' ? id.lastIndexOf(':') : -1;
    if (i < 0) return null;
    const n = Number(id.slice(i + 1));
    return Number.isInteger(n) ? n : null;
  }

  function announceSentences(t, final) {
    const rest = t.text.slice(t.announced);
    let end = final ? rest.length : 0;
    if (!final) {
      const re = /(?<!^\s*\d{1,3})[.!?][)"'”’\]]*(?=\s)|\n/gm;
      let m;
      while ((m = re.exec(rest))) end = m.index + m[0].length;
    }
    if (!end) return;
    const said = spoken(rest.slice(0, end));
    t.announced += end;
    if (said) ui.announcer.append(el('span', null, said + ' '));
  }

  function startTurn(p, mid, url, question, ownFocus) {
    const t = { p, mid, url, question, text: '', seq: 0, announced: 0, refusal: null,
      error: null, finished: false, es: null, reconnecting: false, reopens: 0 };
    turn = t;
    ui.announcer.replaceChildren();
    setBusy(true);
    if (ownFocus) ui.stopBtn.focus();
    showDots(p);
    openStream(t, url);
  }

  function openStream(t, url) {
    const es = new EventSource(url);
    t.es = es;
    es.onopen = () => setReconnecting(t, false);
    es.onmessage = (ev) => onEvent(t, ev);
    es.onerror = () => {
      if (turn !== t || t.finished || t.es !== es) return;
      if (es.readyState === EventSource.CONNECTING) {
        setReconnecting(t, true);
      } else {
        es.close();
        recover(t);
      }
    };
  }

  function setReconnecting(t, on) {
    if (t.reconnecting === on || t.finished) return;
    t.reconnecting = on;
    t.p.root.classList.toggle('reconnecting', on);
    setNote(t.p, on ? 'Reconnecting…' : null, on ? 'reconnecting-note' : null);
    if (on) say('Connection lost. Reconnecting…');
    else if (t.text) renderBody(t.p, t.text, [], true);
  }

  function onEvent(t, ev) {
    if (turn !== t || t.finished) return;
    let data;
    try { data = JSON.parse(ev.data); } catch { return; }
    if (!data || typeof data !== 'object') return;
    const seq = seqOf(ev.lastEventId);
    if (seq !== null) {
      if (seq <= t.seq) return;          // already seen (a resumed stream)
      t.seq = seq;
    }
    setReconnecting(t, false);
    if (typeof data.chunk === 'string') {
      const stick = nearBottom();
      t.text += data.chunk;
      setState(t.p, 'streaming');
      renderBody(t.p, t.text, [], true);
      announceSentences(t, false);
      if (stick) toBottom();
    } else if (data.type === 'refusal' && data.data && typeof data.data === 'object') {
      t.refusal = data.data;
      if (!t.text) t.p.body.replaceChildren();
      renderRefusal(t.p, t.refusal);
      ui.announcer.append(el('span', null,
        spoken(str(t.refusal.empathy) + ' ' + str(t.refusal.message)) + ' '));
    } else if (data.type === 'error') {
      t.error = str(data.message) || 'The coach could not answer.';
    } else if (data.done === true) {
      finish(t, {
        content: t.text, citations: data.citations, refusal: t.refusal, question: t.question,
        status: data.stopped ? 'stopped' : t.error !== null ? 'incomplete' : 'complete',
        error: t.error,
      });
    }
  }

  function finish(t, m) {
    t.finished = true;
    if (t.es) t.es.close();
    if (turn === t) turn = null;
    const stick = nearBottom();
    if (!t.refusal) announceSentences(t, true);
    renderFinal(t.p, m);
    setBusy(false);
    if (m.status === 'stopped') say('The answer was stopped.');
    else if (m.status === 'incomplete') say('The coach could not answer. You can retry.');
    else say('The answer is complete.');
    const a = document.activeElement;
    if (!a || a === document.body || a === ui.stopBtn) ui.question.focus();
    if (stick) toBottom();
  }

  /* The stream closed for good without a done event (204: already
   * finished, or an error status): show what the server saved. */
  async function recover(t) {
    const r = await call('GET', '/api/coach/sessions/' + encodeURIComponent(session ? session.id : ''));
    if (turn !== t || t.finished) return;
    if (r.status === 404) {
      t.finished = true;
      turn = null;
      setBusy(false);
      forget('This conversation is no longer available. You can start a new one.');
      return;
    }
    const msgs = r.status === 200 && r.json && Array.isArray(r.json.messages) ? r.json.messages : [];
    const m = msgs.find((x) => x && x.id === t.mid);
    if (m && m.status !== 'streaming') {
      finish(t, { content: str(m.content), citations: m.citations, refusal: m.refusal,
        status: m.status, question: t.question, error: null });
    } else if (m && t.reopens < 3) {
      /* still running: open the stream again from the last event seen */
      t.reopens++;
      setReconnecting(t, true);
      const from = t.seq ? '?last_event_id=' + encodeURIComponent(t.mid + ':' + t.seq) : '';
      setTimeout(() => { if (turn === t && !t.finished) openStream(t, t.url.split('?')[0] + from); },
        1000 * t.reopens);
    } else {
      finish(t, { content: t.text, citations: [], refusal: t.refusal, status: 'incomplete',
        question: t.question, error: 'The connection to the coach was lost.' });
    }
  }

  /* Sends a question; resolves true when the answer started. */
  async function ask(question, fromInput) {
    if (turn || sending || !session) return false;
    if (!question.trim()) {
      ui.askError.textContent = 'Please type a question.';
      return false;
    }
    sending = true;
    ui.sendBtn.disabled = true;
    ui.askError.textContent = '';
    const hadFocus = document.activeElement === ui.question;
    const r = await call('POST', '/api/coach/sessions/' + encodeURIComponent(session.id) + '/messages',
      { question });
    sending = false;
    ui.sendBtn.disabled = false;
    const url = r.json && typeof r.json.stream_url === 'string' ? new URL(r.json.stream_url, location.href) : null;
    if (r.status === 202 && url && url.origin === location.origin && typeof r.json.message_id === 'string') {
      if (fromInput) ui.question.value = '';
      addUser(question);
      startTurn(addAssistant(r.json.message_id), r.json.message_id, url.href, question, hadFocus);
      toBottom();
      return true;
    }
    if (r.status === 404 && r.json && r.json.error && r.json.error.code === 'session_not_found') {
      forget('This conversation is no longer available. You can start a new one.');
      return false;
    }
    ui.askError.textContent = errorText(r, 'Something went wrong. Please try again.');
    if (fromInput) ui.question.focus();
    return false;
  }

  /* ---------- views ---------- */

  function showStart(message) {
    session = null;
    ui.loading.hidden = true;
    ui.chatView.hidden = true;
    ui.deleteBtn.hidden = true;
    ui.startView.hidden = false;
    ui.startBtn.disabled = false;
    ui.startError.textContent = message || '';
  }

  function forget(message) {
    if (turn) { turn.finished = true; if (turn.es) turn.es.close(); turn = null; }
    storeSet(null);
    ui.messages.replaceChildren();
    ui.announcer.replaceChildren();
    setBusy(false);
    showStart(message);
  }

  function showChat(s) {
    session = { id: s.session_id };
    const name = str(s.parent_name).trim();
    ui.chatTitle.textContent = name ? 'Hi, ' + name + '. What’s on your mind?' : 'What’s on your mind?';
    ui.loading.hidden = true;
    ui.startView.hidden = true;
    ui.chatView.hidden = false;
    ui.deleteBtn.hidden = false;
    ui.askError.textContent = '';
    ui.messages.replaceChildren();
    setBusy(false);
    const msgs = Array.isArray(s.messages) ? s.messages : [];
    let lastQuestion = '';
    msgs.forEach((m, i) => {
      if (!m || typeof m !== 'object') return;
      if (m.role === 'user') {
        lastQuestion = str(m.content);
        addUser(lastQuestion);
        return;
      }
      const p = addAssistant(m.id);
      if (m.status === 'streaming' && i === msgs.length - 1 && typeof m.id === 'string') {
        startTurn(p, m.id, '/api/coach/messages/' + encodeURIComponent(m.id) + '/stream',
          lastQuestion, false);
        return;
      }
      const isLast = i === msgs.length - 1;
      renderFinal(p, { content: m.content, citations: m.citations, refusal: m.refusal,
        status: m.status === 'streaming' ? 'incomplete' : m.status,
        question: isLast ? lastQuestion : '', error: null });
    });
    toBottom();
  }

  async function startSession(ev) {
    ev.preventDefault();
    ui.startBtn.disabled = true;
    ui.startError.textContent = '';
    const name = ui.parentName.value.trim();
    const r = await call('POST', '/api/coach/sessions', name ? { parent_name: name } : {});
    if (r.status === 201 && r.json && typeof r.json.session_id === 'string') {
      storeSet(r.json.session_id);
      showChat({ session_id: r.json.session_id, parent_name: name, messages: [] });
      ui.question.focus();
      return;
    }
    ui.startBtn.disabled = false;
    ui.startError.textContent = errorText(r, 'The session could not be started. Please try again.');
  }

  async function deleteConversation() {
    if (!session) return;
    const id = session.id;
    ui.deleteBtn.disabled = true;
    const r = await call('DELETE', '/api/coach/sessions/' + encodeURIComponent(id));
    ui.deleteBtn.disabled = false;
    if (r.status === 204 || r.status === 404) {
      forget('Your conversation was deleted.');
      ui.parentName.focus();
    } else {
      ui.askError.textContent = errorText(r, 'The conversation could not be deleted. Please try again.');
    }
  }

  function confirmDelete() {
    if (typeof ui.dialog.showModal === 'function') ui.dialog.showModal();
    else if (window.confirm('Delete this conversation? This cannot be undone.')) deleteConversation();
  }

  async function boot() {
    const id = storeGet();
    if (!id) { showStart(); return; }
    const r = await call('GET', '/api/coach/sessions/' + encodeURIComponent(id));
    if (r.status === 200 && r.json && typeof r.json.session_id === 'string') {
      showChat(r.json);
    } else if (r.status === 404 || r.status === 400) {
      storeSet(null);
      showStart();
    } else {
      showStart(errorText(r, 'Your last conversation could not be loaded right now.'));
    }
  }

  /* ---------- wiring ---------- */

  ui.startForm.addEventListener('submit', startSession);
  ui.askForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    ask(ui.question.value, true);
  });
  ui.question.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      ask(ui.question.value, true);
    }
  });
  ui.stopBtn.addEventListener('click', async () => {
    const t = turn;
    if (!t) return;
    ui.stopBtn.disabled = true;
    const r = await call('POST', '/api/coach/messages/' + encodeURIComponent(t.mid) + '/cancel');
    if (r.status !== 200 && turn === t) {
      ui.stopBtn.disabled = false;
      ui.askError.textContent = errorText(r, 'The answer could not be stopped.');
    }
  });
  ui.deleteBtn.addEventListener('click', confirmDelete);
  ui.confirmCancel.addEventListener('click', () => ui.dialog.close());
  ui.confirmOk.addEventListener('click', () => {
    ui.dialog.close();
    deleteConversation();
  });

  boot();
})();
