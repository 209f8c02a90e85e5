// New hire intake: one form, one hire per submit. The server validates and stores each hire
// (POST api/submit), so parallel browsers never overwrite each other; `?layout=v2` is the redesign
// (a banner above, the name field renamed and moved below the email, the submit button renamed and
// moved left): the same form for a person, a different screen for a recorded replay.
const { h } = Sandbox;
const V2 = new URLSearchParams(location.search).get("layout") === "v2";
const FIELDS = V2
  ? [["f-email", "email", "Work email", "email"], ["f-employee", "name", "Employee name", "text"],
     ["f-dept", "department", "Department", "text"], ["f-start", "start_date", "Start date", "text"]]
  : [["f-name", "name", "Full name", "text"], ["f-email", "email", "Work email", "email"],
     ["f-dept", "department", "Department", "text"], ["f-start", "start_date", "Start date", "text"]];
let errors = {}, problem = "", banner = V2, busy = false;
const values = {};

async function submit(ev) {
  ev.preventDefault();
  if (busy) return;
  busy = true;
  try {
    const r = await fetch("api/submit", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(values) });
    const body = await r.json();
    if (r.ok) { location.href = `saved.html?id=${body.id}`; return; }
    errors = body.errors || {}; problem = body.error || "Please correct the fields marked in red.";
  } catch (e) { problem = "The server did not answer; try again."; }
  busy = false;
  render();
}
function render() {
  const kids = [];
  if (banner) kids.push(h("div", { class: "banner", role: "status" }, h("span", {}, "We redesigned this form: fields moved and got clearer names."),
    h("button", { type: "button", id: "dismiss", "aria-label": "Dismiss", onclick: () => { banner = false; render(); } }, "×")));
  const field = ([id, key, label, type]) => h("div", { class: `field${errors[key] ? " bad" : ""}` }, h("label", { for: id }, label),
    h("input", { id, name: key, type, autocomplete: "off", value: values[key] || "", oninput: (e) => { values[key] = e.target.value; } }),
    errors[key] ? h("small", { role: "alert" }, errors[key]) : null);
  const button = h("button", { type: "submit", class: "btn", id: V2 ? "submit-hire" : "save-hire" }, V2 ? "Submit hire" : "Save hire");
  kids.push(h("form", { class: "card", novalidate: true, onsubmit: submit }, h("h1", {}, "New hire intake"),
    h("p", { class: "sub" }, "Everything HR needs before the first day."), problem ? h("p", { class: "error", role: "alert" }, problem) : null,
    ...FIELDS.map(field), h("div", { class: `buttons ${V2 ? "left" : "right"}` }, button)));
  const focused = document.activeElement && document.activeElement.id;
  document.getElementById("app").replaceChildren(...kids);
  if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
}
render();
