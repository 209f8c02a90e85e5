// Hearth & Co.: catalogue with search and categories, cart, checkout whose "Place order" is the risky step.
const { h, save, money } = Sandbox;
const SHIPPING = { standard: { label: "Standard delivery", note: "3–5 working days", price: 3.99 }, express: { label: "Express delivery", note: "Next working day", price: 9.99 } };
const ART = {
  headphones: '<path d="M20 60a30 30 0 0 1 60 0" stroke="#fff" stroke-width="7" fill="none"/><rect x="12" y="56" width="16" height="26" rx="6" fill="#fff"/><rect x="72" y="56" width="16" height="26" rx="6" fill="#fff"/>',
  speaker: '<rect x="28" y="18" width="44" height="66" rx="10" fill="#fff"/><circle cx="50" cy="60" r="13" fill="C"/><circle cx="50" cy="33" r="6" fill="C"/>',
  earbuds: '<circle cx="36" cy="44" r="12" fill="#fff"/><rect x="32" y="50" width="8" height="28" rx="4" fill="#fff"/><circle cx="64" cy="44" r="12" fill="#fff"/><rect x="60" y="50" width="8" height="28" rx="4" fill="#fff"/>',
  lamp: '<path d="M34 20h32l10 28H24z" fill="#fff"/><rect x="47" y="48" width="6" height="30" fill="#fff"/><rect x="32" y="78" width="36" height="7" rx="3" fill="#fff"/>',
  blanket: '<rect x="18" y="26" width="64" height="48" rx="8" fill="#fff"/><path d="M18 42h64M18 58h64" stroke="C" stroke-width="4"/>',
  mug: '<rect x="26" y="30" width="38" height="46" rx="6" fill="#fff"/><path d="M64 40h6a10 10 0 0 1 0 20h-6" stroke="#fff" stroke-width="6" fill="none"/>',
  kettle: '<path d="M30 36h40l-6 44H36z" fill="#fff"/><path d="M36 36l4-14h20l4 14" fill="#fff"/>',
  knife: '<path d="M18 62 72 22c6 6 4 18-6 26L34 70z" fill="#fff"/><rect x="14" y="60" width="28" height="10" rx="4" transform="rotate(-36 28 65)" fill="#1f2937"/>',
  notebook: '<rect x="28" y="18" width="44" height="64" rx="4" fill="#fff"/><path d="M36 34h28M36 46h28M36 58h20" stroke="C" stroke-width="4"/>',
  mouse: '<rect x="34" y="20" width="32" height="58" rx="16" fill="#fff"/><path d="M50 22v18" stroke="C" stroke-width="4"/>',
  stand: '<path d="M18 70h64L70 36H30z" fill="#fff"/><rect x="14" y="72" width="72" height="6" rx="3" fill="#fff"/>',
};
let S = null;
const product = (sku) => S.products.find((p) => p.sku === sku);
const art = (p, size) => h("div", { class: "art", style: `background:${p.color}`, html: `<svg width="${size}" height="${size}" viewBox="0 0 100 100">${ART[p.shape].replaceAll('"C"', `"${p.color}"`)}</svg>` });
const stars = (r) => h("span", { class: "stars", title: `${r} out of 5` }, "★".repeat(Math.round(r)) + "☆".repeat(5 - Math.round(r)), h("small", {}, ` ${r.toFixed(1)}`));
const subtotal = () => S.cart.reduce((t, l) => t + product(l.sku).price * l.qty, 0);
function setCart(cart) { S.cart = cart.filter((l) => l.qty > 0); save({ cart: S.cart }); updateCount(); }
function updateCount() { document.getElementById("cart-count").textContent = S.cart.reduce((t, l) => t + l.qty, 0); }
function add(sku) {
  const line = S.cart.find((l) => l.sku === sku);
  setCart(line ? S.cart.map((l) => (l.sku === sku ? { ...l, qty: l.qty + 1 } : l)) : [...S.cart, { sku, qty: 1 }]);
  Sandbox.toast(`Added ${product(sku).name} to your cart`);
}

