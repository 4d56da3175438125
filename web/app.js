/* app.js — the chat page of coachd.
 *
 * Conversations. Each conversation is a server session; the ids this
 * browser has used are kept in localStorage ("coach.conversations", titled
 * by the first question) and the open one in "coach.session". A
 * conversation is always rebuilt from GET /api/coach/sessions/{id}, so the
 * list holds no answer text. A second tab of the same conversation follows
 * GET /api/coach/sessions/{id}/events: each announced message it does not
 * show yet makes it read the session again and stream the new answer.
 *
 * Asking. The question is POSTed (never put in a URL) and the answer is read
 * with an EventSource from the returned stream_url. Every event carries an
 * id "<message>:<seq>"; events at or below the last seen seq are ignored,
 * so a resumed stream can never duplicate text. The question box stays
 * usable while an answer streams: a question sent meanwhile waits for the
 * answer to end (or, if the parent says so, stops it). When the stream
 * fails the page reconnects itself with backoff (0.5 s doubling to 15 s,
 * the attempt shown), keeping every word already shown.
 *
 * Rendering. Markdown goes through markdown-it (vendored, html:false, no
 * images); its HTML is parsed inert with DOMParser and copied node by node
 * into the page through an allowlist of elements, with no attributes but a
 * checked href and an ol start. Links stay links only when they are https
 * and on a domain the knowledge base cites (SOURCE_DOMAINS); any other link
 * shows its text and its domain as plain text. Phone numbers become tel:
 * links, [n] markers small links to the source badges (not Tab stops).
 * Everything else from the model, the knowledge base or the policy goes in
 * with textContent. No inline styles: the CSP forbids them, so every visual
 * state is a class. */
'use strict';

