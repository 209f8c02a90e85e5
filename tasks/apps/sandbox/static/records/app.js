// Acme People: an employee table with add / edit / delete dialogs and a CSV export that downloads a file.
const { h, save } = Sandbox;
const DEPARTMENTS = ["Design", "Engineering", "Finance", "Marketing", "Sales", "Support"];
const PENCIL = '<svg width="15" height="15" viewBox="0 0 24 24"><path d="M4 20h4L19 9l-4-4L4 16zM14 6l4 4" stroke="currentColor" stroke-width="2" fill="none" stroke-linejoin="round"/></svg>';
const TRASH = '<svg width="15" height="15" viewBox="0 0 24 24"><path d="M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13" stroke="currentColor" stroke-width="2" fill="none" stroke-linejoin="round"/></svg>';
const COPY = '<svg width="11" height="11" viewBox="0 0 24 24" aria-hidden="true"><rect x="8" y="8" width="12" height="12" rx="2" stroke="currentColor" stroke-width="2.4" fill="none"/><path d="M16 5V4a1 1 0 0 0-1-1H5a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h1" stroke="currentColor" stroke-width="2.4" fill="none"/></svg>';
const REFRESH = '<svg width="12" height="12" viewBox="0 0 24 24" aria-hidden="true"><path d="M20 11a8 8 0 1 0-2.3 5.7M20 4v7h-7" stroke="currentColor" stroke-width="2.4" fill="none" stroke-linecap="round" stroke-linejoin="round"/></svg>';
let S = null;
// Tiny (16-18 px) icon-only pills: copy an address, refresh the list.
function copyButton(email) {
  return h("button", { type: "button", class: "mini", title: `Copy ${email}`, "aria-label": `Copy ${email}`, html: COPY,
    onclick: () => { navigator.clipboard?.writeText(email).catch(() => {}); Sandbox.toast(`Copied ${email}`); } });
}
let dialog = null; // {kind: "add" | "edit" | "delete", row, errors, deptOpen}

