// SkyFare: search -> results -> passengers -> payment -> confirmation. State is kept by the server.
const { h, save, money } = Sandbox;
const AIRPORTS = [
  ["LHR", "London Heathrow", "London", "United Kingdom"], ["LGW", "London Gatwick", "London", "United Kingdom"],
  ["EDI", "Edinburgh", "Edinburgh", "United Kingdom"], ["DUB", "Dublin", "Dublin", "Ireland"],
  ["CDG", "Paris Charles de Gaulle", "Paris", "France"], ["AMS", "Amsterdam Schiphol", "Amsterdam", "Netherlands"],
  ["FRA", "Frankfurt", "Frankfurt", "Germany"], ["MAD", "Madrid Barajas", "Madrid", "Spain"],
  ["BCN", "Barcelona El Prat", "Barcelona", "Spain"], ["FCO", "Rome Fiumicino", "Rome", "Italy"],
  ["JFK", "New York John F. Kennedy", "New York", "United States"], ["LAX", "Los Angeles", "Los Angeles", "United States"],
  ["DXB", "Dubai International", "Dubai", "United Arab Emirates"], ["SIN", "Singapore Changi", "Singapore", "Singapore"],
  ["HND", "Tokyo Haneda", "Tokyo", "Japan"], ["SYD", "Sydney Kingsford Smith", "Sydney", "Australia"],
  // The big hubs a user tries first (the README's example flies SFO -> JFK).
  ["SFO", "San Francisco International", "San Francisco", "United States"], ["ORD", "Chicago O'Hare", "Chicago", "United States"],
  ["ATL", "Atlanta Hartsfield-Jackson", "Atlanta", "United States"], ["DFW", "Dallas/Fort Worth", "Dallas", "United States"],
  ["SEA", "Seattle-Tacoma", "Seattle", "United States"], ["BOS", "Boston Logan", "Boston", "United States"],
  ["MIA", "Miami International", "Miami", "United States"], ["YYZ", "Toronto Pearson", "Toronto", "Canada"],
  ["MEX", "Mexico City International", "Mexico City", "Mexico"], ["GRU", "São Paulo Guarulhos", "São Paulo", "Brazil"],
  ["MUC", "Munich", "Munich", "Germany"], ["ZRH", "Zurich", "Zurich", "Switzerland"],
  ["IST", "Istanbul", "Istanbul", "Türkiye"], ["HKG", "Hong Kong International", "Hong Kong", "China"],
  ["PVG", "Shanghai Pudong", "Shanghai", "China"], ["ICN", "Seoul Incheon", "Seoul", "South Korea"],
  ["DEL", "Delhi Indira Gandhi", "Delhi", "India"], ["BOM", "Mumbai Chhatrapati Shivaji", "Mumbai", "India"],
].map(([code, name, city, country]) => ({ code, name, city, country }));
const AIRLINES = [["SF", "SkyFare"], ["AU", "Aurora Air"], ["BJ", "BlueJet"], ["NW", "Northwind"]];
const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
let S = null;
let calMonth = null;

const airport = (code) => AIRPORTS.find((a) => a.code === code);
const coords = { LHR: [51, 0], LGW: [51, 0], EDI: [56, -3], DUB: [53, -6], CDG: [49, 2], AMS: [52, 5], FRA: [50, 9], MAD: [40, -4],
  BCN: [41, 2], FCO: [42, 12], JFK: [41, -74], LAX: [34, -118], DXB: [25, 55], SIN: [1, 104], HND: [36, 140], SYD: [-34, 151],
  SFO: [38, -122], ORD: [42, -88], ATL: [34, -84], DFW: [33, -97], SEA: [47, -122], BOS: [42, -71], MIA: [26, -80],
  YYZ: [44, -80], MEX: [19, -99], GRU: [-23, -46], MUC: [48, 12], ZRH: [47, 9], IST: [41, 29], HKG: [22, 114],
  PVG: [31, 122], ICN: [37, 126], DEL: [29, 77], BOM: [19, 73] };
