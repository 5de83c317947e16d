// Saved wall layouts. Named layouts live on the hub, per user
// (GET/PUT/DELETE /api/v1/me/layouts), so they follow the user to any
// workstation. The current wall, restored on the next visit, stays in this
// browser's localStorage: each workstation keeps its own last wall.
// Named layouts an older console kept in localStorage are uploaded on first
// use (unless the hub already has one of that name) and then removed here.
import { get, put, del } from '../api.js';

const prefix = (user) => `pingan.wall.${user || 'anon'}`;
const LABEL_MAX = 80; // characters; the hub takes at most 256 bytes

function read(user) {
  try {
    const v = JSON.parse(localStorage.getItem(prefix(user)) || '{}');
    return { current: v.current || null, named: v.named || {} };
  } catch {
    return { current: null, named: {} };
  }
}

function write(user, v) {
  const keep = { current: v.current };
  if (Object.keys(v.named || {}).length) keep.named = v.named;
  try { localStorage.setItem(prefix(user), JSON.stringify(keep)); } catch { /* storage full or denied */ }
}

const path = (name) => '/api/v1/me/layouts/' + encodeURIComponent(name);

// wire is a layout as the hub takes it: {size, tiles: [{stream, label} | null]}.
function wire(layout) {
  return {
    size: layout.size,
    tiles: (layout.tiles || []).slice(0, layout.size).map((x) => (x && x.stream
      ? (x.label ? { stream: x.stream, label: String(x.label).slice(0, LABEL_MAX) } : { stream: x.stream })
      : null)),
  };
}

// A layout is {size: 1|4|9|16, tiles: [{stream, label} | null, ...]}.
export function current(user) { return read(user).current; }
export function saveCurrent(user, layout) { const v = read(user); v.current = layout; write(user, v); }

const migrations = new Map(); // user → Promise of the names that could not be moved

// migrate uploads the browser's named layouts once per page load; those
// the hub refuses (invalid, or past the per-user limit) are dropped too,
// and reported so the page can say so. Network or server errors keep them
// for the next visit.
function migrate(user, onHub) {
  if (!migrations.has(user)) {
    migrations.set(user, (async () => {
      const v = read(user);
      const refused = [];
      for (const [name, layout] of Object.entries(v.named)) {
        if (!onHub.has(name)) {
          try {
            await put(path(name), wire(layout));
          } catch (e) {
            if (!(e.status >= 400 && e.status < 500)) continue; // keep for a later try
            refused.push(name);
          }
        }
        delete v.named[name];
      }
      write(user, { ...read(user), named: v.named });
      return refused;
    })());
  }
  return migrations.get(user);
}

// named lists the user's saved layouts from the hub as {name: layout}
// (migrating this browser's old ones first); notMoved lists old local
// layouts the hub refused.
export async function named(user) {
  const list = async () => (await get('/api/v1/me/layouts')).layouts || [];
  let layouts = await list();
  let notMoved = [];
  if (Object.keys(read(user).named).length) {
    notMoved = await migrate(user, new Set(layouts.map((l) => l.name)));
    layouts = await list();
  }
  const out = {};
  for (const l of layouts) out[l.name] = { size: l.size, tiles: l.tiles || [] };
  return { layouts: out, notMoved };
}

export function saveNamed(user, name, layout) { return put(path(name), wire(layout)); }
export function removeNamed(user, name) { return del(path(name)); }