function persist() { save({ rows: S.rows, next_id: S.next_id }); }
function table() {
  const q = S.query.trim().toLowerCase();
  const rows = S.rows.filter((r) => !q || [r.name, r.email, r.department, r.role].some((v) => v.toLowerCase().includes(q)));
  return h("div", { class: "card" }, h("table", {}, h("thead", {}, h("tr", {}, ...["ID", "Name", "Email", "Department", "Role", "Start date", ""].map((c) => h("th", {}, c)))),
    h("tbody", {}, ...rows.map((r) => h("tr", { "data-id": r.id }, h("td", { class: "mono" }, r.id), h("td", { class: "name" }, r.name), h("td", {}, r.email, copyButton(r.email)),
      h("td", {}, h("span", { class: `dept d-${r.department.toLowerCase()}` }, r.department)), h("td", {}, r.role), h("td", { class: "mono" }, r.start_date),
      h("td", { class: "acts" }, h("button", { type: "button", class: "icon edit", title: `Edit ${r.name}`, "aria-label": `Edit ${r.name}`, html: PENCIL, onclick: () => { dialog = { kind: "edit", row: { ...r }, errors: {} }; render(); } }),
        h("button", { type: "button", class: "icon delete", title: `Delete ${r.name}`, "aria-label": `Delete ${r.name}`, html: TRASH, onclick: () => { dialog = { kind: "delete", row: r }; render(); } })))))),
  rows.length ? null : h("p", { class: "none" }, "No employees match your search."),
  h("div", { class: "foot" }, `Showing ${rows.length} of ${S.rows.length} employees`));
}
function formDialog() {
  const r = dialog.row, e = dialog.errors;
  const f = (id, key, label, attrs = {}) => h("div", { class: `field${e[key] ? " bad" : ""}` }, h("label", { for: id }, label),
    h("input", { id, value: r[key] || "", autocomplete: "off", oninput: (ev) => { r[key] = ev.target.value; }, ...attrs }), e[key] ? h("small", {}, e[key]) : null);
  const submit = (ev) => {
    ev.preventDefault();
    const errs = {};
    if (!r.name?.trim()) errs.name = "Name is required.";
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(r.email || "")) errs.email = "Enter a valid email.";
    if (!r.department) errs.department = "Pick a department.";
    if (!/^\d{4}-\d{2}-\d{2}$/.test(r.start_date || "")) errs.start_date = "Use the format YYYY-MM-DD.";
    dialog.errors = errs;
    if (Object.keys(errs).length) { render(); return; }
    const clean = { id: r.id, name: r.name.trim(), email: r.email.trim(), department: r.department, role: (r.role || "").trim(), start_date: r.start_date };
    if (dialog.kind === "add") { clean.id = S.next_id; S.next_id += 1; S.rows = [...S.rows, clean]; Sandbox.toast(`Added ${clean.name}`); }
    else { S.rows = S.rows.map((x) => (x.id === clean.id ? clean : x)); Sandbox.toast(`Saved changes to ${clean.name}`); }
    persist(); dialog = null; render();
  };
  return h("form", { class: "dialog", role: "dialog", "aria-modal": "true", "aria-label": dialog.kind === "add" ? "Add employee" : "Edit employee", novalidate: true, onsubmit: submit },
    h("h2", {}, dialog.kind === "add" ? "Add employee" : `Edit ${r.name}`),
    f("f-name", "name", "Full name"), f("f-email", "email", "Work email", { type: "email" }),
    h("div", { class: `field${e.department ? " bad" : ""}` }, h("label", {}, "Department"),
      h("button", { type: "button", id: "f-department", class: "dd", onclick: (ev) => { ev.stopPropagation(); dialog.deptOpen = !dialog.deptOpen; render(); } }, r.department || h("span", { class: "ph" }, "Choose…"), h("span", {}, "▾")),
      dialog.deptOpen ? h("ul", { class: "dd-list", role: "listbox" }, ...DEPARTMENTS.map((d) => h("li", { role: "option", "data-value": d, onclick: (ev) => { ev.stopPropagation(); r.department = d; dialog.deptOpen = false; render(); } }, d))) : null,
      e.department ? h("small", {}, e.department) : null),
    h("div", { class: "row" }, f("f-role", "role", "Role"), f("f-start", "start_date", "Start date", { placeholder: "YYYY-MM-DD" })),
    h("div", { class: "buttons" }, h("button", { type: "button", class: "btn ghost", id: "cancel", onclick: () => { dialog = null; render(); } }, "Cancel"),
      h("button", { type: "submit", class: "btn", id: "save-row" }, dialog.kind === "add" ? "Add employee" : "Save changes")));
}
function deleteDialog() {
  const r = dialog.row;
  return h("div", { class: "dialog small", role: "alertdialog", "aria-label": "Confirm delete" }, h("h2", {}, `Delete ${r.name}?`),
    h("p", {}, "This removes the employee record permanently. This cannot be undone."),
    h("div", { class: "buttons" }, h("button", { type: "button", class: "btn ghost", id: "cancel", onclick: () => { dialog = null; render(); } }, "Cancel"),
      h("button", { type: "button", class: "btn red", id: "confirm-delete", onclick: () => { S.rows = S.rows.filter((x) => x.id !== r.id); persist(); dialog = null; render(); Sandbox.toast(`Deleted ${r.name}`); } }, "Delete")));
}
function render() {
  const head = h("div", { class: "bar" }, h("div", {}, h("h1", {}, "Employees"), h("p", {}, `${S.rows.length} people across ${new Set(S.rows.map((r) => r.department)).size} departments`,
    h("button", { type: "button", class: "mini", id: "refresh", title: "Refresh list", "aria-label": "Refresh list", html: REFRESH, onclick: () => Sandbox.toast("The employee list is up to date") }))),
    h("div", { class: "tools" },
      h("input", { id: "filter", type: "search", placeholder: "Filter by name, email, team…", value: S.query, oninput: (e) => { S.query = e.target.value; save({ query: S.query }); document.querySelector(".card").replaceWith(table()); } }),
      h("a", { class: "btn ghost", id: "export", href: "api/export.csv", download: "employees.csv", onclick: () => setTimeout(() => Sandbox.toast("Exported employees.csv"), 50) }, "Export CSV"),
      h("button", { type: "button", class: "btn", id: "add", onclick: () => { dialog = { kind: "add", row: {}, errors: {} }; render(); } }, "+ Add employee")));
  const kids = [head, table()];
  if (dialog) kids.push(h("div", { class: "scrim", onclick: (e) => { if (e.target === e.currentTarget && dialog.deptOpen) { dialog.deptOpen = false; render(); } } }, dialog.kind === "delete" ? deleteDialog() : formDialog()));
  const focused = document.activeElement?.id;
  document.getElementById("app").replaceChildren(...kids);
  if (focused === "filter") { const f = document.getElementById("filter"); f.focus(); f.setSelectionRange(f.value.length, f.value.length); }
}
Sandbox.load().then((s) => { S = s; render(); });
