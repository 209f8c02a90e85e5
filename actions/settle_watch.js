// Installed in every document before its own scripts (a context init script): it notes what the page
// is about to change because of the agent's last input, so settle can wait for it instead of guessing.
// - short timers (<= 1 s) the input caused: set after mark() by its handlers, or by timers it caused
//   (a page's own polling started earlier is not the input's doing and is not waited for);
// - running finite animations and transitions (document.getAnimations());
// - the time since the DOM last changed (a render that follows a fetch or a framework's scheduler).
// Nothing here changes what the page's timers do; it only counts them.
(() => {
  const KEY = Symbol.for('qwen-agent.settle');
  if (window[KEY]) return;
  const LIMIT_MS = 1000;
  const pending = new Map(); // timer id -> due time (performance.now() ms)
  let since = -1; // when the last input started; -1: none yet
  let inTimer = null; // null: not inside a timer callback; else whether that timer was caused
  let lastMutation = performance.now();
  new MutationObserver(() => { lastMutation = performance.now(); })
    .observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
  const nativeSet = window.setTimeout;
  const nativeClear = window.clearTimeout;
  window.setTimeout = function (fn, delay, ...args) {
    const ms = Number(delay) || 0;
    const caused = typeof fn === 'function' && since >= 0 && inTimer !== false && ms <= LIMIT_MS;
    if (typeof fn !== 'function') return nativeSet.call(window, fn, delay, ...args);
    let id = 0;
    const run = function () {
      pending.delete(id);
      const outer = inTimer;
      inTimer = caused;
      try { return fn.apply(this, arguments); } finally { inTimer = outer; }
    };
    id = nativeSet.call(window, run, delay, ...args);
    if (caused) pending.set(id, performance.now() + ms);
    return id;
  };
  window.clearTimeout = function (id) {
    pending.delete(id);
    return nativeClear.call(window, id);
  };
  Object.defineProperty(window, KEY, {
    enumerable: false,
    value: {
      mark() { since = performance.now(); pending.clear(); },
      read() {
        let animations = 0;
        for (const a of document.getAnimations ? document.getAnimations() : []) {
          const end = a.effect && a.effect.getComputedTiming ? a.effect.getComputedTiming().endTime : Infinity;
          if (a.playState === 'running' && Number.isFinite(end)) animations += 1;
        }
        return { timers: pending.size, animations, quiet: performance.now() - lastMutation };
      },
    },
  });
})();