(() => {
  const STORE_KEY = 'coach.session';
  const LIST_KEY = 'coach.conversations';
  const NAME_KEY = 'coach.name';
  const MAX_LIST = 50;

  /* The domains the knowledge base (kb/) cites; tests/browser/page.test.mjs
   * checks this list against kb/ so it cannot drift. */
  const SOURCE_DOMAINS = new Set([
  'abcnews.go.com', 'advice.primarytimes.co.uk', 'agnesforgirls.com',
  'allabout-family.co.uk', 'aussiewildlifedisplays.com.au',
  'betterhealth.vic.gov.au', 'blackpoolteachinghospitals.nhs.uk',
  'blog.pregistry.com', 'bmjpaedsopen.bmj.com', 'calpoison.org',
  'cddft.nhs.uk', 'chiffpartyideas.blogspot.com', 'childlawadvice.org.uk',
  'childmind.org', 'contact.org.uk', 'childrenshospitalvanderbilt.org', 'chop.edu', 'chp.edu',
  'coloradowic.gov', 'consumer.ftc.gov', 'coventry.gov.uk', 'developingchild.harvard.edu',
  'digitalmedia.hhs.gov', 'discover.pbcgov.org', 'docslib.org', 'doi.org', 'dontshake.ca',
  'e-cigarettes.surgeongeneral.gov', 'families.barnardos.org.uk',
  'familiesforlife.sg', 'familydoctor.org', 'firearminjury.umich.edu',
  'fnhc.org.je', 'freeportecon.com', 'gosh.nhs.uk', 'greatdad.com',
  'health.wyo.gov', 'healthforunder5s.co.uk', 'healthwell.eani.org.uk',
  'healthychildren.org', 'hey.nhs.uk', 'hhma.org', 'hook-jun.hants.sch.uk',
  'hullccg.nhs.uk', 'hwehealthiertogether.nhs.uk', 'improvingme.org.uk',
  'informedparent.com', 'justonenorfolk.nhs.uk', 'keepyourchildsafe.org',
  'kentandmedwaylms.nhs.uk', 'kidshealth.org', 'kpjpen22.kpjhealth.com.my',
  'learning.nspcc.org.uk', 'legacy.rospa.com', 'lifestyle.howstuffworks.com',
  'llli.org', 'mcc.gse.harvard.edu', 'mchb.hrsa.gov', 'middleearthnj.org',
  'mylittlepartyplanner.webs.com', 'naeyc.org',
  'health.osu.edu', 'healthy.kaiserpermanente.org', 'nationalcareers.service.gov.uk', 'nationalseniors.com.au',
  'newcastle-hospitals.nhs.uk', 'news.sanfordhealth.org', 'nhs.uk',
  'nice.org.uk', 'nidirect.gov.uk', 'panda.org.au', 'parenting.sa.gov.au',
  'parents.actionforchildren.org.uk', 'parentspositifs.ca',
  'pedsinreview.aappublications.org', 'ph.health.mil', 'poison.org',
  'pregnancyandbaby.com', 'publications.aap.org', 'raisingchildren.net.au',
  'rbs.mymoneysense.com', 'rdash.nhs.uk', 'reallifegoodfood.umn.edu',
  'riseandshine.childrensnational.org', 'roadsafetygb.org.uk',
  'sparrowsports.com.au', 'static.ausport.gov.au', 'stutteringhelp.org',
  'theliteracylink.extension.wisc.edu', 'thesleepcharity.org.uk', 'thriving.childrenshospital.org',
  'vetoviolence.cdc.gov', 'walshcountynd.com', 'wicbreastfeeding.fns.usda.gov',
  'winstonswish.org', 'worcestershire.gov.uk', 'wtop.com', 'www.aad.org', 'www.aap.org',
  'www.aapd.org', 'www.achievesolutions.net', 'www.actionforchildren.org.uk',
  'www.adoptioneastmidlands.org.uk', 'www.af.mil',
  'www.akronchildrens.org', 'www.azcourts.gov', 'www.booktrust.org.uk', 'www.allinahealth.org', 'www.alz.org',
  'www.anchorit.gov', 'www.asha.org', 'www.autism.org.uk', 'www.avma.org',
  'www.balancestreetpractice.co.uk', 'www.baltimoresun.com', 'www.barnardos.org.uk', 'www.bbc.co.uk',
  'www.betterliveshealthyfuturesbw.nhs.uk', 'www.bhf.org.uk',
  'www.bliss.org.uk', 'www.brook.org.uk', 'www.bsuh.nhs.uk', 'www.burlingtonwa.gov',
  'www.capt.org.uk', 'www.hse.gov.uk', 'www.parentalchoice.co.uk', 'www.cdc.gov', 'www.cheshirefire.gov.uk', 'www.cde.ca.gov', 'www.colourblindawareness.org', 'www.childline.org.uk',
  'www.childrens.com', 'www.childrensmercy.org', 'www.childrensmn.org',
  'www.childsafetyhub.com.au', 'www.chkd.org', 'www.chop.edu', 'www.cmh.edu',
  'www.columbusparent.com', 'www.connecticutchildrens.org',
  'www.consumerfinance.gov', 'www.cpsc.gov', 'www.cyh.com', 'www.devon.gov.uk',
  'www.dol.gov', 'www.education.vic.gov.au', 'www.ellynsatterinstitute.org',
  'www.eric.org.uk', 'www.esfi.org', 'www.excelatlife.com', 'www.faa.gov',
  'www.families.com', 'www.fdnysmart.org', 'www.foodafactoflife.org.uk',
  'www.fresh4manchester.nhs.uk', 'www.gosh.nhs.uk', 'www.gov.uk',
  'www.healthforkids.co.uk', 'www.healthforteens.co.uk',
  'www.healthinfo.org.nz', 'www.healthline.com', 'www.healthychildren.org',
  'www.hhs.gov', 'www.holwaypark.somerset.sch.uk',
  'www.hopkinsallchildrens.org', 'www.hull.gov.uk', 'www.internetmatters.org',
  'www.iwf.org.uk', 'www.justonenorfolk.nhs.uk', 'www.kidpower.org',
  'www.lancashire.gov.uk', 'www.laparent.com', 'www.learnwhatsup.com',
  'www.leedsth.nhs.uk', 'www.lewishamcfc.org.uk', 'www.liverpoolwomens.nhs.uk',
  'www.llli.org', 'www.lullabytrust.org.uk', 'www.macmillan.org.uk',
  'www.mayoclinic.org', 'www.moneyhelper.org.uk', 'www.mountsinai.org',
  'www.msdmanuals.com', 'www.mummypages.ie', 'www.mumsnet.com', 'www.nagc.org',
  'www.nationalcac.org', 'www.nationalparenthelpline.org',
  'www.nationwidechildrens.org', 'www.nct.org.uk', 'www.ncpoisoncontrol.org',
  'www.nenc-healthiertogether.nhs.uk', 'www.net-aware.org.uk', 'www.nfpa.org',
  'www.nhs.uk', 'www.nhtsa.gov', 'www.niaid.nih.gov', 'www.nice.org.uk',
  'www.nichd.nih.gov', 'www.nidcd.nih.gov', 'www.niddk.nih.gov',
  'www.nimh.nih.gov', 'www.ninds.nih.gov', 'www.norfolk.gov.uk',
  'www.nspcc.org.uk', 'www.nsteens.org', 'www.ohsu.edu',
  'www.onoursleeves.org', 'www.oxfordmail.co.uk', 'www.parenting.com',
  'www.parentmap.com', 'www.parentscanada.com', 'www.pasafekids.org',
  'www.pep.org', 'www.postpartum.net', 'www.rch.org.au', 'www.rcot.co.uk',
  'www.readingrockets.org', 'www.redcross.org', 'www.relate.org.uk',
  'www.rospa.com', 'www.safekids.org', 'www.samhsa.gov', 'www.sibs.org.uk',
  'www.sja.org.uk', 'www.sleepfoundation.org', 'www.spirehealthcare.com',
  'www.staffordshire.gov.uk', 'www.stammering.org', 'www.sthelensccg.nhs.uk',
  'www.stlouischildrens.org', 'www.stmatthewsfd.com',
  'www.stonesoupforfive.com', 'www.stopbullying.gov', 'www.stutteringhelp.org',
  'www.talktofrank.com', 'www.tanworthschool.co.uk',
  'www.thechildrenstrust.org', 'www.themix.org.uk', 'www.tsa.gov',
  'www.ucas.com', 'www.underagesales.co.uk', 'www.unicef.org',
  'www.unicef.org.au', 'www.verywell.com', 'www.virtua.org',
  'www.what0-18.nhs.uk', 'www.who.int', 'www.youngminds.org.uk',
  'www.zerotothree.org', 'zerotothree.org',
  'www.gksnetwork.org', 'www.newcastle.gov.uk', 'www.sortingoutseparation.org.uk',
  'www.wirral.gov.uk',
  'www2.aap.org', 'www2.hse.ie', 'wwwnc.cdc.gov',
  'wyhealthiertogether.nhs.uk', 'yourteenmag.com'
  ]);

  /* Suggested questions for an empty conversation: one per knowledge-base
   * topic (kb/<topic>/), each answered with citations by the grounded
   * engine (checked by tests/browser/page.test.mjs). */
  const SUGGESTIONS = [
    { topic: 'sleep-routines', q: 'How do I handle bedtime battles?' },
    { topic: 'picky-eating', q: 'My toddler only eats a few foods. What can I do?' },
    { topic: 'tantrums', q: 'How should I respond to tantrums?' },
    { topic: 'screen-time', q: 'How much screen time is OK for a 4 year old?' },
    { topic: 'potty-training', q: 'When is my child ready for potty training?' },
    { topic: 'siblings-new-baby', q: 'How do I prepare my child for a new baby?' },
  ];

  const $ = (id) => document.getElementById(id);
  const ui = {
    loading: $('loading'), startView: $('start-view'), chatView: $('chat-view'),
    startForm: $('start-form'), parentName: $('parent-name'), startBtn: $('start-btn'),
    startError: $('start-error'), startNotice: $('start-notice'), chatTitle: $('chat-title'),
    chatNotice: $('chat-notice'), messages: $('messages'), suggestions: $('suggestions'),
    suggestionList: $('suggestion-list'), askForm: $('ask-form'), question: $('question'),
    askError: $('ask-error'), sendBtn: $('send-btn'), stopBtn: $('stop-btn'),
    deleteBtn: $('delete-btn'), newBtn: $('new-btn'), historyBtn: $('history-btn'),
    history: $('history'), historyList: $('history-list'), jumpBtn: $('jump-btn'),
    queued: $('queued'), queuedQ: $('queued-q'), queueNow: $('queue-now'),
    queueCancel: $('queue-cancel'), announcer: $('announcer'), status: $('status-announcer'),
    dialog: $('confirm-dialog'), confirmOk: $('confirm-ok'), confirmCancel: $('confirm-cancel'),
    confirmTitle: $('confirm-title'), skip: $('skip-link'),
  };

  let session = null;      // { id, name }
  let turn = null;         // the answer this tab is streaming, see startTurn
  let sending = false;     // a POST of a question is under way
  let queued = null;       // a question waiting for the current answer
  let events = null;       // the session's event stream
  let reconcileDue = false;
  let pendingDelete = null;
  const shown = new Map(); // answer message id -> view (see addAssistant)

  /* ---------- small helpers ---------- */

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function button(text, cls, onClick) {
    const b = el('button', cls, text);
    b.type = 'button';
    if (onClick) b.addEventListener('click', onClick);
    return b;
  }
  const str = (v) => (typeof v === 'string' ? v : '');

  /* History comes in pages (newest last); this loads the older ones. */
  ui.olderBtn = button('Show earlier messages', 'older');
  ui.olderBtn.hidden = true;
  ui.messages.parentNode.insertBefore(ui.olderBtn, ui.messages);
  let older = { before: null, more: false };

  function lsGet(key) {
    try { return localStorage.getItem(key); } catch { return null; }
  }
  function lsSet(key, value) {
    try {
      if (value === null || value === undefined) localStorage.removeItem(key);
      else localStorage.setItem(key, value);
    } catch { /* storage off: lasts until reload */ }
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

  const sessionPath = (id) => '/api/coach/sessions/' + encodeURIComponent(id);
  /* a message is reached through its session (its stream, cancel, feedback) */
  const messagePath = (sid, mid) => sessionPath(sid) + '/messages/' + encodeURIComponent(mid);

  /* Citation and resource links: absolute http(s) only. */
  function safeHref(u) {
    if (typeof u !== 'string') return null;
    let url;
    try { url = new URL(u); } catch { return null; }
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  }
  /* Links inside answer text: https on a domain the knowledge base cites. */
  function sourceHref(u) {
    let url;
    try { url = new URL(u); } catch { return null; }
    return url.protocol === 'https:' && SOURCE_DOMAINS.has(url.hostname) && !url.username &&
      !url.password ? url.href : null;
  }
  function domainOf(u) {
    try { return new URL(u).hostname.replace(/^www\./, ''); } catch { return ''; }
  }

  function say(text) {            // a polite status for screen readers
    ui.status.textContent = '';
    ui.status.textContent = text;
  }

  function when(iso) {
    const d = iso ? new Date(iso) : new Date();
    if (Number.isNaN(d.getTime())) return null;
    const t = el('time', 'stamp');
    t.dateTime = d.toISOString();
    const today = new Date().toDateString() === d.toDateString();
    const hm = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    t.textContent = today ? hm : d.toLocaleDateString([], { day: 'numeric', month: 'short' }) + ', ' + hm;
    t.title = d.toLocaleString();
    return t;
  }

  /* ---------- scrolling: follow only while at the bottom ---------- */

  function atBottom() {
    const d = document.documentElement;
    return window.innerHeight + window.scrollY >= d.scrollHeight - 80;
  }
  function toBottom() {
    window.scrollTo(0, document.documentElement.scrollHeight);
  }
  /* stick: the parent was at the bottom just before the page grew */
  function afterGrowth(stick) {
    if (stick) toBottom();
    else if (turn) ui.jumpBtn.hidden = false;
  }
  /* Brings box on screen above the docked question box: all of it when it
   * fits, else as much as fits ending with must (the call buttons). */
  function ensureVisible(box, must) {
    if (!box) return;
    const limit = Math.min(window.innerHeight, $('dock').getBoundingClientRect().top) - 8;
    const r = box.getBoundingClientRect();
    if (r.height <= limit - 8) {
      if (r.bottom > limit) window.scrollBy(0, r.bottom - limit);
      else if (r.top < 0) window.scrollBy(0, r.top - 8);
      return;
    }
    const m = (must || box).getBoundingClientRect();
    if (m.bottom > limit || m.top < 0) window.scrollBy(0, m.bottom - limit);
  }
  window.addEventListener('scroll', () => {
    if (atBottom()) ui.jumpBtn.hidden = true;
  }, { passive: true });

  /* ---------- Markdown through markdown-it, copied through an allowlist ---------- */

  const md = window.markdownit ? window.markdownit({ html: false, linkify: false, typographer: false, breaks: true }) : null;
  if (md) md.disable(['image']);

  const BLOCK = new Set(['P', 'UL', 'OL', 'LI', 'BLOCKQUOTE', 'PRE', 'CODE', 'EM', 'STRONG', 'DEL', 'S',
    'TABLE', 'THEAD', 'TBODY', 'TR', 'TH', 'TD', 'HR', 'BR']);
  const HEADING = { H1: 'h3', H2: 'h3', H3: 'h4', H4: 'h4', H5: 'h4', H6: 'h4' };

  /* Phone numbers: 7-13 digits written as a number (1-800-222-1222,
   * 0808 800 5000, (555) 123-4567), or a known short help number. */
  const PHONE = /(?<![\w+.-])\+?\(?\d[\d ().-]{1,16}\d(?![\w-]|\.\d)/g;
  const SHORT = new Set(['911', '999', '988', '112', '111', '116123', '116111']);
  function phoneDigits(s) {
    const digits = s.replace(/\D/g, '');
    if (/^\d{4}-\d\d-\d\d$/.test(s.trim())) return null;          // a date
    if (/^\d{1,3}(?:[ .-]\d{1,3})*$/.test(s.trim()) && !SHORT.has(digits)) {
      if (digits.length < 7) return null;
    }
    if (SHORT.has(digits)) return digits;
    return digits.length >= 7 && digits.length <= 13 && /[ ().-]/.test(s) ? digits :
      digits.length >= 10 && digits.length <= 13 ? digits : null;
  }

  function telLink(text, digits) {
    const a = el('a', 'tel', text);
    a.href = 'tel:' + digits;
    return a;
  }

  /* Appends text to parent with phone numbers as tel: links and (when ctx
   * is given) [n] markers as links to the source badges. */
  function richText(parent, text, ctx) {
    const re = ctx ? new RegExp(PHONE.source + '|\\[(\\d{1,3})\\]', 'g') : new RegExp(PHONE.source, 'g');
    let last = 0;
    let m;
    while ((m = re.exec(text))) {
      if (m[1] !== undefined) {
        if (m.index > last) parent.append(text.slice(last, m.index).replace(/[ \t]+$/, ''));
        parent.append(refMark(Number(m[1]), ctx));
        last = re.lastIndex;
        continue;
      }
      const raw = m[0];
      const lead = raw.match(/^[(]?/)[0] === '(' && !/\)/.test(raw) ? 1 : 0;
      const digits = phoneDigits(raw.slice(lead));
      if (!digits) continue;
      if (m.index + lead > last) parent.append(text.slice(last, m.index + lead));
      parent.append(telLink(raw.slice(lead), digits));
      last = re.lastIndex;
    }
    if (last < text.length) parent.append(text.slice(last));
  }

  function refMark(n, ctx) {
    const sup = el('sup', 'ref');
    if (ctx.cites.has(n)) {
      const a = el('a');
      a.href = '#' + ctx.prefix + n;
      a.tabIndex = -1;                       // the sources list is the Tab stop
      a.append(el('span', 'sr-only', 'source '), String(n));
      sup.append(a);
    } else {
      sup.textContent = String(n);
    }
    return sup;
  }

  function copyNodes(from, to, ctx) {
    for (const n of Array.from(from.childNodes)) {
      if (n.nodeType === Node.TEXT_NODE) {
        if (n.parentNode && (n.parentNode.nodeName === 'CODE')) to.append(n.data);
        else richText(to, n.data, ctx);
        continue;
      }
      if (n.nodeType !== Node.ELEMENT_NODE) continue;
      const tag = n.nodeName;
      if (tag === 'A') {
        const href = sourceHref(n.getAttribute('href') || '');
        if (href) {
          const a = el('a');
          a.href = href;
          a.target = '_blank';
          a.rel = 'noopener noreferrer';
          copyNodes(n, a, ctx);
          a.append(el('span', 'sr-only', ' (opens in a new tab)'));
          to.append(a);
        } else {
          /* not a source: the words, then the domain as plain text */
          const span = el('span', 'link-off');
          copyNodes(n, span, ctx);
          const dom = domainOf(n.getAttribute('href') || '');
          if (dom && dom !== span.textContent.trim()) span.append(' (' + dom + ')');
          to.append(span);
        }
      } else if (HEADING[tag]) {
        const h = el(HEADING[tag], 'md-h');
        copyNodes(n, h, ctx);
        to.append(h);
      } else if (BLOCK.has(tag)) {
        const e = el(tag.toLowerCase());
        if (tag === 'OL') {
          const start = Number(n.getAttribute('start'));
          if (Number.isInteger(start) && start > 1 && start < 10000) e.start = start;
        }
        if (tag === 'TABLE') {
          const wrap = el('div', 'table-wrap');
          copyNodes(n, e, ctx);
          wrap.append(e);
          to.append(wrap);
          continue;
        }
        copyNodes(n, e, ctx);
        to.append(e);
      } else {
        copyNodes(n, to, ctx);               // unknown element: its text only
      }
    }
  }

  function renderMarkdown(text, ctx) {
    const frag = document.createDocumentFragment();
    if (!md) {                                // the library failed to load: plain text
      for (const para of text.split(/\n{2,}/)) {
        const p = el('p');
        richText(p, para, ctx);
        frag.append(p);
      }
      return frag;
    }
    const doc = new DOMParser().parseFromString('<!doctype html><body>' + md.render(text), 'text/html');
    copyNodes(doc.body, frag, ctx);
    return frag;
  }

  /* Plain text of a Markdown answer (for Copy and screen readers). */
  function plain(text, keepLines) {
    let t = text
      .replace(/!\[([^\]\n]*)\]\([^)\n]*\)/g, '$1')
      .replace(/\[([^\]\n]+)\]\(([^)\s]+)\)/g, (m0, a, u) => (keepLines ? a + ' (' + u + ')' : a))
      .replace(/(\*\*|__|`)/g, '')
      .replace(/(^|\s)[*_]([^*_\n]+)[*_](?=\s|[.,;:!?]|$)/g, '$1$2')
      .replace(/^\s{0,3}#{1,6}\s+/gm, '')
      .replace(/^\s{0,3}>\s?/gm, '');
    if (!keepLines) {
      t = t.replace(/\s*\[\d{1,3}\]/g, '')
        .replace(/^\s*(?:[-*•]|\d{1,3}[.)])\s+/gm, '')
        .replace(/\s+/g, ' ');
    }
    return t.trim();
  }

  /* ---------- conversations kept in this browser ---------- */

  function listGet() {
    try {
      const v = JSON.parse(lsGet(LIST_KEY) || '[]');
      return Array.isArray(v) ? v.filter((c) => c && typeof c.id === 'string') : [];
    } catch { return []; }
  }
  function listPut(list) { lsSet(LIST_KEY, JSON.stringify(list.slice(0, MAX_LIST))); }
  function listAdd(id, title, at) {
    const list = listGet();
    const old = list.find((c) => c.id === id);
    if (old) {
      if (!old.title && title) old.title = title;
      listPut(list);
    } else if (title) {
      list.unshift({ id, title: title.slice(0, 120), at: at || new Date().toISOString() });
      listPut(list);
    }
    renderList();
  }
  function listRemove(id) {
    listPut(listGet().filter((c) => c.id !== id));
    renderList();
  }

  function renderList() {
    const list = listGet();
    ui.historyList.replaceChildren();
    list.forEach((c, i) => {
      const li = el('li', 'conv');
      const a = el('a', 'conv-open', str(c.title) || 'Untitled conversation');
      a.href = '#c-' + c.id;
      a.id = 'conv-' + i;
      if (session && session.id === c.id) a.setAttribute('aria-current', 'true');
      a.addEventListener('click', (ev) => { ev.preventDefault(); openConversation(c.id); });
      const meta = el('span', 'conv-meta');
      const t = when(c.at);
      if (t) meta.append(t);
      const del = button('Delete', 'conv-del link-btn', () => confirmDelete(c.id));
      del.setAttribute('aria-describedby', a.id);
      li.append(a, meta, del);
      ui.historyList.append(li);
    });
    const any = list.length > 0;
    ui.historyBtn.hidden = !any;
    ui.history.hidden = !any;
    if (!any) setHistoryOpen(false);
  }

  function setHistoryOpen(open) {
    ui.history.classList.toggle('open', open);
    ui.historyBtn.setAttribute('aria-expanded', open ? 'true' : 'false');
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

  function addUser(text, at, before) {
    const root = el('div', 'msg user');
    const bubble = el('div', 'bubble');
    bubble.append(el('span', 'sr-only', 'You asked: '));
    bubble.append(el('p', 'user-text', text));
    const meta = el('p', 'meta');
    const t = when(at);
    if (t) meta.append(t);
    root.append(bubble, meta);
    ui.messages.insertBefore(root, before || null);
    return root;
  }

  function addAssistant(id, at, before) {
    const root = el('div', 'msg assistant');
    const bubble = el('div', 'bubble');
    const p = {
      id: str(id), root, bubble, data: null, question: '',
      label: el('span', 'sr-only', 'The coach answered: '),
      triage: el('div', 'triage-slot'),
      extra: el('div', 'extra'),
      body: el('div', 'answer'),
      note: el('p', 'note'),
      tail: el('div', 'tail'),
      meta: el('div', 'meta'),
    };
    p.note.hidden = true;
    bubble.append(p.label, p.triage, p.extra, p.body, p.note, p.tail);
    const t = when(at);
    if (t) p.meta.append(t);
    root.append(bubble, p.meta);
    ui.messages.insertBefore(root, before || null);
    if (p.id) shown.set(p.id, p);
    updateEmpty();
    return p;
  }

  function removeAnswer(p) {
    p.root.remove();
    shown.delete(p.id);
  }

  function setState(p, state) {
    p.root.dataset.status = state;
    p.root.setAttribute('aria-busy', state === 'waiting' || state === 'streaming' ? 'true' : 'false');
  }

  /* The grounded engine's first word arrives in about 15 ms, so these dots
   * are rarely seen; a model upstream shows them while it thinks. */
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
      while (host && host.lastElementChild &&
        ['OL', 'UL', 'LI', 'BLOCKQUOTE', 'TABLE', 'TBODY', 'THEAD', 'TR', 'PRE', 'DIV'].includes(host.nodeName))
        host = host.lastElementChild;
      (host && host.nodeType === Node.ELEMENT_NODE && host.nodeName !== 'HR' ? host : frag).append(c);
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
    const label = el('p', 'cites-label', 'Sources');
    label.id = 'cites-' + p.id;
    box.append(label);
    const list = el('ul', 'badges');
    list.setAttribute('aria-labelledby', label.id);
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
        b.append(el('span', 'print-url', ' ' + href));
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

  function resourceList(resources, urgent, label) {
    const list = el('ul', 'resources');
    list.setAttribute('aria-label', label);
    for (const x of resources) {
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
        const a = el('a', 'web', 'Visit ' + domainOf(href));
        a.href = href;
        a.target = '_blank';
        a.rel = 'noopener noreferrer';
        a.append(el('span', 'sr-only', ' (' + name + ', opens in a new tab)'));
        a.append(el('span', 'print-url', ' ' + href));
        li.append(a);
      }
      list.append(li);
    }
    return list;
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
    const res = Array.isArray(r.resources) ? r.resources : [];
    /* in an emergency or a crisis the numbers come first, right under
     * "Call now", so they are on a phone's screen with the label even when
     * the first-aid text is long */
    if (urgent && res.length) box.append(resourceList(res, urgent, 'Call now'));
    if (str(r.empathy)) {
      const e = el('p', 'empathy');
      richText(e, r.empathy, null);
      box.append(e);
    }
    if (str(r.message)) {
      const m = el('p', 'refusal-message');
      richText(m, r.message, null);
      box.append(m);
    }
    if (!urgent && res.length) box.append(resourceList(res, urgent, 'Where to get help'));
    p.extra.replaceChildren(box);
    return box;
  }

  /* The urgent-level notice of the triage step: its own block above the
   * answer. live: announced (role=alert) as it arrives. */
  function renderTriage(p, t, live) {
    if (!t || typeof t !== 'object') return null;
    const level = str(t.level) || 'urgent';
    const box = el('div', 'triage ' + (level === 'urgent' ? 'urgent' : 'gentle'));
    box.dataset.level = level;
    if (live) box.setAttribute('role', level === 'urgent' ? 'alert' : 'status');
    const lab = el('p', 'triage-label');
    const icon = el('span', 'urgent-icon', '!');
    icon.setAttribute('aria-hidden', 'true');
    lab.append(icon, level === 'urgent' ? 'Get medical advice today'
      : level === 'language' ? 'Answered in English' : 'Worth checking');
    box.append(lab);
    if (str(t.message)) {
      const m = el('p', 'triage-message');
      richText(m, t.message, null);
      if (level === 'language' && str(t.language) && str(t.language) !== 'other') m.lang = str(t.language);
      box.append(m);
    }
    if (str(t.reason)) box.append(el('p', 'triage-reason', t.reason));
    const res = Array.isArray(t.resources) ? t.resources : [];
    if (res.length) box.append(resourceList(res, true, 'Who to call'));
    p.triage.replaceChildren(box);
    return box;
  }

  /* The answer's plain text with its sources, for Copy. */
  function copyText(p) {
    const m = p.data || {};
    const parts = [];
    if (m.triage && typeof m.triage === 'object') parts.push(str(m.triage.message));
    if (m.refusal && typeof m.refusal === 'object') {
      parts.push([str(m.refusal.empathy), str(m.refusal.message)].filter(Boolean).join(' '));
      for (const x of Array.isArray(m.refusal.resources) ? m.refusal.resources : []) {
        if (x && typeof x === 'object')
          parts.push('- ' + [str(x.name), str(x.phone), safeHref(x.url) || ''].filter(Boolean).join(', '));
      }
    }
    if (str(m.content)) parts.push(plain(m.content, true));
    const cites = (Array.isArray(m.citations) ? m.citations : []).filter((c) => c && typeof c === 'object');
    if (cites.length) {
      parts.push('Sources:\n' + cites.map((c) => '[' + (Number.isInteger(c.id) ? c.id : '?') + '] ' +
        [str(c.source), str(c.title)].filter(Boolean).join(': ') +
        (safeHref(c.url) ? ' ' + safeHref(c.url) : '')).join('\n'));
    }
    return parts.filter(Boolean).join('\n\n');
  }

  async function copyAnswer(p, btn) {
    const text = copyText(p);
    let ok = false;
    try {
      await navigator.clipboard.writeText(text);
      ok = true;
    } catch {
      const ta = el('textarea', 'sr-only');
      ta.value = text;
      ta.setAttribute('aria-hidden', 'true');
      document.body.append(ta);
      ta.select();
      try { ok = document.execCommand('copy'); } catch { ok = false; }
      ta.remove();
      btn.focus();
    }
    btn.textContent = ok ? 'Copied' : 'Copy failed';
    say(ok ? 'The answer and its sources were copied.' : 'The answer could not be copied.');
    setTimeout(() => { btn.textContent = 'Copy'; }, 2000);
  }

  function feedbackBox(p) {
    const box = el('div', 'feedback');
    box.setAttribute('role', 'group');
    box.setAttribute('aria-label', 'Was this answer helpful?');
    const yes = button('Helpful', 'chip fb-yes');
    const no = button('Not helpful', 'chip fb-no');
    const form = el('form', 'fb-reason');
    form.hidden = true;
    const inputId = 'fb-' + p.id;
    const label = el('label', null, 'What was missing? (optional)');
    label.htmlFor = inputId;
    const input = el('input');
    input.type = 'text';
    input.id = inputId;
    input.maxLength = 500;
    const save = el('button', 'chip', 'Save');
    save.type = 'submit';
    form.append(label, input, save);
    const thanks = el('span', 'fb-thanks');
    const fb = p.data && p.data.feedback;
    const mark = (helpful) => {
      yes.setAttribute('aria-pressed', helpful === true ? 'true' : 'false');
      no.setAttribute('aria-pressed', helpful === false ? 'true' : 'false');
    };
    mark(fb && typeof fb === 'object' ? fb.helpful : null);
    if (fb && typeof fb === 'object' && fb.reason) input.value = str(fb.reason);
    async function send(helpful, reason) {
      if (!session) return false;
      const r = await call('POST', messagePath(session.id, p.id) + '/feedback',
        reason ? { helpful, reason } : { helpful });
      if (r.status === 200) {
        mark(helpful);
        if (p.data) p.data.feedback = { helpful, reason: reason || null };
        thanks.textContent = 'Thanks for the feedback.';
        say('Thanks for the feedback.');
        return true;
      }
      thanks.textContent = errorText(r, 'The feedback could not be saved.');
      return false;
    }
    yes.addEventListener('click', () => { form.hidden = true; send(true, ''); });
    no.addEventListener('click', async () => {
      if (await send(false, input.value.trim())) {
        form.hidden = false;
        input.focus();
      }
    });
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (await send(false, input.value.trim())) form.hidden = true;
    });
    box.append(el('span', 'fb-q', 'Helpful?'), yes, no, thanks, form);
    return box;
  }

  function retryBox(p, message) {
    const box = el('div', 'error-box');
    box.append(el('p', 'error-title', p.data && p.data.interrupted
      ? 'The answer was interrupted.' : 'The coach could not answer.'));
    if (message && !/^The (coach could not answer|answer was interrupted)\.$/.test(message))
      box.append(el('p', 'error-detail', message));
    if (p.question) box.append(button('Retry', 'secondary retry', () => askAgain(p)));
    p.tail.append(box);
  }

  /* Copy, Ask again (the last answer only) and feedback under an answer. */
  function renderActions(p, isLast) {
    const bar = el('div', 'actions');
    bar.append(button('Copy', 'chip copy', (ev) => copyAnswer(p, ev.currentTarget)));
    if (isLast && p.question && p.data.status !== 'incomplete')
      bar.append(button('Ask again', 'chip again', () => askAgain(p)));
    p.tail.append(bar);
    if (p.id) p.tail.append(feedbackBox(p));
  }

  function lastAnswerView() {
    const all = ui.messages.querySelectorAll('.msg.assistant');
    const last = all[all.length - 1];
    for (const p of shown.values()) if (p.root === last) return p;
    return null;
  }

  /* Final rendering of an assistant message (from history or a finished
   * stream). m: { content, citations, refusal, triage, status, error,
   * feedback, interrupted }. */
  function renderFinal(p, m) {
    const cites = Array.isArray(m.citations) ? m.citations : [];
    p.data = m;
    p.tail.replaceChildren();
    p.extra.replaceChildren();
    p.root.classList.remove('reconnecting');
    /* a notice shown live stays as it is (it was announced then) */
    if (m.triage && typeof m.triage === 'object' && !p.triage.firstChild) renderTriage(p, m.triage, false);
    if (m.refusal && typeof m.refusal === 'object') renderRefusal(p, m.refusal);
    renderBody(p, str(m.content), cites, false);
    renderCites(p, cites);
    setNote(p, null);
    if (m.status === 'stopped') {
      setNote(p, str(m.content) ? 'Stopped. The answer above is incomplete.' : 'Stopped.', 'stopped');
    } else if (m.status === 'incomplete') {
      retryBox(p, str(m.error));
    } else if (!str(m.content) && !m.refusal) {
      setNote(p, 'No answer was given.', 'stopped');
    }
    setState(p, m.status || 'complete');
    refreshActions();
  }

  /* Only the last answer offers "Ask again". */
  function refreshActions() {
    const last = lastAnswerView();
    for (const p of shown.values()) {
      if (!p.data || p.root.dataset.status === 'waiting' || p.root.dataset.status === 'streaming') continue;
      const old = p.tail.querySelector('.actions');
      const fb = p.tail.querySelector('.feedback');
      const hadAgain = !!(old && old.querySelector('.again'));
      const wantAgain = p === last && !!p.question && p.data.status !== 'incomplete';
      if (old && hadAgain === wantAgain) continue;
      if (old) old.remove();
      if (fb) fb.remove();
      renderActions(p, p === last);
    }
  }

  function updateEmpty() {
    const empty = !ui.messages.querySelector('.msg');
    ui.suggestions.hidden = !empty;
    ui.deleteBtn.hidden = empty;
    document.body.classList.toggle('empty-chat', empty);
  }

  /* ---------- streaming ---------- */

  function setBusy(on) {
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
      const re = /(?<!^\s*\d{1,3})[.!?][)"'”’\]*_]*(?=\s)|\n/gm;
      let m;
      while ((m = re.exec(rest))) end = m.index + m[0].length;
    }
    if (!end) return;
    const said = plain(rest.slice(0, end), false);
    t.announced += end;
    if (said) ui.announcer.append(el('span', null, said + ' '));
  }

  function startTurn(p, mid, url, question) {
    const t = { p, mid, url, question, text: '', seq: 0, announced: 0, refusal: null, triage: null,
      error: null, finished: false, es: null, attempt: 0, timer: null };
    p.question = question;
    turn = t;
    ui.announcer.replaceChildren();
    setBusy(true);
    showDots(p);
    openStream(t, url);
  }

  function openStream(t, url) {
    const es = new EventSource(url);
    t.es = es;
    es.onmessage = (ev) => onEvent(t, ev);
    es.onerror = () => {
      if (turn !== t || t.finished || t.es !== es) return;
      /* The page reconnects itself (with backoff and a count) rather than
       * leave it to EventSource's fixed retry. */
      es.close();
      t.es = null;
      reconnect(t, true);
    };
  }

  function showReconnecting(t) {
    t.p.root.classList.add('reconnecting');
    setNote(t.p, 'Connection lost. Reconnecting (attempt ' + t.attempt + ')…', 'reconnecting-note');
    if (t.attempt === 1) say('Connection lost. Reconnecting…');
    if (t.text) renderBody(t.p, t.text, [], false);
  }

  function clearReconnecting(t) {
    if (!t.p.root.classList.contains('reconnecting')) return;
    t.p.root.classList.remove('reconnecting');
    setNote(t.p, null);
    t.attempt = 0;
    ui.askError.textContent = '';
    if (t.text) renderBody(t.p, t.text, [], true);
  }

  /* Tries again: reads the session (is the server back? is the answer
   * still running?) and reopens the stream after the last event seen. */
  function reconnect(t, now) {
    if (turn !== t || t.finished) return;
    t.attempt++;
    showReconnecting(t);
    const delay = now && t.attempt === 1 ? 0 : Math.min(500 * 2 ** (t.attempt - 2), 15000);
    clearTimeout(t.timer);
    t.timer = setTimeout(() => recover(t), delay);
  }

  async function recover(t) {
    if (turn !== t || t.finished) return;
    const r = await call('GET', sessionPath(session ? session.id : ''));
    if (turn !== t || t.finished) return;
    if (r.status === 404) {
      endTurn(t);
      forget('This conversation is no longer available. You can start a new one.');
      return;
    }
    if (r.status !== 200 || !r.json || !Array.isArray(r.json.messages)) {
      reconnect(t, false);                   // still down: wait longer
      return;
    }
    const m = r.json.messages.find((x) => x && x.id === t.mid);
    /* still running, or finished with a saved log: resume after the last
     * event seen (a finished answer's tail is replayed once from its log) */
    const fromLog = m && m.status !== 'streaming' && m.status !== 'incomplete' && t.seq > 0 && !t.triedLog;
    if (m && (m.status === 'streaming' || fromLog)) {
      if (fromLog) t.triedLog = true;
      const from = t.seq ? '?last_event_id=' + encodeURIComponent(t.mid + ':' + t.seq) : '';
      openStream(t, t.url.split('?')[0] + from);
      return;
    }
    clearReconnecting(t);
    if (m && str(m.content).length >= t.text.length) {
      finish(t, { content: str(m.content), citations: m.citations, refusal: m.refusal,
        triage: m.triage || t.triage, status: m.status, feedback: m.feedback,
        interrupted: m.status === 'incomplete',
        error: m.status === 'incomplete' ? 'The connection to the coach was lost.' : null });
    } else {
      /* the server lost the end (it restarted): keep what was shown */
      finish(t, { content: t.text, citations: [], refusal: t.refusal, triage: t.triage,
        status: 'incomplete', interrupted: true,
        error: 'The connection to the coach was lost before the answer was finished.' });
    }
  }

  function onEvent(t, ev) {
    if (turn !== t || t.finished) return;
    let data;
    try { data = JSON.parse(ev.data); } catch { return; }
    if (!data || typeof data !== 'object') return;
    /* the answer is not saved yet (the server's disk): it carries no event
     * id of its own, and done follows once a retry saves it */
    if (data.type === 'error' && data.code === 'save_failed' && data.retrying === true) {
      setNote(t.p, str(data.message), 'saving-note');
      return;
    }
    const seq = seqOf(ev.lastEventId);
    if (seq !== null) {
      if (seq <= t.seq) return;          // already seen (a resumed stream)
      t.seq = seq;
    }
    clearReconnecting(t);
    const stick = atBottom();
    if (typeof data.chunk === 'string') {
      t.text += data.chunk;
      setState(t.p, 'streaming');
      renderBody(t.p, t.text, [], true);
      announceSentences(t, false);
      afterGrowth(stick);
    } else if (data.type === 'triage' && data.data && typeof data.data === 'object') {
      t.triage = data.data;
      const box = renderTriage(t.p, t.triage, true);
      ensureVisible(box, box && box.querySelector('.resources'));
      t.ensured = true;
    } else if (data.type === 'refusal' && data.data && typeof data.data === 'object') {
      t.refusal = data.data;
      if (!t.text) t.p.body.replaceChildren();
      const box = renderRefusal(t.p, t.refusal);
      ui.announcer.append(el('span', null,
        plain(str(t.refusal.empathy) + ' ' + str(t.refusal.message), false) + ' '));
      /* the call buttons must be on screen, wherever the parent was */
      if (box.classList.contains('urgent')) {
        ensureVisible(box, box.querySelector('.resources'));
        t.ensured = true;
      } else afterGrowth(stick);
    } else if (data.type === 'error') {
      t.error = str(data.message) || 'The coach could not answer.';
    } else if (data.done === true) {
      finish(t, {
        content: t.text, citations: data.citations, refusal: t.refusal, triage: t.triage,
        status: data.stopped ? 'stopped' : t.error !== null ? 'incomplete' : 'complete',
        error: t.error,
      });
    }
  }

  function endTurn(t) {
    t.finished = true;
    clearTimeout(t.timer);
    if (t.es) t.es.close();
    t.es = null;
    if (turn === t) turn = null;
    setBusy(false);
  }

  function finish(t, m) {
    const stick = atBottom();
    const hadFocus = document.activeElement === ui.stopBtn;
    endTurn(t);
    if (!t.refusal) announceSentences(t, true);
    renderFinal(t.p, m);
    if (m.status === 'stopped') say('The answer was stopped.');
    else if (m.status === 'incomplete') say(m.interrupted ? 'The answer was interrupted. You can retry.'
      : 'The coach could not answer. You can retry.');
    else say('The answer is complete.');
    /* no jump: focus moves only if it was on Stop (now hidden), the page
     * scrolls only if the parent was following the answer */
    if (hadFocus) ui.question.focus();
    if (stick) toBottom();
    else if (!t.ensured) ui.jumpBtn.hidden = false;   // "Jump to latest" instead
    if (reconcileDue) reconcile();
    if (queued !== null) {
      const q = queued;
      setQueued(null);
      ask(q);
    }
  }

  /* ---------- asking ---------- */

  function setQueued(q) {
    queued = q;
    ui.queued.hidden = q === null;
    ui.queuedQ.textContent = q || '';
  }

  async function postQuestion(question) {
    sending = true;
    const r = await call('POST', sessionPath(session.id) + '/messages', { question });
    sending = false;
    const url = r.json && typeof r.json.stream_url === 'string' ? new URL(r.json.stream_url, location.href) : null;
    if (r.status === 202 && url && url.origin === location.origin && typeof r.json.message_id === 'string')
      return { ok: true, mid: r.json.message_id, url: url.href };
    if (r.status === 404 && r.json && r.json.error && r.json.error.code === 'session_not_found') {
      forget('This conversation is no longer available. You can start a new one.');
      return { ok: false, gone: true };
    }
    return { ok: false, message: errorText(r, 'Something went wrong. Please try again.') };
  }

  /* Sends a question from the box (or a suggestion); resolves true when
   * the answer started or the question was queued. */
  async function ask(question) {
    if (!session || sending) return false;
    if (!question.trim()) return false;      // Enter on an empty box does nothing
    if (turn) {                              // never stop an answer silently
      if (queued !== null) {
        ui.askError.textContent = 'One question is already waiting for this answer to end.';
        return false;
      }
      setQueued(question);
      ui.question.value = '';
      return true;
    }
    ui.askError.textContent = '';
    ui.chatNotice.textContent = '';
    const r = await postQuestion(question);
    if (r.ok) {
      if (ui.question.value === question) ui.question.value = '';
      const first = !ui.messages.querySelector('.msg');
      addUser(question);
      startTurn(addAssistant(r.mid), r.mid, r.url, question);
      if (first) listAdd(session.id, question);
      toBottom();
      if (reconcileDue) reconcile();
      return true;
    }
    if (!r.gone) {
      ui.askError.textContent = r.message;
      if (!ui.question.value) ui.question.value = question;
    }
    if (reconcileDue) reconcile();
    return false;
  }

  /* Retry and Ask again: the same question, answered in place of p. */
  async function askAgain(p) {
    if (turn || sending || !session || !p.question) return;
    for (const b of p.tail.querySelectorAll('button')) b.disabled = true;
    const r = await postQuestion(p.question);
    if (!r.ok) {
      for (const b of p.tail.querySelectorAll('button')) b.disabled = false;
      if (!r.gone) ui.askError.textContent = r.message;
      return;
    }
    const next = p.root.nextSibling;
    removeAnswer(p);
    const np = addAssistant(r.mid, null, next);
    startTurn(np, r.mid, r.url, p.question);
    if (reconcileDue) reconcile();
  }

  async function stop() {
    const t = turn;
    if (!t) return;
    ui.stopBtn.disabled = true;
    const r = await call('POST', messagePath(session.id, t.mid) + '/cancel');
    if (r.status !== 200 && turn === t) {
      ui.stopBtn.disabled = false;
      ui.askError.textContent = errorText(r, 'The answer could not be stopped.');
    }
  }

  /* ---------- the session's event stream (other tabs) ---------- */

  function openEvents() {
    closeEvents();
    if (!session || typeof EventSource !== 'function') return;
    const id = session.id;
    const es = new EventSource(sessionPath(id) + '/events');
    events = es;
    es.onopen = () => { if (events === es) reconcile(); };
    es.onmessage = (ev) => {
      if (events !== es) return;
      let data;
      try { data = JSON.parse(ev.data); } catch { return; }
      if (!data || typeof data !== 'object') return;
      if (data.type === 'deleted') {
        closeEvents();
        listRemove(id);
        if (session && session.id === id) forget('This conversation was deleted.');
      } else if (data.type === 'message' && typeof data.message_id === 'string' && !shown.has(data.message_id)) {
        reconcile();
      }
    };
    es.onerror = () => {
      if (events !== es || es.readyState !== EventSource.CLOSED) return;
      setTimeout(() => { if (events === es && session && session.id === id) openEvents(); }, 5000);
    };
  }
  function closeEvents() {
    if (events) events.close();
    events = null;
  }

  /* Shows what the server has and this tab does not: rebuilds the
   * conversation when another tab added to it (never while this tab is
   * asking or streaming; then it runs when that ends). */
  async function reconcile() {
    if (!session) return;
    if (turn || sending) { reconcileDue = true; return; }
    reconcileDue = false;
    const id = session.id;
    const r = await call('GET', sessionPath(id));
    if (!session || session.id !== id || turn || sending) { reconcileDue = !!session; return; }
    if (r.status === 404) { listRemove(id); forget('This conversation was deleted.'); return; }
    if (r.status !== 200 || !r.json) return;
    const want = visibleMessages(r.json.messages).filter((m) => m.role === 'assistant').map((m) => m.id);
    const have = Array.from(ui.messages.querySelectorAll('.msg.assistant')).map((n) => {
      for (const [k, v] of shown) if (v.root === n) return k;
      return '';
    });
    /* the server sends the newest page; older pages the parent loaded stay */
    if (want.join(' ') === have.slice(-want.length).join(' ') && have.length >= want.length) return;
    const stick = atBottom();
    const y = window.scrollY;
    showChat(r.json, true);
    if (stick) toBottom(); else window.scrollTo(0, y);
  }

  /* The messages to show: an answer followed by the same question again
   * (Retry, Ask again) is replaced by the later answer. */
  function visibleMessages(list) {
    const msgs = (Array.isArray(list) ? list : []).filter((m) => m && typeof m === 'object');
    const out = [];
    for (let i = 0; i < msgs.length; i++) {
      const m = msgs[i];
      if (m.role === 'assistant' && out.length && out[out.length - 1].role === 'user') {
        const next = msgs[i + 1];
        if (next && next.role === 'user' && str(next.content) === str(out[out.length - 1].content) &&
          msgs[i + 2] && msgs[i + 2].role === 'assistant') {
          i++;                                // skip this answer and the repeated question
          continue;
        }
      }
      out.push(m);
    }
    return out;
  }

  /* ---------- views ---------- */

  function showStart(message) {
    session = null;
    ui.loading.hidden = true;
    ui.chatView.hidden = true;
    ui.newBtn.hidden = true;
    ui.startView.hidden = false;
    document.body.classList.remove('in-chat');
    ui.startBtn.disabled = false;
    ui.startError.textContent = '';
    ui.startNotice.textContent = message || '';
    ui.parentName.value = lsGet(NAME_KEY) || '';
    document.body.classList.add('empty-chat');      // the list shows here on a phone
    renderList();
  }

  function setOlder(messages, more) {
    older = { before: messages.length && typeof messages[0].id === 'string' ? messages[0].id : null,
      more: !!more };
    ui.olderBtn.hidden = !(older.more && older.before);
  }

  /* Puts the page before the one shown, keeping the view where it was. */
  async function loadOlder() {
    if (!session || !older.before) return;
    const id = session.id;
    ui.olderBtn.disabled = true;
    const r = await call('GET', sessionPath(id) + '?limit=50&before=' + encodeURIComponent(older.before));
    ui.olderBtn.disabled = false;
    if (!session || session.id !== id) return;
    if (r.status !== 200 || !r.json || !Array.isArray(r.json.messages)) {
      ui.chatNotice.textContent = errorText(r, 'Earlier messages could not be loaded.');
      return;
    }
    const first = ui.messages.firstChild;
    const h = document.documentElement.scrollHeight, y = window.scrollY;
    let lastQuestion = '';
    for (const m of visibleMessages(r.json.messages)) {
      if (m.role === 'user') {
        lastQuestion = str(m.content);
        addUser(lastQuestion, m.created_at, first);
        continue;
      }
      const p = addAssistant(m.id, m.created_at, first);
      p.question = lastQuestion;
      renderFinal(p, { content: m.content, citations: m.citations, refusal: m.refusal, triage: m.triage,
        status: m.status === 'streaming' ? 'incomplete' : m.status, feedback: m.feedback, error: null });
    }
    setOlder(r.json.messages, r.json.has_more);
    /* the conversation's own first question titles it in the list (the
     * newest page alone may not have had it) */
    const firstUser = r.json.messages.find((m) => m && m.role === 'user');
    if (!r.json.has_more && firstUser) {
      const list = listGet();
      const entry = list.find((c) => c.id === id);
      if (entry) { entry.title = str(firstUser.content).slice(0, 120); listPut(list); renderList(); }
    }
    refreshActions();
    window.scrollTo(0, y + document.documentElement.scrollHeight - h);
  }

  function leave() {
    if (turn) endTurn(turn);
    setOlder([], false);
    ui.jumpBtn.hidden = true;
    setQueued(null);
    closeEvents();
    shown.clear();
    ui.messages.replaceChildren();
    ui.announcer.replaceChildren();
    reconcileDue = false;
  }

  function forget(message) {
    leave();
    lsSet(STORE_KEY, null);
    setBusy(false);
    showStart(message);
  }

  function showChat(s, keep) {
    const name = str(s.parent_name).trim();
    if (!keep) leave();
    else { shown.clear(); ui.messages.replaceChildren(); }
    session = { id: s.session_id, name };
    lsSet(STORE_KEY, s.session_id);
    ui.chatTitle.textContent = name ? 'Hi, ' + name + '. What’s on your mind?' : 'What’s on your mind?';
    ui.loading.hidden = true;
    ui.startView.hidden = true;
    ui.chatView.hidden = false;
    document.body.classList.add('in-chat');
    ui.newBtn.hidden = false;
    if (!keep) { ui.askError.textContent = ''; ui.chatNotice.textContent = ''; }
    setBusy(false);
    const msgs = visibleMessages(s.messages);
    let lastQuestion = '';
    let firstQuestion = '';
    msgs.forEach((m, i) => {
      if (m.role === 'user') {
        lastQuestion = str(m.content);
        if (!firstQuestion) firstQuestion = lastQuestion;
        addUser(lastQuestion, m.created_at);
        return;
      }
      const p = addAssistant(m.id, m.created_at);
      p.question = lastQuestion;
      if (m.status === 'streaming' && i === msgs.length - 1 && typeof m.id === 'string') {
        startTurn(p, m.id, messagePath(s.session_id, m.id) + '/stream', lastQuestion);
        if (m.triage) { p.triage.replaceChildren(); renderTriage(p, m.triage, false); }
        return;
      }
      renderFinal(p, { content: m.content, citations: m.citations, refusal: m.refusal, triage: m.triage,
        status: m.status === 'streaming' ? 'incomplete' : m.status, feedback: m.feedback, error: null });
    });
    setOlder(Array.isArray(s.messages) ? s.messages : [], s.has_more);
    updateEmpty();
    refreshActions();
    if (firstQuestion) listAdd(s.session_id, firstQuestion, s.created_at);
    else renderList();
    if (!keep) {
      openEvents();
      setHistoryOpen(false);
      toBottom();
    }
  }

  async function createSession(name) {
    const r = await call('POST', '/api/coach/sessions', name ? { parent_name: name } : {});
    if (r.status === 201 && r.json && typeof r.json.session_id === 'string') {
      showChat({ session_id: r.json.session_id, parent_name: name, messages: [] });
      return null;
    }
    return errorText(r, 'The session could not be started. Please try again.');
  }

  async function startSession(ev) {
    ev.preventDefault();
    ui.startBtn.disabled = true;
    ui.startError.textContent = '';
    const name = ui.parentName.value.trim();
    lsSet(NAME_KEY, name || null);
    const err = await createSession(name);
    if (!err) { ui.question.focus(); return; }
    ui.startBtn.disabled = false;
    ui.startError.textContent = err;
  }

  async function newConversation() {
    if (session && !ui.messages.querySelector('.msg')) {   // already a fresh one
      ui.question.focus();
      return;
    }
    ui.newBtn.disabled = true;
    const err = await createSession(lsGet(NAME_KEY) || '');
    ui.newBtn.disabled = false;
    if (err) { ui.askError.textContent = err; return; }
    say('A new conversation was started.');
    ui.question.focus();
  }

  async function openConversation(id) {
    setHistoryOpen(false);
    if (session && session.id === id) { ui.question.focus(); return; }
    const r = await call('GET', sessionPath(id));
    if (r.status === 200 && r.json && typeof r.json.session_id === 'string') {
      showChat(r.json);
      ui.question.focus();
    } else if (r.status === 404 || r.status === 400) {
      listRemove(id);
      const msg = 'That conversation is no longer on the server, so it was removed from the list.';
      if (session) ui.chatNotice.textContent = msg; else ui.startNotice.textContent = msg;
    } else {
      const msg = errorText(r, 'That conversation could not be opened right now.');
      if (session) ui.askError.textContent = msg; else ui.startError.textContent = msg;
    }
  }

  async function deleteConversation(id) {
    const r = await call('DELETE', sessionPath(id));
    if (r.status === 204 || r.status === 404) {
      listRemove(id);
      if (session && session.id === id) {
        forget('Your conversation was deleted.');
        ui.parentName.focus();
      } else {
        (session ? ui.chatNotice : ui.startNotice).textContent = 'The conversation was deleted.';
        say('The conversation was deleted.');
      }
    } else {
      const msg = errorText(r, 'The conversation could not be deleted. Please try again.');
      if (session) ui.askError.textContent = msg; else ui.startError.textContent = msg;
    }
  }

  function confirmDelete(id) {
    pendingDelete = id;
    ui.confirmTitle.textContent = session && session.id === id ? 'Delete this conversation?' : 'Delete that conversation?';
    if (typeof ui.dialog.showModal === 'function') ui.dialog.showModal();
    else if (window.confirm('Delete this conversation? This cannot be undone.')) deleteConversation(id);
  }

  function renderSuggestions() {
    ui.suggestionList.replaceChildren();
    for (const s of SUGGESTIONS) {
      const li = el('li');
      li.append(button(s.q, 'suggestion', () => { ask(s.q); }));
      ui.suggestionList.append(li);
    }
  }

  async function boot() {
    renderSuggestions();
    renderList();
    const id = lsGet(STORE_KEY);
    if (!id) { showStart(); return; }
    const r = await call('GET', sessionPath(id));
    if (r.status === 200 && r.json && typeof r.json.session_id === 'string') {
      showChat(r.json);
    } else if (r.status === 404 || r.status === 400) {
      lsSet(STORE_KEY, null);
      listRemove(id);
      showStart();
    } else {
      showStart();
      ui.startError.textContent = errorText(r, 'Your last conversation could not be loaded right now.');
    }
  }

  /* ---------- wiring ---------- */

  ui.startForm.addEventListener('submit', startSession);
  ui.askForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!ui.question.value.trim()) { ui.question.focus(); return; }
    ask(ui.question.value);
  });
  ui.question.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      if (ui.question.value.trim()) ask(ui.question.value);
    }
  });
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && turn && !ui.dialog.open) {
      ev.preventDefault();
      stop();
    }
  });
  ui.stopBtn.addEventListener('click', stop);
  ui.olderBtn.addEventListener('click', loadOlder);
  ui.jumpBtn.addEventListener('click', () => {
    ui.jumpBtn.hidden = true;
    toBottom();
  });
  ui.queueNow.addEventListener('click', () => { if (turn) stop(); });
  ui.queueCancel.addEventListener('click', () => {
    if (queued !== null && !ui.question.value) ui.question.value = queued;
    setQueued(null);
    ui.question.focus();
  });
  ui.newBtn.addEventListener('click', newConversation);
  ui.historyBtn.addEventListener('click', () => {
    const open = !ui.history.classList.contains('open');
    setHistoryOpen(open);
    if (open) {
      const first = ui.historyList.querySelector('a');
      if (first) first.focus();
    }
  });
  ui.deleteBtn.addEventListener('click', () => { if (session) confirmDelete(session.id); });
  ui.confirmCancel.addEventListener('click', () => ui.dialog.close());
  ui.confirmOk.addEventListener('click', () => {
    ui.dialog.close();
    if (pendingDelete) deleteConversation(pendingDelete);
    pendingDelete = null;
  });
  ui.skip.addEventListener('click', (ev) => {
    const target = !ui.chatView.hidden ? ui.question : ui.parentName;
    ev.preventDefault();
    target.focus();
  });

  boot();
})();
