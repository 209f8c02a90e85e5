// The element that has the keyboard focus, as the risky-action gate needs it: what it is, its name
// and texts, and for a field the name of the button its form's implicit submission (Enter) would
// press. Through open shadow roots and same-origin frames; a cross-origin frame that holds the focus
// is reported as {inside: true} (actions/browser_probe.py then asks the frames). Field values are
// never read (what was typed may be a secret). Returns a plain object, or null when nothing but the
// page itself has the focus.
function () {
  const IMPLICIT_ROLE = { A: 'link', BUTTON: 'button', SELECT: 'combobox', TEXTAREA: 'textbox', SUMMARY: 'button' };
  const INPUT_ROLE = {
    checkbox: 'checkbox', radio: 'radio', button: 'button', submit: 'button', reset: 'button',
    image: 'button', range: 'slider', search: 'searchbox', file: 'button', color: 'button',
  };
  function role(el) {
    const explicit = el.getAttribute('role');
    if (explicit) return explicit;
    if (el.tagName === 'INPUT') return INPUT_ROLE[(el.type || 'text').toLowerCase()] || 'textbox';
    if (el.isContentEditable) return 'textbox';
    return IMPLICIT_ROLE[el.tagName] || null;
  }
  // A focused element is one a person acts on: its content names it.
  const clickable = () => true;

/*@names@*/

  // Input types whose Enter submits the form (HTML "implicit submission"); these also block it
  // when a form without a submit button has more than one of them.
  const SUBMITTING = new Set([
    'text', 'search', 'url', 'tel', 'email', 'password', 'date', 'month', 'week', 'time',
    'datetime-local', 'number',
  ]);
  // What Enter in `el` submits: the form's default button (its first submit button, when enabled),
  // or the form itself when it has no submit button and only this one field; null when nothing.
  function submits(el) {
    const type = (el.type || 'text').toLowerCase();
    if (el.tagName !== 'INPUT' || !SUBMITTING.has(type) || !el.form) return null;
    const form = el.form;
    const button = [...form.elements].find(
      (e) => (e.tagName === 'BUTTON' && e.type === 'submit') || (e.tagName === 'INPUT' && ['submit', 'image'].includes(e.type)),
    );
    if (button) return button.disabled ? null : nameOf(button) || 'Submit';
    const fields = [...form.elements].filter((e) => e.tagName === 'INPUT' && SUBMITTING.has((e.type || 'text').toLowerCase()));
    if (fields.length !== 1) return null;
    return squash(form.getAttribute('aria-label') || form.getAttribute('name') || form.id) || 'the form';
  }

  let el = document.activeElement;
  for (;;) {
    if (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
    else if (el && (el.tagName === 'IFRAME' || el.tagName === 'FRAME')) {
      let inner = null;
      try { inner = el.contentDocument && el.contentDocument.activeElement; } catch (e) { /* cross-origin */ }
      if (!inner) return { inside: true, frame: el.src || null, has_focus: document.hasFocus() };
      el = inner;
    } else break;
  }
  if (!el || el.tagName === 'BODY' || el.tagName === 'HTML') return null;
  const r = role(el);
  const field = ['textbox', 'searchbox', 'combobox', 'spinbutton'].includes(r) || el.tagName === 'TEXTAREA';
  const name = nameOf(el);
  const box = el.getBoundingClientRect();
  return {
    has_focus: document.hasFocus(),
    tag: el.tagName.toLowerCase(),
    text: '',
    role: r,
    label: name || null,
    name: name || null,
    // A field's own words are what it asks for, not what Enter does; a control's are.
    texts: field ? [] : textsOf(el),
    submits: submits(el),
    bbox: [box.left, box.top, box.width, box.height],
  };
}
