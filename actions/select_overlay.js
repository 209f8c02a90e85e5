// Installed in every document before its own scripts (a context init script). A native <select>'s
// option list is drawn by the browser outside the page, so it never appears in a screenshot and a
// vision model could never click an option. Instead, pressing on a single-choice <select> opens an
// in-page list at the select's position: it shows in screenshots, and clicking a row chooses the
// option (input and change events fire as for a person's choice). Escape, scrolling or a press
// elsewhere closes it. Keyboard use of the select is untouched.
(() => {
  const KEY = Symbol.for('qwen-agent.select');
  if (window[KEY]) return;
  Object.defineProperty(window, KEY, { value: true, enumerable: false });
  let open = null; // { select, list }

  function close() {
    if (open) open.list.remove();
    open = null;
  }

  function choose(select, option) {
    close();
    select.focus();
    if (option.selected) return;
    option.selected = true;
    select.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
    select.dispatchEvent(new Event('change', { bubbles: true }));
  }

  function show(select) {
    close();
    const r = select.getBoundingClientRect();
    const cs = getComputedStyle(select);
    const list = document.createElement('div');
    list.setAttribute('role', 'listbox');
    list.setAttribute('aria-label', select.getAttribute('aria-label') || select.name || 'options');
    list.dataset.qwenAgent = 'select-options';
    const below = window.innerHeight - r.bottom;
    const height = Math.min(select.options.length * 24 + 4, 320);
    const top = below >= height || below >= r.top ? r.bottom : Math.max(0, r.top - height);
    Object.assign(list.style, {
      position: 'fixed', left: `${r.left}px`, top: `${top}px`, minWidth: `${r.width}px`,
      maxHeight: '320px', overflowY: 'auto', background: '#fff', color: '#000',
      border: '1px solid #767676', boxShadow: '0 2px 8px rgba(0,0,0,.35)', zIndex: '2147483647',
      font: cs.font, boxSizing: 'border-box', padding: '2px 0', textAlign: 'left',
    });
    for (const option of select.options) {
      const row = document.createElement('div');
      row.setAttribute('role', 'option');
      row.setAttribute('aria-selected', String(option.selected));
      row.textContent = option.label || option.text;
      const group = option.parentElement && option.parentElement.tagName === 'OPTGROUP';
      Object.assign(row.style, {
        padding: `3px 8px 3px ${group ? 20 : 8}px`, whiteSpace: 'pre', lineHeight: '18px',
        cursor: option.disabled ? 'default' : 'pointer',
        background: option.selected ? '#1967d2' : '', color: option.selected ? '#fff' : option.disabled ? '#999' : '',
      });
      row.addEventListener('mousedown', (e) => e.preventDefault());
      row.addEventListener('click', (e) => {
        e.stopPropagation();
        if (!option.disabled) choose(select, option);
      });
      list.appendChild(row);
    }
    document.documentElement.appendChild(list);
    open = { select, list };
  }

  document.addEventListener('mousedown', (e) => {
    const target = e.target;
    if (open && open.list.contains(target)) return;
    if (target instanceof HTMLSelectElement && !target.multiple && target.size <= 1 && !target.disabled) {
      e.preventDefault(); // no native popup: it would be invisible to the screenshot
      const again = open && open.select === target;
      target.focus();
      if (again) close(); else show(target);
      return;
    }
    close();
  }, true);
  document.addEventListener('keydown', (e) => { if (open && e.key === 'Escape') close(); }, true);
  window.addEventListener('scroll', (e) => { if (open && !open.list.contains(e.target)) close(); }, true);
})();
