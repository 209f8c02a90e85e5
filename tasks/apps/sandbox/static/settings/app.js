// Orbit settings: dark page with toggles and icon-only pill buttons; Save stays disabled until something changes.
const { h, save } = Sandbox;
const LANGS = ["English", "Deutsch", "Español", "Français", "Italiano", "日本語"];
const ICONS = {
  sun: '<path d="M12 7a5 5 0 1 0 0 10 5 5 0 0 0 0-10zM12 1v3M12 20v3M4.2 4.2l2.1 2.1M17.7 17.7l2.1 2.1M1 12h3M20 12h3M4.2 19.8l2.1-2.1M17.7 6.3l2.1-2.1" stroke="currentColor" stroke-width="2" fill="none" stroke-linecap="round"/>',
  moon: '<path d="M21 12.8A9 9 0 1 1 11.2 3a7 7 0 0 0 9.8 9.8z" fill="currentColor"/>',
  monitor: '<rect x="2" y="4" width="20" height="13" rx="2" stroke="currentColor" stroke-width="2" fill="none"/><path d="M8 21h8M12 17v4" stroke="currentColor" stroke-width="2"/>',
  bell: '<path d="M18 16v-5a6 6 0 1 0-12 0v5l-2 2h16zM10 20a2 2 0 0 0 4 0" stroke="currentColor" stroke-width="2" fill="none" stroke-linejoin="round"/>',
  belloff: '<path d="M18 16v-5a6 6 0 0 0-9.5-4.9M6 9.5V16l-2 2h14M10 20a2 2 0 0 0 4 0M3 3l18 18" stroke="currentColor" stroke-width="2" fill="none" stroke-linecap="round"/>',
  rows: '<path d="M4 6h16M4 12h16M4 18h16" stroke="currentColor" stroke-width="2.4" stroke-linecap="round"/>',
  info: '<circle cx="12" cy="12" r="9" stroke="currentColor" stroke-width="2.4" fill="none"/><path d="M12 11v6M12 7.5v.5" stroke="currentColor" stroke-width="2.6" stroke-linecap="round"/>',
  copy: '<rect x="8" y="8" width="12" height="12" rx="2" stroke="currentColor" stroke-width="2.4" fill="none"/><path d="M16 5V4a1 1 0 0 0-1-1H5a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h1" stroke="currentColor" stroke-width="2.4" fill="none"/>',
  rowsdense: '<path d="M4 5h16M4 9.5h16M4 14h16M4 18.5h16" stroke="currentColor" stroke-width="1.6" stroke-linecap="round"/>',
};
let S = null, open = false;
// SVG must be parsed as markup (document.createElement would put it in the HTML namespace).
const icon = (name, size = 16) => h("span", { class: "ic", html: `<svg width="${size}" height="${size}" viewBox="0 0 24 24" aria-hidden="true">${ICONS[name]}</svg>` });
const draft = () => S.draft || S.saved;
const dirty = () => S.draft !== null && JSON.stringify(S.draft) !== JSON.stringify(S.saved);
function set(key, value) { S.draft = { ...draft(), [key]: value }; save({ draft: S.draft }); render(); }

function toggle(key, label, desc) {
  const on = draft()[key];
  return h("div", { class: "item" }, h("div", {}, h("b", {}, label), h("small", {}, desc)),
    h("button", { type: "button", role: "switch", class: `switch${on ? " on" : ""}`, id: `toggle-${key.replace(/_/g, "-")}`, "aria-checked": String(on), "aria-label": label, onclick: () => set(key, !on) }, h("i")));
}
function pills(key, label, desc, options) {
  return h("div", { class: "item" }, h("div", {}, h("b", {}, label), h("small", {}, desc)),
    h("div", { class: "pills", role: "radiogroup", "aria-label": label }, ...options.map(([value, title, content]) =>
      h("button", { type: "button", role: "radio", class: `pill${draft()[key] === value ? " on" : ""}`, title, "aria-label": title, "aria-checked": String(draft()[key] === value),
        "data-value": value, onclick: () => set(key, value) }, content))));
}
// A tiny (18 px) icon-only pill in a dim colour: the kind of control grounding finds hardest.
const mini = (label, name, onclick) => h("button", { type: "button", class: "mini", title: label, "aria-label": label, onclick }, icon(name, 12));
const HELP = {
  profile: "Your name and language are visible to your teammates.",
  notifications: "Choose how Orbit tells you about activity.",
  appearance: "Appearance settings apply to this browser only.",
  privacy: "Security settings take effect at your next sign-in.",
};
function section(id, title, ...items) {
  return h("section", { class: "card", id }, h("h2", {}, title, mini(`About ${title.toLowerCase()}`, "info", () => Sandbox.toast(HELP[id]))), ...items);
}