function hash(s) { let x = 2166136261; for (const c of s) { x ^= c.charCodeAt(0); x = Math.imul(x, 16777619) >>> 0; } return x; }
function parseDate(d) { const [y, m, dd] = d.split("-").map(Number); return new Date(Date.UTC(y, m - 1, dd)); }
function iso(dt) { return dt.toISOString().slice(0, 10); }
function nice(d) { const dt = parseDate(d); return `${DAYS[dt.getUTCDay()]} ${dt.getUTCDate()} ${MONTHS[dt.getUTCMonth()].slice(0, 3)} ${dt.getUTCFullYear()}`; }
function hm(mins) { mins = ((mins % 1440) + 1440) % 1440; return `${String(Math.floor(mins / 60)).padStart(2, "0")}:${String(mins % 60).padStart(2, "0")}`; }
function dur(m) { return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`; }

// A deterministic timetable: the same route and date always give the same flights and fares.
function flightsFor(o, d, date) {
  const [la1, lo1] = coords[o], [la2, lo2] = coords[d];
  const dist = Math.sqrt((la1 - la2) ** 2 + ((lo1 - lo2) * Math.cos(((la1 + la2) / 2) * Math.PI / 180)) ** 2) * 111;
  const base = Math.round(45 + dist * 0.055);
  const wd = parseDate(date).getUTCDay();
  const out = [];
  for (let i = 0; i < 6; i++) {
    const r = hash(`${o}${d}${i}`);
    const [code, name] = AIRLINES[r % 4];
    const stops = dist > 2500 && i % 3 === 2 ? 1 : 0;
    const via = stops ? ["DXB", "FRA", "AMS", "MAD"].filter((x) => x !== o && x !== d)[r % 3] : null;
    const depart = 360 + ((r >>> 4) % 28) * 30 + i * 7;
    const duration = Math.round(35 + dist / 13.5) + stops * (80 + (r % 5) * 15) + (r % 4) * 5;
    const price = Math.round(base * (0.8 + ((r >>> 9) % 60) / 100) * (wd === 5 || wd === 0 ? 1.15 : 1) * (stops ? 0.85 : 1));
    out.push({ id: `${code} ${100 + ((r >>> 3) % 800)}`, airline: name, origin: o, destination: d, date,
      depart: hm(depart), arrive: hm(depart + duration), duration, stops, via, price: price + 0.0 });
  }
  return out;
}
function sorted(list, key) {
  const f = { price: (a, b) => a.price - b.price, duration: (a, b) => a.duration - b.duration, departure: (a, b) => a.depart.localeCompare(b.depart) }[key];
  return [...list].sort((a, b) => f(a, b) || a.id.localeCompare(b.id));
}

function patch(p) { Object.assign(S, p); save(p); }
function go(route) { location.hash = route; }

function airportField(id, label, key) {
  const value = S.draft[key];
  const input = h("input", { id, class: "field-input", placeholder: label === "From" ? "City or airport" : "Where to?", autocomplete: "off",
    value: value ? `${airport(value).city} (${value})` : "" });
  const list = h("ul", { class: "suggestions", role: "listbox", hidden: true });
  function show() {
    const q = input.value.trim().toLowerCase().replace(/\s*\(.*$/, "");
    const hits = AIRPORTS.filter((a) => !q || [a.code, a.name, a.city, a.country].some((s) => s.toLowerCase().includes(q)));
    list.replaceChildren(...(hits.length ? hits.slice(0, 7).map((a) => h("li", { role: "option", "data-code": a.code, onmousedown: (e) => {
      e.preventDefault();
      patch({ draft: { ...S.draft, [key]: a.code } });
      input.value = `${a.city} (${a.code})`; list.hidden = true; input.blur();
    } }, h("span", { class: "code" }, a.code), h("span", {}, h("b", {}, a.name), h("small", {}, `${a.city}, ${a.country}`))))
      : [h("li", { class: "empty" }, "No airports match your search")]));
    list.hidden = false;
  }
  input.addEventListener("focus", () => { input.select(); show(); });
  input.addEventListener("input", show);
  input.addEventListener("blur", () => setTimeout(() => { list.hidden = true; }, 100));
  return h("div", { class: "field airport" }, h("label", { for: id }, label), input, list);
}

function calendar() {
  const today = parseDate(S.today);
  const base = calMonth || (S.draft.date ? parseDate(S.draft.date) : today);
  const y = base.getUTCFullYear(), m = base.getUTCMonth();
  const first = new Date(Date.UTC(y, m, 1));
  const cells = [];
  for (let i = 0; i < (first.getUTCDay() + 6) % 7; i++) cells.push(h("span"));
  for (let d = 1; d <= new Date(Date.UTC(y, m + 1, 0)).getUTCDate(); d++) {
    const dt = new Date(Date.UTC(y, m, d)), key = iso(dt);
    cells.push(h("button", { type: "button", class: `day${key === S.draft.date ? " sel" : ""}`, "data-date": key, disabled: dt < today,
      "aria-label": nice(key), onclick: () => { patch({ draft: { ...S.draft, date: key } }); calMonth = null; render(); } }, d));
  }
  const step = (k) => (e) => { e.stopPropagation(); calMonth = new Date(Date.UTC(y, m + k, 1)); render(true); };
  return h("div", { class: "popover calendar", onclick: (e) => e.stopPropagation() },
    h("div", { class: "cal-head" },
      h("button", { type: "button", class: "cal-nav prev", "aria-label": "Previous month", disabled: y === today.getUTCFullYear() && m === today.getUTCMonth(), onclick: step(-1) }, "‹"),
      h("strong", {}, `${MONTHS[m]} ${y}`),
      h("button", { type: "button", class: "cal-nav next", "aria-label": "Next month", onclick: step(1) }, "›")),
    h("div", { class: "cal-grid" }, ...["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"].map((d) => h("em", {}, d)), ...cells));
}

let openPop = null;
let errors = []; // validation messages of the last submit, shown once
let payDraft = {};
function searchView(keepCal) {
  if (!keepCal) calMonth = calMonth && openPop === "date" ? calMonth : null;
  const pax = S.draft.passengers;
  const setPax = (n) => { patch({ draft: { ...S.draft, passengers: n } }); render(); };
  const shown = errors; errors = [];
  const card = h("form", { class: "search-card", onsubmit: (e) => {
    e.preventDefault();
    errors = [];
    const d = S.draft;
    if (!d.origin) errors.push("Choose where you are flying from.");
    if (!d.destination) errors.push("Choose a destination.");
    if (d.origin && d.origin === d.destination) errors.push("Origin and destination must differ.");
    if (!d.date) errors.push("Pick a departure date.");
    if (errors.length) { openPop = null; render(); return; }
    patch({ search: { ...d }, selected: null });
    go(`#/results?from=${d.origin}&to=${d.destination}&date=${d.date}&pax=${d.passengers}`);
  } },
    h("div", { class: "trip-type" }, h("span", { class: "pill active" }, "One way"), h("span", { class: "hint" }, "Economy · Hand luggage included")),
    h("div", { class: "row" },
      airportField("origin", "From", "origin"),
      h("button", { type: "button", class: "swap", title: "Swap origin and destination", "aria-label": "Swap origin and destination", onclick: () => {
        patch({ draft: { ...S.draft, origin: S.draft.destination, destination: S.draft.origin } }); render();
      }, html: '<svg width="18" height="18" viewBox="0 0 24 24"><path fill="currentColor" d="M6.99 11 3 15l3.99 4v-3H14v-2H6.99zM21 9l-3.99-4v3H10v2h7.01v3z"/></svg>' }),
      airportField("destination", "To", "destination"),
      h("div", { class: "field date" }, h("label", {}, "Depart"),
        h("button", { type: "button", id: "date", class: "field-input btn-field", onclick: (e) => { e.stopPropagation(); openPop = openPop === "date" ? null : "date"; render(true); } },
          S.draft.date ? nice(S.draft.date) : h("span", { class: "ph" }, "Add date")),
        openPop === "date" ? calendar() : null),
      h("div", { class: "field pax" }, h("label", {}, "Passengers"),
        h("button", { type: "button", id: "passengers", class: "field-input btn-field", onclick: (e) => { e.stopPropagation(); openPop = openPop === "pax" ? null : "pax"; render(); } },
          `${pax} adult${pax > 1 ? "s" : ""}`),
        openPop === "pax" ? h("div", { class: "popover paxpop", onclick: (e) => e.stopPropagation() },
          h("div", { class: "pax-row" }, h("span", {}, h("b", {}, "Adults"), h("small", {}, "Age 16+")),
            h("button", { type: "button", class: "step minus", "aria-label": "Fewer passengers", disabled: pax <= 1, onclick: () => setPax(pax - 1) }, "−"),
            h("output", { id: "pax-count" }, pax),
            h("button", { type: "button", class: "step plus", "aria-label": "More passengers", disabled: pax >= 9, onclick: () => setPax(pax + 1) }, "+")),
          h("button", { type: "button", class: "link done", onclick: () => { openPop = null; render(); } }, "Done")) : null),
      h("button", { type: "submit", class: "btn primary search-btn" }, "Search flights")),
    h("div", { class: "errors" }, ...shown.map((e) => h("p", {}, e))));
  const page = h("section", { class: "hero" }, h("h1", {}, "Where to next?"), h("p", { class: "sub" }, "Compare fares from 4 airlines to 16 destinations. No hidden fees."), card);
  const deals = h("section", { class: "deals" }, h("h2", {}, "Popular this summer"),
    h("div", { class: "deal-grid" }, ...[["Barcelona", "from £58", "#f6c344"], ["Rome", "from £71", "#e76f51"], ["New York", "from £312", "#2a9d8f"], ["Dubai", "from £289", "#7b6cd9"]].map(([c, p, col]) =>
      h("div", { class: "deal", style: `--c:${col}` }, h("div", { class: "art" }), h("b", {}, c), h("span", {}, p)))));
  return [page, deals];
}

