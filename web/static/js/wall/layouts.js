// Saved wall layouts, per user, in the browser's localStorage (keyed by
// username): the current wall is restored on the next visit, and named
// layouts can be saved, loaded and deleted. They do not follow the user
// to another browser; a server-side store can replace this module.
const prefix = (user) => `pingan.wall.${user || 'anon'}`;

function read(user) {
  try {
    const v = JSON.parse(localStorage.getItem(prefix(user)) || '{}');
    return { current: v.current || null, named: v.named || {} };
  } catch {
    return { current: null, named: {} };
  }
}

function write(user, v) {
  try { localStorage.setItem(prefix(user), JSON.stringify(v)); } catch { /* storage full or denied */ }
}

// A layout is {size: 1|4|9|16, tiles: [{stream, label} | null, ...]}.
export function current(user) { return read(user).current; }
export function saveCurrent(user, layout) { const v = read(user); v.current = layout; write(user, v); }
export function named(user) { return read(user).named; }
export function saveNamed(user, name, layout) { const v = read(user); v.named[name] = layout; write(user, v); }
export function removeNamed(user, name) { const v = read(user); delete v.named[name]; write(user, v); }
