// Nimbus Drive sign-up: validated form whose Create account button stays disabled until the terms box is ticked.
const { h, save } = Sandbox;
const COUNTRIES = ["Australia", "Canada", "France", "Germany", "India", "Ireland", "Japan", "Spain", "United Kingdom", "United States"];
let S = null;
let done = null;
let open = false;
const pw = { password: "", confirm: "" };

function setDraft(k, v) { S.draft = { ...S.draft, [k]: v }; save({ draft: S.draft }); }
function validate() {
  const d = S.draft, e = {};
  if (d.full_name.trim().length < 2) e.full_name = "Enter your full name.";
  if (!/^[^@\s]+@[^@\s]+\.[a-z]{2,}$/i.test(d.email.trim())) e.email = "Enter a valid email address, like name@example.com.";
  if (!/^[a-z0-9_.]{3,20}$/i.test(d.username)) e.username = "Use 3–20 letters, digits, dots or underscores.";
  else if (S.accounts.some((a) => a.username.toLowerCase() === d.username.toLowerCase()) || ["admin", "root", "support"].includes(d.username.toLowerCase())) e.username = "That username is taken. Try another.";
  if (pw.password.length < 8 || !/\d/.test(pw.password) || !/[a-z]/i.test(pw.password)) e.password = "At least 8 characters, with a letter and a number.";
  if (pw.confirm !== pw.password) e.confirm = "Passwords do not match.";
  if (!d.country) e.country = "Choose your country.";
  return e;
}
function input(id, key, label, type = "text", hint = "") {
  const value = key in pw ? pw[key] : S.draft[key];
  const err = S.errors[key];
  return h("div", { class: `field${err ? " invalid" : ""}` }, h("label", { for: id }, label),
    h("input", { id, type, value, autocomplete: "off", oninput: (ev) => { if (key in pw) pw[key] = ev.target.value; else setDraft(key, ev.target.value); } }),
    err ? h("p", { class: "err" }, err) : hint ? h("p", { class: "hint" }, hint) : null);
}
function countryPicker() {
  const err = S.errors.country;
  return h("div", { class: `field${err ? " invalid" : ""}` }, h("label", { id: "country-label" }, "Country"),
    h("button", { type: "button", id: "country", class: "select", "aria-haspopup": "listbox", "aria-labelledby": "country-label", onclick: (e) => { e.stopPropagation(); open = !open; render(); } },
      S.draft.country || h("span", { class: "ph" }, "Select a country"), h("span", { class: "chev" }, "▾")),
    open ? h("ul", { class: "options", role: "listbox" }, ...COUNTRIES.map((c) => h("li", { role: "option", "data-value": c, "aria-selected": c === S.draft.country ? "true" : "false",
      onclick: (e) => { e.stopPropagation(); open = false; setDraft("country", c); render(); } }, c))) : null,
    err ? h("p", { class: "err" }, err) : null);
}
function check(id, key, content) {
  return h("label", { class: "check", for: id }, h("input", { id, type: "checkbox", checked: S.draft[key], onchange: (e) => { setDraft(key, e.target.checked); render(); } }), h("span", {}, ...content));
}
function render() {
  const app = document.getElementById("app");
  if (done) {
    app.replaceChildren(h("section", { class: "card welcome" }, h("div", { class: "badge" }, "✓"), h("h1", {}, `Welcome aboard, ${done.full_name.split(" ")[0]}!`),
      h("p", {}, "Your Nimbus Drive account ", h("b", {}, `@${done.username}`), " is ready. We sent a confirmation link to ", h("b", {}, done.email), "."),
      h("a", { class: "btn", href: "#", onclick: (e) => { e.preventDefault(); done = null; render(); } }, "Create another account")));
    return;
  }
  const form = h("form", { class: "card", novalidate: true, onsubmit: (e) => {
    e.preventDefault();
    const errs = validate();
    S.errors = errs; S.attempts += 1;
    if (!Object.keys(errs).length) {
      const d = S.draft;
      done = { full_name: d.full_name.trim(), email: d.email.trim(), username: d.username, country: d.country, newsletter: d.newsletter };
      S.accounts = [...S.accounts, done];
      S.draft = { full_name: "", email: "", username: "", country: "", newsletter: false, terms: false };
      pw.password = ""; pw.confirm = "";
    }
    save({ errors: S.errors, attempts: S.attempts, accounts: S.accounts, draft: S.draft });
    render();
  } },
  h("h1", {}, "Create your account"), h("p", { class: "sub" }, "Already have one? ", h("a", { href: "#" }, "Sign in")),
  Object.keys(S.errors).length ? h("div", { class: "alert", role: "alert" }, "Please fix the highlighted fields.") : null,
  input("full-name", "full_name", "Full name"), input("email", "email", "Email address", "email"),
  input("username", "username", "Username", "text", "This is how teammates will find you."),
  h("div", { class: "row" }, input("password", "password", "Password", "password", "8+ characters with a letter and a number."), input("confirm", "confirm", "Confirm password", "password")),
  countryPicker(),
  check("newsletter", "newsletter", ["Send me product news and tips (monthly)"]),
  check("terms", "terms", ["I agree to the ", h("a", { href: "#" }, "Terms of Service"), " and ", h("a", { href: "#" }, "Privacy Policy")]),
  h("button", { type: "submit", id: "submit", class: "btn wide", disabled: !S.draft.terms, title: S.draft.terms ? "" : "Tick the terms box first" }, "Create account"));
  app.replaceChildren(form);
}
document.addEventListener("click", () => { if (open) { open = false; document.querySelector(".options")?.remove(); } });
Sandbox.load().then((s) => { S = s; render(); });