function resultsView() {
  const q = new URLSearchParams(location.hash.split("?")[1] || "");
  let s = S.search;
  if (q.get("from")) {
    s = { origin: q.get("from"), destination: q.get("to"), date: q.get("date"), passengers: Number(q.get("pax") || 1) };
    if (JSON.stringify(s) !== JSON.stringify(S.search)) patch({ search: s });
  }
  if (!s) { go("#/"); return []; }
  const list = sorted(flightsFor(s.origin, s.destination, s.date), S.sort);
  const tab = (key, label) => h("button", { type: "button", class: `sort-tab${S.sort === key ? " active" : ""}`, "data-sort": key, onclick: () => { patch({ sort: key }); render(); } },
    label, h("small", {}, key === "price" ? money(sorted(list, "price")[0].price) : key === "duration" ? dur(sorted(list, "duration")[0].duration) : sorted(list, "departure")[0].depart));
  return [h("div", { class: "summary-bar" },
    h("div", {}, h("b", {}, `${airport(s.origin).city} (${s.origin}) → ${airport(s.destination).city} (${s.destination})`),
      h("span", {}, ` · ${nice(s.date)} · ${s.passengers} adult${s.passengers > 1 ? "s" : ""}`)),
    h("a", { href: "#/", class: "link" }, "Modify search")),
  h("div", { class: "results" },
    h("aside", { class: "filters" }, h("h3", {}, "Stops"), h("label", {}, h("input", { type: "checkbox", checked: true, disabled: true }), " Direct"),
      h("label", {}, h("input", { type: "checkbox", checked: true, disabled: true }), " 1 stop"), h("h3", {}, "Airlines"),
      ...AIRLINES.map(([, n]) => h("label", {}, h("input", { type: "checkbox", checked: true, disabled: true }), ` ${n}`))),
    h("div", {}, h("div", { class: "sort-tabs", role: "tablist" }, tab("price", "Cheapest"), tab("duration", "Fastest"), tab("departure", "Earliest")),
      h("p", { class: "count" }, `${list.length} flights found`),
      ...list.map((f) => h("article", { class: "flight", "data-flight": f.id },
        h("div", { class: "airline" }, h("span", { class: `tail t${f.id.slice(0, 2)}` }, f.id.slice(0, 2)), h("div", {}, h("b", {}, f.airline), h("small", {}, f.id))),
        h("div", { class: "times" }, h("b", {}, f.depart), h("div", { class: "line" }, h("small", {}, dur(f.duration)), h("i"), h("small", {}, f.stops ? `1 stop · ${f.via}` : "Direct")), h("b", {}, f.arrive, f.arrive < f.depart ? h("sup", { class: "nextday", title: "Arrives the next day" }, "+1") : null)),
        h("div", { class: "price" }, h("b", {}, money(f.price)), h("small", {}, "per adult"),
          h("button", { type: "button", class: "btn primary select", "data-flight": f.id, onclick: () => { patch({ selected: f, travellers: [] }); go("#/passengers"); } }, "Select"))))))];
}

