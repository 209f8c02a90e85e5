// Runs in the page (Playwright page.evaluate): every interactive element of the document with its
// accessible name, kind, CSS-pixel box in the viewport and an approximate WCAG contrast ratio, or
// the reason it cannot be a grounding target. Called as `(options) => {...}`; see build.py.
//
// Frame: every box here is in CSS PIXELS of the layout viewport (getBoundingClientRect: origin at the
// viewport's top-left); build.py multiplies by the screenshot's pixels per CSS pixel.
(options) => {
  const MAX_NAME = options.maxName || 80;
  const MIN_SIDE = 3; // CSS px: thinner than this is not a clickable target anyone can see
  const STRICT = [
    "a[href]", "button", "input:not([type=hidden])", "select", "textarea", "summary",
    "[onclick]", "[contenteditable=''], [contenteditable=true]", "[tabindex]:not([tabindex='-1'])",
    ...["button", "link", "tab", "menuitem", "menuitemcheckbox", "menuitemradio", "switch", "checkbox",
      "radio", "option", "combobox", "slider", "spinbutton", "treeitem", "textbox", "searchbox"]
      .map((r) => `[role=${r}]`),
  ].join(",");
  const FIELD_ROLES = new Set(["textbox", "searchbox", "combobox", "spinbutton", "slider"]);
  const vw = window.innerWidth, vh = window.innerHeight;

  // --- candidates: the strict selector, plus elements that start a pointer cursor (a click handler
  // attached with addEventListener is invisible to page JS; a pointer cursor is how apps mark it).
  const strict = new Set(document.querySelectorAll(STRICT));
  const all = new Set(strict);
  for (const el of document.body ? document.body.querySelectorAll("*") : []) {
    if (all.has(el)) continue;
    const cursor = getComputedStyle(el).cursor;
    if (cursor === "pointer" && (!el.parentElement || getComputedStyle(el.parentElement).cursor !== "pointer")) all.add(el);
  }
  // The innermost wins: a tab <li> holding its <a>, a menu row holding its item, a card holding a
  // button -- clicking the container's centre would often hit the inner control instead.
  const candidates = [...all].filter((el) => ![...all].some((o) => o !== el && el.contains(o)));

  // --- colours: read through a canvas so every CSS colour syntax (rgb, hsl, oklch, color()) works.
  const ctx = document.createElement("canvas").getContext("2d", { willReadFrequently: true });
  const cache = new Map();
  function rgba(css) {
    if (!css || css === "none" || css === "transparent") return [0, 0, 0, 0];
    if (cache.has(css)) return cache.get(css);
    ctx.clearRect(0, 0, 1, 1);
    ctx.fillStyle = "rgba(0,0,0,0)";
    ctx.fillStyle = css;
    ctx.fillRect(0, 0, 1, 1);
    const d = ctx.getImageData(0, 0, 1, 1).data;
    const out = d[3] ? [d[0] * 255 / d[3], d[1] * 255 / d[3], d[2] * 255 / d[3], d[3] / 255] : [0, 0, 0, 0];
    cache.set(css, out);
    return out;
  }
  const over = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3])).concat([1]);
  // What lies behind an element: background colours composited from the root (white canvas) down.
  function backdrop(el) {
    const chain = [];
    for (let e = el; e; e = e.parentElement) chain.push(e);
    let colour = [255, 255, 255, 1];
    for (const e of chain.reverse()) {
      const bg = rgba(getComputedStyle(e).backgroundColor);
      if (bg[3] > 0) colour = over(bg, colour);
    }
    return colour;
  }
  const lum = (c) => {
    const [r, g, b] = c.slice(0, 3).map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };

  function visibleTextNode(el) {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (!n.textContent.trim() || !n.parentElement) continue;
      const st = getComputedStyle(n.parentElement);
      if (st.visibility !== "visible" || parseFloat(st.fontSize) < 4 || rgba(st.color)[3] === 0) continue;
      const range = document.createRange();
      range.selectNodeContents(n);
      const r = range.getBoundingClientRect();
      const box = el.getBoundingClientRect();
      // Text pushed out of its box (text-indent: -9999px, an icon font's hidden label) is not visible.
      if (r.width > 0 && r.height > 0 && r.right > box.left && r.left < box.right && r.bottom > box.top && r.top < box.bottom) return n;
    }
    return null;
  }
  function fieldShowsText(el) {
    const tag = el.tagName;
    if (tag === "SELECT") return !!(el.selectedOptions[0] && el.selectedOptions[0].text.trim());
    if (tag === "TEXTAREA") return !!(el.value.trim() || el.placeholder.trim());
    if (tag !== "INPUT") return false;
    const t = (el.type || "text").toLowerCase();
    if (["button", "submit", "reset"].includes(t)) return !!(el.value || t).trim();
    if (["checkbox", "radio", "range", "color", "file", "image"].includes(t)) return false;
    return !!(el.value.trim() || el.placeholder.trim());
  }
  function firstPaintedShape(el) {
    const svg = el.tagName.toLowerCase() === "svg" ? el : el.querySelector("svg");
    if (!svg) return null;
    for (const s of svg.querySelectorAll("path, rect, circle, ellipse, line, polyline, polygon, text, use")) {
      const st = getComputedStyle(s);
      const stroke = rgba(st.stroke), fill = rgba(st.fill);
      if (stroke[3] > 0 && parseFloat(st.strokeWidth) > 0) return stroke;
      if (fill[3] > 0) return fill;
    }
    return null;
  }
  // An approximate WCAG contrast ratio (see build.py's module docstring for what is compared).
  function contrast(el, textNode) {
    const behind = backdrop(el.parentElement || el);
    const own = backdrop(el);
    if (!textNode && ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName) && fieldShowsText(el)) {
      // A field's text is its value, or (empty) its placeholder, drawn on its own background.
      const pseudo = el.value || el.tagName === "SELECT" ? null : "::placeholder";
      return ratio(over(rgba(getComputedStyle(el, pseudo).color), own), own);
    }
    if (textNode) return ratio(over(rgba(getComputedStyle(textNode.parentElement).color), backdrop(textNode.parentElement)), backdrop(textNode.parentElement));
    const shape = firstPaintedShape(el);
    if (shape) return ratio(over(shape, own), own);
    const st = getComputedStyle(el);
    const figures = [ratio(own, behind)];
    if (parseFloat(st.borderTopWidth) > 0) {
      const border = rgba(st.borderTopColor);
      if (border[3] > 0) figures.push(ratio(over(border, behind), behind));
    }
    const child = el.firstElementChild;
    if (child) {
      const bg = rgba(getComputedStyle(child).backgroundColor);
      if (bg[3] > 0) figures.push(ratio(over(bg, own), own));
    }
    if (figures.every((f) => f < 1.01)) return ratio(over(rgba(st.color), own), own);
    return Math.max(...figures);
  }

  const clean = (s) => (s || "").replace(/\s+/g, " ").trim();
  const cut = (s) => (s.length > MAX_NAME ? s.slice(0, MAX_NAME - 1).trimEnd() + "…" : s);
  function name(el) {
    const by = el.getAttribute("aria-labelledby");
    if (by) {
      const text = clean(by.split(/\s+/).map((id) => document.getElementById(id)?.innerText || "").join(" "));
      if (text) return text;
    }
    const aria = clean(el.getAttribute("aria-label"));
    if (aria) return aria;
    if (["INPUT", "SELECT", "TEXTAREA"].includes(el.tagName)) {
      const t = (el.type || "").toLowerCase();
      if (el.tagName === "INPUT" && ["button", "submit", "reset"].includes(t)) return clean(el.value) || t;
      const label = clean([...(el.labels || [])].map((l) => l.innerText).join(" "));
      if (label) return label;
      if (clean(el.placeholder)) return clean(el.placeholder);
      return clean(el.title);
    }
    const text = clean(el.innerText);
    if (text) return text;
    const alt = clean(el.tagName === "IMG" ? el.alt : el.querySelector("img[alt]")?.alt);
    if (alt) return alt;
    return clean(el.title) || clean(el.querySelector("svg title")?.textContent);
  }
  function role(el) {
    const r = el.getAttribute("role");
    if (r) return r;
    const tag = el.tagName.toLowerCase();
    if (tag === "a") return "link";
    if (tag === "input") {
      const t = (el.type || "text").toLowerCase();
      return ["checkbox", "radio"].includes(t) ? t : ["button", "submit", "reset", "image"].includes(t) ? "button" : t === "range" ? "slider" : "textbox";
    }
    return { select: "combobox", textarea: "textbox", button: "button", summary: "button" }[tag] || (strict.has(el) ? tag : "clickable");
  }
  function selector(el) {
    const parts = [];
    for (let e = el; e && e.nodeType === 1 && e !== document.documentElement; e = e.parentElement) {
      if (e.id && document.querySelectorAll(`#${CSS.escape(e.id)}`).length === 1) { parts.unshift(`#${CSS.escape(e.id)}`); break; }
      const tag = e.tagName.toLowerCase();
      const same = e.parentElement ? [...e.parentElement.children].filter((c) => c.tagName === e.tagName) : [e];
      parts.unshift(same.length > 1 ? `${tag}:nth-of-type(${same.indexOf(e) + 1})` : tag);
    }
    return parts.join(" > ");
  }
  function opacity(el) {
    let o = 1;
    for (let e = el; e; e = e.parentElement) o *= parseFloat(getComputedStyle(e).opacity);
    return o;
  }
  // The element's box as far as it is visible: clipped by scrolling / overflow-hidden ancestors and
  // by the viewport.
  function visibleBox(el) {
    const r = el.getBoundingClientRect();
    let [x1, y1, x2, y2] = [r.left, r.top, r.right, r.bottom];
    for (let e = el.parentElement; e && e !== document.body && e !== document.documentElement; e = e.parentElement) {
      const st = getComputedStyle(e);
      if (st.overflowX === "visible" && st.overflowY === "visible") continue;
      const c = e.getBoundingClientRect();
      if (st.overflowX !== "visible") { x1 = Math.max(x1, c.left); x2 = Math.min(x2, c.right); }
      if (st.overflowY !== "visible") { y1 = Math.max(y1, c.top); y2 = Math.min(y2, c.bottom); }
    }
    const full = [x1, y1, x2, y2];
    x1 = Math.max(x1, 0); y1 = Math.max(y1, 0); x2 = Math.min(x2, vw); y2 = Math.min(y2, vh);
    return { full, clipped: [x1, y1, x2, y2], width: r.width, height: r.height };
  }

  const out = [];
  for (const el of candidates) {
    const st = getComputedStyle(el);
    const item = { tag: el.tagName.toLowerCase(), role: role(el), selector: selector(el), name: "", ui_type: "text",
                   field: false, box: null, contrast: null, skip: null };
    out.push(item);
    const b = visibleBox(el);
    if (b.width < MIN_SIDE || b.height < MIN_SIDE || st.visibility !== "visible" || opacity(el) < 0.1) { item.skip = "invisible"; continue; }
    const [fx1, fy1, fx2, fy2] = b.full, [x1, y1, x2, y2] = b.clipped;
    const area = Math.max(0, fx2 - fx1) * Math.max(0, fy2 - fy1);
    const seen = Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
    // Mostly outside the viewport (or scrolled out of its container): not on this screenshot.
    if (x2 - x1 < MIN_SIDE || y2 - y1 < MIN_SIDE || seen < 0.5 * area) { item.skip = "off_screen"; continue; }
    item.box = [x1, y1, x2, y2];
    // A disabled control ignores clicks (the browser dispatches none to it): nothing to ground.
    if (el.disabled || el.getAttribute("aria-disabled") === "true" || el.closest("fieldset:disabled")) { item.skip = "disabled"; continue; }
    const hit = document.elementFromPoint((x1 + x2) / 2, (y1 + y2) / 2);
    if (!hit || !(hit === el || el.contains(hit))) { item.skip = "covered"; continue; }
    item.name = cut(name(el));
    if (!item.name) { item.skip = "no_name"; continue; }
    const textNode = visibleTextNode(el);
    const isField = ["INPUT", "SELECT", "TEXTAREA"].includes(el.tagName) || FIELD_ROLES.has(item.role);
    item.field = isField && !["checkbox", "radio", "button"].includes(item.role);
    item.ui_type = textNode || fieldShowsText(el) ? "text" : "icon";
    item.contrast = Math.round(contrast(el, textNode) * 100) / 100;
  }
  return { viewport: [vw, vh], devicePixelRatio: window.devicePixelRatio, elements: out };
}
