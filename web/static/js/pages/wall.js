// The video wall: 1/4/9/16 layouts of tiles, the device tree on the left,
// the selected tile's PTZ pad on the right, saved layouts per user, tile
// and wall fullscreen. A tile starts WHEP the moment a stream is chosen.
import { h, clear, toast, formDialog, icon, confirmDialog } from '../dom.js';
import { t } from '../i18n.js';
import { Tile } from '../tile.js';
import { DeviceTree } from '../wall/tree.js';
import { PTZPanel } from '../wall/ptz.js';
import * as layouts from '../wall/layouts.js';

const SIZES = [1, 4, 9, 16];

export default function wallPage(root, ctx) {
  const user = ctx.user.username;
  let size = 4;
  let tiles = [];
  let selected = 0;
  const grid = h('div.wall-grid', { testid: 'wall' });
  const tree = new DeviceTree({ onPick: (stream, label) => pick(stream, label) });
  const ptz = new PTZPanel();
  const info = h('div.tile-info', { testid: 'tile-info' });
  const layoutSel = h('select', { testid: 'layout-select', 'aria-label': t('wall.savedLayouts') });
  const sizeBtns = SIZES.map((n) => h('button.seg', { type: 'button', testid: 'layout-' + n, dataset: { size: String(n) },
    title: t('wall.layoutN', { n }), 'aria-pressed': 'false', onclick: () => setSize(n) }, gridGlyph(n)));
  const wallBox = h('div.wall-box', grid);
  const side = h('aside.wall-side', { testid: 'wall-side' }, h('section.panel', h('h3', t('wall.selected')), info), ptz.el);

  const toolbar = h('div.toolbar.wall-toolbar',
    h('div.seg-group', { role: 'group', 'aria-label': t('wall.layout') }, sizeBtns),
    h('span.sep'),
    h('button.ghost', { type: 'button', testid: 'layout-save', onclick: saveAs }, t('wall.saveLayout')),
    layoutSel,
    h('button.ghost', { type: 'button', testid: 'layout-load', onclick: loadNamed }, t('wall.loadLayout')),
    h('button.ghost', { type: 'button', testid: 'layout-delete', onclick: deleteNamed }, t('delete')),
    h('span.grow'),
    h('button.ghost', { type: 'button', testid: 'wall-clear', onclick: clearAll }, t('wall.clearAll')),
    h('button.ghost', { type: 'button', testid: 'wall-fullscreen', onclick: () => wallBox.requestFullscreen().catch(() => {}) }, icon('full', 14), ' ', t('wall.fullscreenWall')));

  clear(root).append(h('div.wall-page', { testid: 'page-wall' },
    h('aside.wall-tree', { 'aria-label': t('tree.title') }, h('h3', t('tree.title')), tree.el),
    h('section.wall-main', toolbar, wallBox), side));

  function gridGlyph(n) {
    const k = Math.sqrt(n);
    const g = h('span.glyph', { style: { gridTemplateColumns: `repeat(${k}, 1fr)` }, 'aria-hidden': 'true' });
    for (let i = 0; i < n; i++) g.append(h('i'));
    return h('span', g, h('span.sr', t('wall.layoutN', { n })));
  }

  function makeTile(i) {
    return new Tile(i, {
      onSelect: (tile) => select(tile.index),
      onDrop: (tile, stream, label) => { select(tile.index); play(tile.index, stream, label); },
      onSwap: (from, to) => swap(from, to),
      onClose: (tile) => { tile.clear(); persist(); renderInfo(); },
    });
  }

  function setSize(n, restore) {
    if (!SIZES.includes(n)) return;
    size = n;
    // Tiles that stay keep playing; only added ones start and removed ones stop.
    while (tiles.length > n) tiles.pop().destroy();
    while (tiles.length < n) tiles.push(makeTile(tiles.length));
    grid.style.setProperty('--cols', String(Math.sqrt(n)));
    grid.dataset.size = String(n);
    clear(grid).append(...tiles.map((x) => x.el));
    for (const b of sizeBtns) b.setAttribute('aria-pressed', String(Number(b.dataset.size) === n));
    if (restore) {
      tiles.forEach((x, i) => {
        const s = restore[i];
        if (s && s.stream) x.play(s.stream, s.label); else x.clear();
      });
    }
    select(Math.min(selected, n - 1));
    persist();
  }

  function select(i) {
    selected = i;
    tiles.forEach((x) => x.el.classList.toggle('selected', x.index === i));
    tiles.forEach((x) => x.el.setAttribute('aria-pressed', String(x.index === i)));
    renderInfo();
  }

  function renderInfo() {
    const tile = tiles[selected];
    if (!tile) return;
    const ch = tile.streamId ? tree.channelOf(tile.streamId) : null;
    ptz.setTarget(ch, tile.label);
    clear(info).append(tile.streamId
      ? h('dl.kv', h('dt', t('wall.tileN')), h('dd', String(selected + 1)),
        h('dt', t('wall.stream')), h('dd', { testid: 'selected-stream' }, tile.streamId),
        ch ? [h('dt', t('wall.device')), h('dd', ch.device), h('dt', t('wall.channel')), h('dd', ch.channel)] : null,
        h('dt', ''), h('dd', h('button.small.ghost', { type: 'button', testid: 'tile-reconnect', onclick: () => tile.player && tile.player.reconnect() }, t('wall.reconnect'))))
      : h('p.muted', t('wall.pickHint', { n: selected + 1 })));
  }

  function play(i, stream, label) {
    if (!tiles[i]) return false;
    tiles[i].play(stream, label || tree.nameOf(stream));
    persist();
    if (i === selected) renderInfo();
    return true;
  }

  // pick plays into the selected tile, then moves the selection to the
  // next empty tile so clicking down the tree fills the wall.
  function pick(stream, label) {
    play(selected, stream, label);
    const next = tiles.findIndex((x, j) => j > selected && !x.streamId);
    if (next >= 0) select(next);
  }

  function swap(a, b) {
    if (a === b || !tiles[a] || !tiles[b]) return;
    const sa = tiles[a].streamId ? [tiles[a].streamId, tiles[a].label] : null;
    const sb = tiles[b].streamId ? [tiles[b].streamId, tiles[b].label] : null;
    tiles[a].clear();
    tiles[b].clear();
    if (sb) tiles[a].play(...sb);
    if (sa) tiles[b].play(...sa);
    select(b);
    persist();
  }

  function snapshot() {
    return { size, tiles: tiles.map((x) => (x.streamId ? { stream: x.streamId, label: x.label } : null)) };
  }
  function persist() { layouts.saveCurrent(user, snapshot()); }

  // Saved layouts come from the hub (they follow the user); savedNamed
  // caches the last list for Load.
  let savedNamed = {};
  let gone = false;
  async function fillNamed(pick) {
    let res;
    try { res = await layouts.named(user); } catch (e) { if (!gone) toast(t('wall.layoutsFailed', { e: e.message }), 'error'); return; }
    if (gone) return;
    savedNamed = res.layouts;
    const names = Object.keys(savedNamed).sort();
    const keep = pick ?? layoutSel.value;
    clear(layoutSel).append(h('option', { value: '' }, t('wall.savedLayouts')), ...names.map((n) => h('option', { value: n }, n)));
    layoutSel.value = names.includes(keep) ? keep : '';
    layoutSel.dataset.loaded = '1';
    if (res.notMoved.length) toast(t('wall.notMigrated', { n: res.notMoved.join('、') }), 'warn', 8000);
  }
  async function saveAs() {
    const v = await formDialog({ title: t('wall.saveLayout'), testid: 'layout-dialog', fields: [{ name: 'name', label: t('wall.layoutName'), required: true, value: layoutSel.value }],
      validate: (o) => (o.name.length > 64 || o.name.includes('/') ? t('wall.badLayoutName') : '') });
    if (!v) return;
    try { await layouts.saveNamed(user, v.name, snapshot()); } catch (e) { toast(e.message, 'error'); return; }
    await fillNamed(v.name);
    toast(t('wall.saved'), 'ok', 2000);
  }
  function loadNamed() {
    const l = savedNamed[layoutSel.value];
    if (!l) return;
    setSize(l.size, l.tiles);
  }
  async function deleteNamed() {
    const name = layoutSel.value;
    if (!name || !(await confirmDialog(t('delete'), t('wall.deleteLayout', { n: name }), true))) return;
    try { await layouts.removeNamed(user, name); } catch (e) { if (e.status !== 404) { toast(e.message, 'error'); return; } }
    fillNamed('');
  }
  function clearAll() { for (const x of tiles) x.clear(); persist(); renderInfo(); }

  // Status countdowns ("reconnecting in 3 s") tick once a second.
  const ticker = setInterval(() => { for (const x of tiles) if (x.player && x.player.state === 'retrying') x.render(); }, 1000);

  const saved = layouts.current(user);
  setSize(saved && SIZES.includes(saved.size) ? saved.size : 4, saved ? saved.tiles : []);
  fillNamed();
  tree.load().then(() => {
    renderInfo();
    if (!saved && !tiles.some((x) => x.streamId)) {
      // First visit: show the first online streams so the wall is alive.
      tree.streams.filter((s) => s.online).slice(0, size).forEach((s, i) => play(i, s.id, s.id));
    }
  });

  ctx.expose({
    play: (i, stream) => play(i, stream),
    layout: (n) => setSize(n),
    select: (i) => select(i),
    tiles: () => tiles.map((x) => ({ index: x.index, stream: x.streamId, state: x.player ? x.player.state : 'empty' })),
    tileStats: (i) => (tiles[i] && tiles[i].player ? tiles[i].player.freshStats() : Promise.resolve({ framesDecoded: 0, fps: 0, kbps: 0, state: 'empty' })),
    clearWall: clearAll,
    savedLayouts: () => Object.keys(savedNamed).sort(),
  });

  const onFs = () => wallBox.classList.toggle('fs', document.fullscreenElement === wallBox);
  document.addEventListener('fullscreenchange', onFs);
  return () => {
    gone = true;
    clearInterval(ticker);
    document.removeEventListener('fullscreenchange', onFs);
    tree.destroy();
    for (const x of tiles) x.destroy();
  };
}
