// Shared by the sandbox apps: load the app's state from the server and post changes back to it.
(function () {
  const app = location.pathname.split("/")[1];
  let chain = Promise.resolve();
  let pending = 0;
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === false || v === null || v === undefined) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "class") el.className = v;
      else if (k === "html") el.innerHTML = v;
      else el.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  window.Sandbox = {
    app,
    h,
    get pending() { return pending; },
    async load() {
      const r = await fetch(`/${app}/api/state`, { cache: "no-store" });
      return r.json();
    },
    // Posts a patch of top-level keys; posts are chained so the server sees them in order.
    save(patch) {
      pending += 1;
      const body = JSON.stringify(patch);
      chain = chain
        .then(() => fetch(`/${app}/api/state`, {
          method: "POST", headers: { "Content-Type": "application/json" }, body,
        }))
        // Read the reply: an unread body keeps the request open in the browser's network log.
        .then((r) => r.text())
        .catch(() => {})
        .finally(() => { pending -= 1; });
      return chain;
    },
    money(v, cur) { return (cur || "£") + Number(v).toFixed(2).replace(/\B(?=(\d{3})+(?!\d))/g, ","); },
    toast(text) {
      let t = document.querySelector(".sb-toast");
      if (!t) { t = h("div", { class: "sb-toast", role: "status" }); document.body.append(t); }
      t.textContent = text;
      t.classList.add("show");
      clearTimeout(t._timer);
      t._timer = setTimeout(() => t.classList.remove("show"), 2600);
    },
  };
})();
