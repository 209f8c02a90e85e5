// What is at a point of the viewport (CSS pixels): the element a click there is meant for, whether it is
// disabled, hidden or covered, and the nearby text a person would read. Returns a plain object or null.
// Called with `this` = the topmost element at the point as Chromium hit-tests it (closed shadow roots
// and same-origin frames included; actions/browser.py asks DevTools for it), or with no `this`
// (plain evaluate), when it hit-tests by itself through frames and open shadow roots.
function ([px, py]) {
  // Controls by what they are and by what the page does with them (handlers, a pointer cursor,
  // focusability): third-party widgets bind clicks to <a> without href, <div>s and <span>s.
  const INTERACTIVE =
    'a,button,input,select,textarea,summary,label,option,[role=button],[role=link],' +
    '[role=checkbox],[role=radio],[role=switch],[role=tab],[role=menuitem],[role=menuitemcheckbox],' +
    '[role=menuitemradio],[role=option],[role=treeitem],[role=gridcell],[role=spinbutton],[role=slider],' +
    '[role=textbox],[role=combobox],[contenteditable=""],[contenteditable=true],[onclick],[onmousedown],' +
    '[onmouseup],[onpointerdown],[tabindex],[data-handler],[data-event]';
  const HANDLERS = ['onclick', 'onmousedown', 'onmouseup', 'onpointerdown', 'onpointerup'];
  const IMPLICIT_ROLE = {
    A: 'link', BUTTON: 'button', SELECT: 'combobox', TEXTAREA: 'textbox', SUMMARY: 'button',
    H1: 'heading', H2: 'heading', H3: 'heading', H4: 'heading', H5: 'heading', H6: 'heading',
    DIALOG: 'dialog', IMG: 'img', FORM: 'form', NAV: 'navigation', OPTION: 'option',
  };
  const INPUT_ROLE = {
    checkbox: 'checkbox', radio: 'radio', button: 'button', submit: 'button', reset: 'button',
    image: 'button', range: 'slider', search: 'searchbox',
  };
  const clip = (s, n) => {
    s = (s || '').replace(/\s+/g, ' ').trim();
    return s.length > n ? s.slice(0, n - 1) + '…' : s;
  };

  // The parent across shadow boundaries (a closed root's host included: we start inside it).
  const up = (e) => e.parentElement || (e.parentNode && e.parentNode.host) || null;
  const inside = (outer, e) => { for (; e; e = up(e)) if (e === outer) return true; return false; };

  function clickable(el) {
    if (el.matches(INTERACTIVE)) return true;
    if (HANDLERS.some((h) => typeof el[h] === 'function')) return true;
    // A pointer cursor the page set on this element (not one inherited from a clickable ancestor).
    const parent = up(el);
    return getComputedStyle(el).cursor === 'pointer' && !(parent && getComputedStyle(parent).cursor === 'pointer');
  }
  function clickableAncestor(el) {
    for (let e = el; e && e.nodeType === 1; e = up(e)) {
      if (e === document.body || e === document.documentElement) return null;
      if (clickable(e)) return e;
    }
    return null;
  }

  // Hit-test through same-origin iframes and open shadow roots; offsets map back to the top viewport.
  function stackAt(doc, x, y, ox, oy) {
    const stack = doc.elementsFromPoint(x, y);
    const top = stack[0];
    if (top && top.tagName === 'IFRAME') {
      try {
        const r = top.getBoundingClientRect();
        const inner = top.contentDocument;
        if (inner) {
          const s = stackAt(inner, x - r.left - top.clientLeft, y - r.top - top.clientTop, ox + r.left + top.clientLeft, oy + r.top + top.clientTop);
          if (s.stack.length) return s;
        }
      } catch (e) { /* cross-origin frame: report the iframe itself */ }
    }
    if (top && top.shadowRoot) {
      const inner = top.shadowRoot.elementsFromPoint(x, y).filter((e) => top.shadowRoot.contains(e));
      if (inner.length) return { stack: [...inner, ...stack], ox, oy };
    }
    return { stack, ox, oy };
  }

  function role(el) {
    const explicit = el.getAttribute('role');
    if (explicit) return explicit;
    if (el.tagName === 'INPUT') return INPUT_ROLE[(el.type || 'text').toLowerCase()] || 'textbox';
    if (el.tagName === 'A' && !el.hasAttribute('href')) return null;
    return IMPLICIT_ROLE[el.tagName] || null;
  }

/*@names@*/

  function labelOf(el) {
    const aria = el.getAttribute('aria-label');
    if (aria) return clip(aria, 80);
    const by = el.getAttribute('aria-labelledby');
    if (by) {
      const t = by.split(/\s+/).map((id) => el.ownerDocument.getElementById(id)).filter(Boolean).map((e) => e.innerText).join(' ');
      if (t.trim()) return clip(t, 80);
    }
    if (el.labels && el.labels.length) return clip([...el.labels].map((l) => l.innerText).join(' '), 80);
    if (el.tagName === 'INPUT' && ['button', 'submit', 'reset'].includes(el.type)) return clip(el.value, 80);
    for (const attr of ['placeholder', 'title', 'alt', 'name']) {
      if (el.getAttribute(attr)) return clip(el.getAttribute(attr), 80);
    }
    const text = clip(el.innerText, 80);
    return text || null;
  }

  // A CSS selector that matches only `el` in the top document (ids, test ids, names, then a short
  // nth-of-type path from the nearest ancestor with an id); null inside frames and shadow roots,
  // or when none is unique. A compiled job (tasks/jobs) finds the element again by it.
  function selectorOf(el) {
    if (el.ownerDocument !== document || el.getRootNode() !== document) return null;
    const unique = (s) => { try { return document.querySelectorAll(s).length === 1; } catch (e) { return false; } };
    const tag = el.tagName.toLowerCase();
    if (el.id && unique('#' + CSS.escape(el.id))) return '#' + CSS.escape(el.id);
    for (const attr of ['data-testid', 'data-test', 'data-qa', 'name', 'aria-label']) {
      const v = el.getAttribute(attr);
      const s = v ? `${tag}[${attr}="${CSS.escape(v)}"]` : null;
      if (s && unique(s)) return s;
    }
    const parts = [];
    for (let e = el; e && e.nodeType === 1 && parts.length < 8; e = e.parentElement) {
      if (e !== el && e.id && unique('#' + CSS.escape(e.id))) { parts.unshift('#' + CSS.escape(e.id)); break; }
      let part = e.tagName.toLowerCase();
      const twins = e.parentElement ? [...e.parentElement.children].filter((c) => c.tagName === e.tagName) : [];
      if (twins.length > 1) part += `:nth-of-type(${twins.indexOf(e) + 1})`;
      parts.unshift(part);
      if (e.tagName === 'BODY') break;
    }
    const s = parts.join(' > ');
    return unique(s) ? s : null;
  }

  function isDisabled(el) {
    for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
      if (e.disabled === true || e.getAttribute('aria-disabled') === 'true') return true;
      if (e.tagName === 'FIELDSET' && e.disabled) return true;
    }
    return false;
  }

  function isHidden(el) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) return true;
    for (let e = el; e && e.nodeType === 1; e = up(e)) {
      const cs = getComputedStyle(e);
      // What is painted decides; aria-hidden only hides from assistive technology (jQuery UI marks
      // its visible spinner arrows so).
      if (cs.display === 'none' || cs.visibility === 'hidden' || parseFloat(cs.opacity) === 0) return true;
    }
    return false;
  }

  // The container a covering element belongs to: a dialog, or the outermost positioned layer.
  function overlayRoot(el) {
    let layer = el;
    for (let e = el; e && e.nodeType === 1 && e.tagName !== 'BODY'; e = e.parentElement) {
      const r = e.getAttribute('role');
      if (e.tagName === 'DIALOG' || r === 'dialog' || r === 'alertdialog' || e.getAttribute('aria-modal') === 'true') return e;
      const pos = getComputedStyle(e).position;
      if (pos === 'fixed' || pos === 'absolute' || pos === 'sticky') layer = e;
    }
    return layer;
  }

  function describe(el) {
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    else if (typeof el.className === 'string' && el.className.trim()) s += '.' + el.className.trim().split(/\s+/)[0];
    let title = el.getAttribute('aria-label');
    if (!title) {
      const h = el.querySelector('h1,h2,h3,h4,h5,h6,[role=heading],legend,header');
      title = h ? h.innerText : (el.innerText || '').split('\n').find((l) => l.trim());
    }
    title = clip(title, 60);
    return title ? `${s} '${title}'` : s;
  }

  // Text around a control that explains its state: unticked checkboxes, empty required fields,
  // validation messages and alerts in the same form (or the nearest container).
  function contextOf(el) {
    const scope = el.closest('form') || el.closest('fieldset,[role=form],[role=dialog],dialog,section') || el.parentElement;
    if (!scope) return null;
    const parts = [];
    const seen = new Set();
    const add = (s) => { s = clip(s, 120); if (s && !seen.has(s)) { seen.add(s); parts.push(s); } };
    const CONSENT = /agree|accept|terms|consent|confirm|acknowledge|policy/i;
    for (const f of scope.querySelectorAll('input,select,textarea')) {
      if (f === el || isHidden(f)) continue;
      const name = labelOf(f) || f.name || f.type;
      if (f.type === 'checkbox' && !f.checked && (f.required || CONSENT.test(name))) add(`unticked checkbox '${name}'`);
      else if (f.required && f.type !== 'checkbox' && f.type !== 'radio' && !f.value) add(`empty required field '${name}'`);
      else if (f.willValidate && !f.checkValidity() && f.type !== 'checkbox') add(`'${name}': ${f.validationMessage}`);
    }
    const msgs = scope.querySelectorAll('[role=alert],[aria-live],.error,.errors,.invalid-feedback,.help,.hint,.form-error,[id$=error],[id$=hint]');
    for (const m of msgs) if (!isHidden(m) && m.innerText.trim()) add(`message '${clip(m.innerText, 100)}'`);
    return parts.length ? parts.join('; ').slice(0, 400) : null;
  }

  let stack, ox = 0, oy = 0;
  const deep = this && this.nodeType ? (this.nodeType === 1 ? this : this.parentElement) : null;
  if (deep) {
    // Inside a same-origin frame the point is in that frame's viewport: add the frames' offsets.
    for (let w = window; w !== w.parent && w.frameElement; w = w.parent) {
      const f = w.frameElement, r = f.getBoundingClientRect();
      ox += r.left + f.clientLeft; oy += r.top + f.clientTop;
    }
    const path = [];
    for (let e = deep; e; e = up(e)) path.push(e);
    const below = document.elementsFromPoint(px - ox, py - oy).filter((e) => !path.includes(e));
    stack = [...path, ...below];
  } else {
    if (px < 0 || py < 0 || px >= window.innerWidth || py >= window.innerHeight) return null;
    ({ stack, ox, oy } = stackAt(document, px, py, 0, 0));
  }
  if (!stack.length) return null;
  const top = stack[0];
  let target = stack.map(clickableAncestor).find(Boolean) || null;
  let hidden = false;
  if (!target) {
    // Nothing interactive is hit; an invisible control (opacity 0, visibility hidden) may still sit here.
    for (const c of document.querySelectorAll(INTERACTIVE)) {
      const r = c.getBoundingClientRect();
      if (r.width && r.height && px >= r.left && px < r.right && py >= r.top && py < r.bottom && isHidden(c)) {
        target = c; hidden = true; break;
      }
    }
  }
  target = target || top;
  hidden = hidden || isHidden(target);
  // Covered: the topmost hit is neither the target nor inside it (a label's control counts as inside).
  const covered = top !== target && !inside(target, top) && !(target.control && target.control === top);
  const r = target.getBoundingClientRect();
  const name = clip(nameOf(target), 120);
  return {
    tag: target.tagName.toLowerCase(),
    text: clip(target.innerText || target.value || '', 120),
    role: role(target),
    label: labelOf(target),
    disabled: isDisabled(target),
    hidden: hidden,
    interactive: !!clickableAncestor(target),
    covered_by: covered ? describe(overlayRoot(top)) : null,
    bbox: [r.left + ox, r.top + oy, r.width, r.height],
    context: contextOf(target),
    name: name || null,
    texts: textsOf(target),
    // Nothing to read but pixels: the gate judges the model's stated intent instead.
    graphic: !name && (graphicTag(target) || graphicTag(top)),
    // A frame we could not look into (cross-origin): actions/browser_probe.py probes inside it.
    frame: target.tagName === 'IFRAME' || target.tagName === 'FRAME' ? target.src || null : null,
    selector: selectorOf(target),
  };
}