function field(id, label, value, attrs = {}) {
  return h("div", { class: "field" }, h("label", { for: id }, label), h("input", { id, class: "field-input", value: value || "", ...attrs }));
}
function sidebar() {
  const f = S.selected, n = S.search.passengers;
  return h("aside", { class: "trip-card" }, h("h3", {}, "Your trip"), h("p", {}, h("b", {}, `${f.origin} → ${f.destination}`), h("br"), `${nice(f.date)} · ${f.depart}–${f.arrive}`),
    h("p", {}, `${f.airline} ${f.id}`), h("hr"), h("p", { class: "total" }, h("span", {}, `${n} × ${money(f.price)}`), h("b", {}, money(f.price * n))));
}
function passengersView() {
  if (!S.selected || !S.search) { go("#/"); return []; }
  const n = S.search.passengers;
  const shown = errors; errors = [];
  const form = h("form", { class: "panel", novalidate: true, onsubmit: (e) => {
    e.preventDefault();
    errors = [];
    const travellers = [];
    for (let i = 0; i < n; i++) {
      const fn = form.querySelector(`#first-${i}`).value.trim(), ln = form.querySelector(`#last-${i}`).value.trim();
      if (!fn || !ln) errors.push(`Enter the first and last name of passenger ${i + 1}.`);
      travellers.push({ first_name: fn, last_name: ln });
    }
    const email = form.querySelector("#email").value.trim(), phone = form.querySelector("#phone").value.trim();
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) errors.push("Enter a valid email address for your e-ticket.");
    patch({ travellers, contact: { email, phone } });
    if (errors.length) { render(); return; }
    go("#/payment");
  } }, h("h2", {}, "Who's flying?"), h("p", { class: "sub" }, "Enter names exactly as they appear on passports."),
  ...Array.from({ length: n }, (_, i) => h("fieldset", {}, h("legend", {}, `Passenger ${i + 1} · Adult`), h("div", { class: "row2" },
    field(`first-${i}`, "First name", S.travellers[i]?.first_name), field(`last-${i}`, "Last name", S.travellers[i]?.last_name)))),
  h("fieldset", {}, h("legend", {}, "Contact details"), h("div", { class: "row2" },
    field("email", "Email", S.contact.email, { type: "email" }), field("phone", "Phone (optional)", S.contact.phone, { type: "tel" }))),
  h("div", { class: "errors" }, ...shown.map((e) => h("p", {}, e))),
  h("div", { class: "actions" }, h("a", { href: "#/results", class: "link" }, "Back to results"), h("button", { type: "submit", class: "btn primary", id: "to-payment" }, "Continue to payment")));
  return [h("div", { class: "steps" }, h("span", { class: "done" }, "1 Flight"), h("span", { class: "on" }, "2 Passengers"), h("span", {}, "3 Payment")), h("div", { class: "checkout" }, form, sidebar())];
}
function paymentView() {
  if (!S.selected || !S.travellers.length) { go("#/"); return []; }
  const total = S.selected.price * S.search.passengers;
  const shown = errors; errors = [];
  const form = h("form", { class: "panel", novalidate: true, onsubmit: (e) => {
    e.preventDefault();
    errors = [];
    const v = (id) => form.querySelector(`#${id}`).value.trim();
    payDraft = Object.fromEntries(["card-name", "card-number", "expiry", "cvc"].map((k) => [k, form.querySelector(`#${k}`).value]));
    const num = v("card-number").replace(/[\s-]/g, "");
    if (!v("card-name")) errors.push("Enter the name on the card.");
    if (!/^\d{16}$/.test(num)) errors.push("Card number must have 16 digits.");
    if (!/^(0[1-9]|1[0-2])\/\d{2}$/.test(v("expiry"))) errors.push("Expiry must look like MM/YY.");
    if (!/^\d{3}$/.test(v("cvc"))) errors.push("Security code must be 3 digits.");
    if (errors.length) { render(); return; }
    const ref = Array.from({ length: 6 }, (_, i) => "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"[hash(`${Date.now()}${num}${i}`) % 32]).join("");
    const booking = { reference: ref, flight: S.selected, passengers: S.travellers, contact: S.contact,
      payment: { cardholder: v("card-name"), card_last4: num.slice(-4), expiry: v("expiry") }, total };
    payDraft = {};
    patch({ booking, bookings: [...S.bookings, booking] });
    go("#/confirmation");
  } }, h("h2", {}, "Payment"), h("p", { class: "sub" }, "We accept Visa, Mastercard and American Express debit and credit cards."),
  h("div", { class: "cards" }, ...["VISA", "MC", "AMEX"].map((c) => h("span", { class: "cardlogo" }, c))),
  field("card-name", "Name on card", payDraft["card-name"], { autocomplete: "off" }),
  field("card-number", "Card number", payDraft["card-number"], { inputmode: "numeric", placeholder: "1234 5678 9012 3456", autocomplete: "off" }),
  h("div", { class: "row2" }, field("expiry", "Expiry date", payDraft.expiry, { placeholder: "MM/YY" }), field("cvc", "Security code", payDraft.cvc, { placeholder: "123", inputmode: "numeric" })),
  h("div", { class: "errors" }, ...shown.map((e) => h("p", {}, e))),
  h("div", { class: "actions" }, h("a", { href: "#/passengers", class: "link" }, "Back"), h("button", { type: "submit", class: "btn primary", id: "pay" }, `Pay ${money(total)}`)));
  return [h("div", { class: "steps" }, h("span", { class: "done" }, "1 Flight"), h("span", { class: "done" }, "2 Passengers"), h("span", { class: "on" }, "3 Payment")), h("div", { class: "checkout" }, form, sidebar())];
}
function confirmationView() {
  const b = S.booking;
  if (!b) { go("#/"); return []; }
  return [h("section", { class: "panel confirm" }, h("div", { class: "tick" }, "✓"), h("h1", {}, "Booking confirmed"),
    h("p", {}, "Your booking reference is"), h("p", { class: "ref", id: "booking-ref" }, b.reference),
    h("p", {}, `${b.flight.airline} ${b.flight.id} · ${airport(b.flight.origin).city} → ${airport(b.flight.destination).city} · ${nice(b.flight.date)} at ${b.flight.depart}`),
    h("p", {}, `Passengers: ${b.passengers.map((p) => `${p.first_name} ${p.last_name}`).join(", ")}`),
    h("p", {}, `Paid ${money(b.total)} with card ending ${b.payment.card_last4}. An e-ticket was sent to ${b.contact.email}.`),
    h("a", { href: "#/", class: "btn ghost", onclick: () => { patch({ booking: null, selected: null }); } }, "Book another flight"))];
}

function render(keepCal) {
  const route = location.hash.replace(/^#/, "").split("?")[0] || "/";
  const view = { "/": searchView, "/results": resultsView, "/passengers": passengersView, "/payment": paymentView, "/confirmation": confirmationView }[route] || searchView;
  if (route !== "/") openPop = null;
  document.getElementById("app").replaceChildren(...view(keepCal));
  document.title = { "/results": "Flight results – SkyFare", "/passengers": "Passenger details – SkyFare", "/payment": "Payment – SkyFare", "/confirmation": "Booking confirmed – SkyFare" }[route] || "SkyFare – Cheap flights worldwide";
}
// An outside click closes the open popover without re-rendering (that would swallow the click).
document.addEventListener("click", () => { if (openPop) { openPop = null; calMonth = null; document.querySelectorAll(".popover").forEach((p) => p.remove()); } });
window.addEventListener("hashchange", () => { window.scrollTo(0, 0); render(); });
Sandbox.load().then((s) => { S = s; render(); });
