  // Names and texts of an element as a person (and a screen reader) meets them. Pasted into
  // page_probe.js and page_focus.js where `/*@names@*/` stands (actions/browser_probe.py): the
  // probes are single functions sent over DevTools, so they cannot import each other.
  //
  // nameOf: the accessible name much as browsers compute it (aria-labelledby, aria-label, the value
  // of input buttons, alt, <label>s, content across child elements with CSS ::before/::after text,
  // title, placeholder), but with ELEMENT BOUNDARIES KEPT AS SPACES: <span>Buy</span><span>Now</span>
  // reads "Buy Now", which the risky-word gate matches as words, where the browser's "BuyNow" does not.
  // textsOf: every text shown or announced for it, one string per text node, pseudo-element and
  // labelling attribute, so that no way of writing a word hides it from the gate.
  const NAME_FROM_CONTENT = new Set([
    'button', 'link', 'menuitem', 'menuitemcheckbox', 'menuitemradio', 'tab', 'option', 'checkbox',
    'radio', 'switch', 'treeitem', 'cell', 'gridcell', 'heading', 'tooltip', 'columnheader', 'rowheader',
  ]);
  const squash = (s) => (s || '').replace(/\s+/g, ' ').trim();
  // Painted at all (display, visibility, content-visibility); opacity does not hide a word from a
  // reader of the DOM, and a hostile page could fade a label in after we looked.
  const shown = (e) => (e.checkVisibility ? e.checkVisibility({ visibilityProperty: true }) : true);
  const unescapeCss = (s) =>
    s.replace(/\\([0-9a-fA-F]{1,6})\s?/g, (_, h) => String.fromCodePoint(parseInt(h, 16))).replace(/\\(.)/g, '$1');
  // The text of `content` on ::before/::after: quoted strings and attr() values (url() and counters
  // are no words).
  function cssContent(el, pseudo) {
    let c = '';
    try { c = getComputedStyle(el, pseudo).content; } catch (e) { return ''; }
    if (!c || c === 'none' || c === 'normal') return '';
    const out = [];
    const re = /"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|attr\(\s*([\w-]+)\s*\)/g;
    let m;
    while ((m = re.exec(c))) out.push(m[3] ? el.getAttribute(m[3]) || '' : unescapeCss(m[1] ?? m[2]));
    return out.join('');
  }
  // Child nodes as rendered: a shadow root's (open ones), slots by what is assigned to them.
  function kids(el) {
    if (el.tagName === 'SLOT' && el.assignedNodes) {
      const assigned = el.assignedNodes({ flatten: true });
      if (assigned.length) return assigned;
    }
    return [...(el.shadowRoot ? el.shadowRoot.childNodes : el.childNodes)];
  }
  function byIds(el, attr) {
    const ids = (el.getAttribute(attr) || '').split(/\s+/).filter(Boolean);
    const root = el.getRootNode ? el.getRootNode() : el.ownerDocument;
    return ids.map((id) => (root.getElementById ? root.getElementById(id) : null) || el.ownerDocument.getElementById(id)).filter(Boolean);
  }
  function contentName(el, seen, sep) {
    const parts = [cssContent(el, '::before')];
    for (const n of kids(el)) {
      if (n.nodeType === 3) parts.push(n.textContent);
      else if (n.nodeType === 1) parts.push(nameOf(n, seen, false, true, sep));
    }
    parts.push(cssContent(el, '::after'));
    return squash(parts.filter(Boolean).join(sep));
  }
  // `referenced`: reached through aria-labelledby (hidden elements count then, as in browsers);
  // `inContent`: part of an ancestor's name from content; `sep`: what joins child elements.
  function nameOf(el, seen = new Set(), referenced = false, inContent = false, sep = ' ') {
    if (!el || el.nodeType !== 1 || seen.has(el)) return '';
    seen.add(el);
    if (!referenced && !shown(el)) return '';
    if (!referenced && !inContent) {
      const t = byIds(el, 'aria-labelledby').map((e) => nameOf(e, seen, true, true, sep)).join(' ');
      if (squash(t)) return squash(t);
    }
    const aria = el.getAttribute('aria-label');
    if (aria && aria.trim()) return squash(aria);
    const tag = el.tagName;
    const type = (el.type || '').toLowerCase();
    if (tag === 'INPUT' && ['button', 'submit', 'reset'].includes(type)) {
      return squash(el.value) || (type === 'submit' ? 'Submit' : type === 'reset' ? 'Reset' : '');
    }
    if (tag === 'INPUT' && type === 'image') return squash(el.alt || el.value || 'Submit');
    if ((tag === 'IMG' || tag === 'AREA') && el.getAttribute('alt')) return squash(el.getAttribute('alt'));
    if (!inContent && el.labels && el.labels.length) {
      const t = [...el.labels].map((l) => nameOf(l, seen, true, true, sep)).join(' ');
      if (squash(t)) return squash(t);
    }
    const r = el.getAttribute('role') || role(el);
    const editable = tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT';
    if (!editable && (inContent || referenced || NAME_FROM_CONTENT.has(r) || clickable(el))) {
      const t = contentName(el, seen, sep);
      if (t) return t;
    }
    return squash(el.getAttribute('title') || el.getAttribute('placeholder') || '');
  }
  // Texts of `el` and what it holds, each on its own: text nodes, ::before/::after, labelling
  // attributes; also the name with children run together ("BuyNow" as the browser says it). Field
  // values are left out (what was typed may be a secret); input buttons' values are their labels.
  function textsOf(el, limit = 40) {
    const out = [], seen = new Set();
    const add = (s) => {
      s = squash(s);
      if (s.length > 120) s = s.slice(0, 119) + '…';
      if (s && !seen.has(s) && out.length < limit) { seen.add(s); out.push(s); }
    };
    add(nameOf(el, new Set(), false, false, ''));
    let budget = 120; // elements visited: a click on a page-wide container reads no whole page
    const walk = (e) => {
      if (budget-- <= 0 || !shown(e)) return;
      for (const a of ['aria-label', 'title', 'alt']) add(e.getAttribute(a));
      if (e.tagName === 'INPUT' && ['button', 'submit', 'reset', 'image'].includes((e.type || '').toLowerCase())) add(e.value);
      add(cssContent(e, '::before'));
      for (const n of kids(e)) {
        if (n.nodeType === 3) add(n.textContent);
        else if (n.nodeType === 1) walk(n);
      }
      add(cssContent(e, '::after'));
    };
    if (el.tagName !== 'BODY' && el.tagName !== 'HTML') walk(el);
    return out;
  }
  // Canvas, images, svg, video and plug-ins: their words, if any, are pixels the DOM cannot read.
  const GRAPHIC = new Set(['CANVAS', 'IMG', 'SVG', 'EMBED', 'OBJECT', 'VIDEO', 'PICTURE']);
  const graphicTag = (e) => !!e && (GRAPHIC.has(e.tagName.toUpperCase()) || (typeof SVGElement !== 'undefined' && e instanceof SVGElement));