function catalogue() {
  const cats = ["All", "Audio", "Home", "Kitchen", "Office"];
  const q = S.query.trim().toLowerCase();
  const items = S.products.filter((p) => (S.category === "All" || p.category === S.category) && (!q || p.name.toLowerCase().includes(q) || p.category.toLowerCase().includes(q)));
  return [h("div", { class: "chips" }, ...cats.map((c) => h("button", { type: "button", class: `chip${S.category === c ? " on" : ""}`, "data-category": c, onclick: () => { S.category = c; save({ category: c }); render(); } }, c)),
    q ? h("span", { class: "q" }, `Results for “${S.query}” `, h("button", { type: "button", class: "link", onclick: () => { S.query = ""; save({ query: "" }); document.getElementById("search").value = ""; render(); } }, "Clear")) : null),
  items.length ? h("div", { class: "grid" }, ...items.map((p) => h("article", { class: "product", "data-sku": p.sku }, art(p, 84),
    h("div", { class: "info" }, h("small", { class: "cat" }, p.category), h("h3", {}, p.name), stars(p.rating),
      h("div", { class: "buy" }, h("b", {}, money(p.price)), h("button", { type: "button", class: "btn add", "data-sku": p.sku, "aria-label": `Add ${p.name} to cart`, onclick: () => add(p.sku) }, "Add to cart"))))))
    : h("p", { class: "empty" }, "No products match your search.")];
}
function cartView() {
  if (!S.cart.length) return [h("section", { class: "panel empty-cart" }, h("h1", {}, "Your cart is empty"), h("a", { href: "#/", class: "btn" }, "Continue shopping"))];
  const qty = (l, n) => setCart(S.cart.map((x) => (x.sku === l.sku ? { ...x, qty: n } : x)));
  return [h("h1", {}, "Your cart"), h("div", { class: "cols" }, h("section", { class: "panel" }, ...S.cart.map((l) => {
    const p = product(l.sku);
    return h("div", { class: "line", "data-sku": l.sku }, art(p, 44), h("div", { class: "grow" }, h("b", {}, p.name), h("small", {}, money(p.price))),
      h("div", { class: "qty" }, h("button", { type: "button", class: "dec", "aria-label": `Decrease quantity of ${p.name}`, onclick: () => { qty(l, l.qty - 1); render(); } }, "−"),
        h("span", { class: "n" }, l.qty), h("button", { type: "button", class: "inc", "aria-label": `Increase quantity of ${p.name}`, onclick: () => { qty(l, l.qty + 1); render(); } }, "+")),
      h("b", { class: "lt" }, money(p.price * l.qty)), h("button", { type: "button", class: "remove link", "aria-label": `Remove ${p.name}`, onclick: () => { setCart(S.cart.filter((x) => x.sku !== l.sku)); render(); } }, "Remove"));
  })), summary(h("a", { href: "#/checkout", class: "btn wide", id: "checkout" }, "Go to checkout")))];
}
function summary(action, ship) {
  const sub = subtotal(), s = ship ? SHIPPING[ship].price : 0;
  return h("aside", { class: "panel sum" }, h("h3", {}, "Order summary"), h("p", {}, h("span", {}, "Subtotal"), h("span", {}, money(sub))),
    h("p", {}, h("span", {}, "Delivery"), h("span", {}, ship ? money(s) : "Calculated at checkout")), h("p", { class: "total" }, h("span", {}, "Total"), h("b", {}, money(sub + s))), action);
}
let ship = "standard";
let errors = [];
function checkout() {
  if (!S.cart.length) { location.hash = "#/"; return []; }
  const shown = errors; errors = [];
  const f = (id, label, attrs = {}) => h("div", { class: "field" }, h("label", { for: id }, label), h("input", { id, autocomplete: "off", ...attrs }));
  const form = h("form", { class: "panel", novalidate: true, onsubmit: (e) => {
    e.preventDefault();
    const v = (id) => form.querySelector(`#${id}`).value.trim();
    const missing = ["full-name", "address", "city", "postcode", "card-number", "expiry", "cvc"].filter((k) => !v(k));
    if (missing.length) errors.push("Please fill in every field.");
    if (v("card-number") && !/^\d{16}$/.test(v("card-number").replace(/\s/g, ""))) errors.push("Card number must have 16 digits.");
    if (errors.length) { keep = Object.fromEntries([...form.querySelectorAll("input[id]")].map((i) => [i.id, i.value])); render(); return; }
    keep = {};
    const number = `HC-${10041 + S.orders.length}`;
    const items = S.cart.map((l) => ({ sku: l.sku, name: product(l.sku).name, qty: l.qty, price: product(l.sku).price }));
    const order = { number, items, shipping: ship, name: v("full-name"), address: { line1: v("address"), city: v("city"), postcode: v("postcode") },
      card_last4: v("card-number").replace(/\s/g, "").slice(-4), total: Math.round((subtotal() + SHIPPING[ship].price) * 100) / 100 };
    S.orders = [...S.orders, order]; S.cart = [];
    save({ orders: S.orders, cart: [] }); updateCount();
    location.hash = `#/order/${number}`;
  } }, h("h2", {}, "Delivery address"),
  f("full-name", "Full name", { value: keep["full-name"] || "" }), f("address", "Address", { value: keep.address || "" }),
  h("div", { class: "row" }, f("city", "Town or city", { value: keep.city || "" }), f("postcode", "Postcode", { value: keep.postcode || "" })),
  h("h2", {}, "Delivery"),
  h("div", { class: "ship" }, ...Object.entries(SHIPPING).map(([k, o]) => h("label", { class: `opt${ship === k ? " on" : ""}`, for: `ship-${k}` },
    h("input", { type: "radio", name: "ship", id: `ship-${k}`, value: k, checked: ship === k, onchange: () => { keep = Object.fromEntries([...form.querySelectorAll("input[id]")].map((i) => [i.id, i.value])); ship = k; render(); } }),
    h("span", {}, h("b", {}, o.label), h("small", {}, o.note)), h("b", {}, money(o.price))))),
  h("h2", {}, "Payment"), f("card-number", "Card number", { placeholder: "1234 5678 9012 3456", value: keep["card-number"] || "" }),
  h("div", { class: "row" }, f("expiry", "Expiry (MM/YY)", { value: keep.expiry || "" }), f("cvc", "CVC", { value: keep.cvc || "" })),
  h("div", { class: "errors" }, ...shown.map((m) => h("p", {}, m))),
  h("button", { type: "submit", class: "btn wide danger", id: "place-order" }, `Place order · ${money(subtotal() + SHIPPING[ship].price)}`),
  h("p", { class: "fine" }, "By placing your order you agree to pay the total shown. Orders cannot be cancelled once placed."));
  return [h("h1", {}, "Checkout"), h("div", { class: "cols" }, form, summary(null, ship))];
}
let keep = {};
function orderView(number) {
  const o = S.orders.find((x) => x.number === number);
  if (!o) { location.hash = "#/"; return []; }
  return [h("section", { class: "panel done" }, h("div", { class: "tick" }, "✓"), h("h1", {}, "Thank you for your order!"), h("p", {}, "Order number ", h("b", { id: "order-number" }, o.number)),
    h("p", {}, `${o.items.map((i) => `${i.qty} × ${i.name}`).join(", ")} · ${SHIPPING[o.shipping].label} to ${o.address.line1}, ${o.address.city}`),
    h("p", {}, `Total charged: ${money(o.total)}`), h("a", { class: "btn", href: "#/" }, "Continue shopping"))];
}
function render() {
  const route = location.hash.replace(/^#/, "") || "/";
  let view;
  if (route.startsWith("/order/")) view = orderView(route.slice(7));
  else view = ({ "/cart": cartView, "/checkout": checkout }[route] || catalogue)();
  document.getElementById("app").replaceChildren(...view);
  document.title = { "/cart": "Your cart – Hearth & Co.", "/checkout": "Checkout – Hearth & Co." }[route] || (route.startsWith("/order/") ? "Order placed – Hearth & Co." : "Hearth & Co. – Thoughtful goods for home");
  updateCount();
}
document.getElementById("search-form").addEventListener("submit", (e) => {
  e.preventDefault(); S.query = document.getElementById("search").value; save({ query: S.query }); location.hash = "#/"; render();
});
window.addEventListener("hashchange", () => { window.scrollTo(0, 0); render(); });
Sandbox.load().then((s) => { S = s; document.getElementById("search").value = S.query; render(); });
