// History routing: real paths (/cases/{code}) so links and QR codes work;
// the hub serves index.html for every console path.
const routes = [];
let onChange = () => {};

// route registers a pattern like '/cases/:code' (':rest*' takes the rest).
export function route(pattern, name) {
  const keys = [];
  const re = new RegExp('^' + pattern.replace(/\/:(\w+)(\*)?/g, (_, k, star) => {
    keys.push(k);
    return star ? '/(.+)' : '/([^/]+)';
  }) + '/?$');
  routes.push({ re, keys, name });
}

export function match(path) {
  for (const r of routes) {
    const m = r.re.exec(path);
    if (m) {
      const params = {};
      r.keys.forEach((k, i) => { params[k] = decodeURIComponent(m[i + 1]); });
      return { name: r.name, params };
    }
  }
  return null;
}

export function start(fn) {
  onChange = fn;
  window.addEventListener('popstate', () => onChange(location.pathname, location.search));
  document.addEventListener('click', (ev) => {
    if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    const a = ev.target.closest('a[href]');
    if (!a || a.target || a.hasAttribute('download') || a.dataset.external !== undefined) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
    ev.preventDefault();
    navigate(url.pathname + url.search);
  });
  onChange(location.pathname, location.search);
}

export function navigate(to, replace = false) {
  if (to === location.pathname + location.search) { onChange(location.pathname, location.search); return; }
  if (replace) history.replaceState(null, '', to); else history.pushState(null, '', to);
  onChange(location.pathname, location.search);
}

export function refresh() { onChange(location.pathname, location.search); }