function render() {
  const d = draft();
  const langPicker = h("div", { class: "dd" }, h("button", { type: "button", id: "language", class: "dd-btn", onclick: (e) => { e.stopPropagation(); open = !open; render(); } }, d.language, h("span", {}, "▾")),
    open ? h("ul", { class: "dd-list", role: "listbox" }, ...LANGS.map((l) => h("li", { role: "option", "data-value": l, class: l === d.language ? "on" : "", onclick: (e) => { e.stopPropagation(); open = false; set("language", l); } }, l))) : null);
  const content = [
    h("header", { class: "head" }, h("div", {}, h("h1", {}, "Settings"), h("p", {}, "Manage your profile, notifications and how Orbit looks.")),
      h("div", { class: "savebar" }, h("span", { class: "status" }, dirty() ? "Unsaved changes" : S.save_count ? "All changes saved" : ""),
        h("button", { type: "button", class: "btn ghost", id: "discard", disabled: !dirty(), onclick: () => { S.draft = null; save({ draft: null }); render(); } }, "Discard"),
        h("button", { type: "button", class: "btn", id: "save", disabled: !dirty(), onclick: () => {
          S.saved = { ...S.draft }; S.draft = null; S.save_count += 1; save({ saved: S.saved, draft: null, save_count: S.save_count }); render(); Sandbox.toast("Settings saved");
        } }, "Save changes"))),
    section("profile", "Profile",
      h("div", { class: "item" }, h("div", {}, h("b", {}, "Display name"), h("small", {}, "Shown on your comments and in mentions.")),
        h("input", { id: "display-name", class: "text", "aria-label": "Display name", value: d.display_name, oninput: (e) => { S.draft = { ...draft(), display_name: e.target.value }; save({ draft: S.draft });
          document.getElementById("save").disabled = !dirty(); document.getElementById("discard").disabled = !dirty(); document.querySelector(".status").textContent = dirty() ? "Unsaved changes" : ""; } })),
      h("div", { class: "item" }, h("div", {}, h("b", {}, "Email"), h("small", {}, "Contact support to change your sign-in email.")), h("span", { class: "ro" }, d.email,
        mini("Copy email address", "copy", () => { navigator.clipboard?.writeText(d.email).catch(() => {}); Sandbox.toast("Email address copied"); }))),
      h("div", { class: "item" }, h("div", {}, h("b", {}, "Language"), h("small", {}, "Used for menus and emails.")), langPicker)),
    section("notifications", "Notifications",
      toggle("email_notifications", "Email notifications", "Activity on your projects, sent as it happens."),
      toggle("push_notifications", "Push notifications", "Alerts on your phone and desktop."),
      toggle("weekly_digest", "Weekly digest", "A summary every Monday morning."),
      pills("sound", "Notification sound", "Play a sound for new alerts.", [["on", "Sound on", icon("bell")], ["off", "Sound off", icon("belloff")]])),
    section("appearance", "Appearance",
      pills("theme", "Theme", "Light, dark, or follow your system.", [["light", "Light theme", icon("sun")], ["dark", "Dark theme", icon("moon")], ["system", "System theme", icon("monitor")]]),
      pills("text_size", "Text size", "Make text easier to read.", [["small", "Small text", h("span", { class: "a s" }, "A")], ["medium", "Medium text", h("span", { class: "a m" }, "A")], ["large", "Large text", h("span", { class: "a l" }, "A")]]),
      pills("density", "Density", "How much fits on the screen.", [["comfortable", "Comfortable density", icon("rows")], ["compact", "Compact density", icon("rowsdense")]])),
    section("privacy", "Privacy & security",
      toggle("two_factor", "Two-factor authentication", "Ask for a code from your authenticator app at sign-in."),
      toggle("online_status", "Show online status", "Let teammates see when you're active."),
      toggle("usage_data", "Share usage data", "Help us improve Orbit with anonymous statistics.")),
  ];
  const scroll = document.scrollingElement.scrollTop;
  document.getElementById("app").replaceChildren(...content);
  document.scrollingElement.scrollTop = scroll;
}
document.addEventListener("click", () => { if (open) { open = false; document.querySelector(".dd-list")?.remove(); } });
Sandbox.load().then((s) => { S = s; render(); });
