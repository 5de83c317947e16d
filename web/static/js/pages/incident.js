// One incident: its case, departments summoned (中心吹哨) and their check-in
// (部门报到), the cameras near it (pin them into the mini wall), the pinned
// streams playing, a command meeting, and closing the incident.
import { h, clear, fmtTime, toast, formDialog, confirmDialog, debounce } from '../dom.js';
import { t, label } from '../i18n.js';
import { get, post, del, encPath, unavailable, missing } from '../api.js';
import { subscribe } from '../ws.js';
import { departments, deptName } from '../refdata.js';
import { Tile } from '../tile.js';
import { startMeeting } from '../rooms.js';

const RADII = [200, 500, 1000, 3000, 10000];

export default function incidentPage(root, ctx) {
  const id = ctx.params.id;
  const role = ctx.user.role;
  const commander = ['admin', 'operator', 'leader'].includes(role);
  let inc = null;
  let depts = [];
  let cams = [];
  let radius = 500;
  let alive = true;
  const tiles = [];
  const mini = h('div.mini-wall', { testid: 'mini-wall' });
  const camList = h('div.cams', { testid: 'nearby-cameras' });
  const page = h('section.page', { testid: 'page-incident', dataset: { incident: id } }, h('p.muted', t('loading')));
  clear(root).append(page);
  const base = '/api/v1/incidents/' + encodeURIComponent(id);

  async function load() {
    try {
      const [x, dl] = await Promise.all([get(base), departments()]);
      if (!alive) return;
      inc = x; depts = dl;
      render();
    } catch (e) {
      if (alive) clear(page).append(h('div.notice', h('h2', missing(e) ? t('incident.notFound') : t('err.title')), h('p', e.message), h('p', h('a', { href: '/incidents' }, t('back')))));
    }
  }

  async function loadCams() {
    clear(camList).append(h('p.muted', t('loading')));
    try {
      const r = await get(`${base}/nearby-cameras?radius=${radius}`);
      cams = r.cameras || [];
    } catch (e) {
      cams = [];
      clear(camList).append(h('p.muted', unavailable(e) ? t('err.unavailable') : e.message));
      return;
    }
    renderCams();
  }

  function renderCams() {
    const pinned = new Set((inc && inc.streams) || []);
    clear(camList).append(cams.length ? h('ul', cams.map((c) => h('li', { testid: 'nearby-camera', dataset: { stream: c.stream_id } },
      h('span.dot' + (c.online ? '.on' : '.off')), h('span.grow', c.name || c.id), h('span.muted.mono', `${Math.round(c.distance)} m`),
      commander ? h('button.small', { type: 'button', testid: 'pin-camera', dataset: { stream: c.stream_id }, disabled: pinned.has(c.stream_id) || inc.state === 'closed',
        onclick: () => pin(c.stream_id) }, pinned.has(c.stream_id) ? t('incident.pinned') : t('incident.pin')) : null,
      h('button.small.ghost', { type: 'button', testid: 'preview-camera', onclick: () => showTile(c.stream_id, c.name) }, t('incident.preview')))))
      : h('p.muted', t('incident.noCameras', { r: radius })));
  }

  async function pin(stream) {
    try { inc = await post(base + '/pins', { stream }); render(); } catch (e) { toast(e.message, 'error'); }
  }
  async function unpin(stream) {
    try { inc = await del(`${base}/pins/${encPath(stream)}`); render(); } catch (e) { toast(e.message, 'error'); }
  }

  // The mini wall shows the pinned streams (and previews) in tiles.
  function showTile(stream, name) {
    let tile = tiles.find((x) => x.streamId === stream) || tiles.find((x) => !x.streamId);
    if (!tile) {
      if (tiles.length >= 4) tile = tiles[tiles.length - 1];
      else {
        tile = new Tile(tiles.length, { hint: t('incident.tileHint'), onClose: (x) => { if ((inc.streams || []).includes(x.streamId) && commander) unpin(x.streamId); else x.clear(); } });
        tiles.push(tile);
        mini.append(tile.el);
      }
    }
    tile.play(stream, name || stream);
  }

  function syncTiles() {
    const want = (inc.streams || []).slice(0, 4);
    for (const x of tiles) if (x.streamId && !want.includes(x.streamId) && !cams.some((c) => c.stream_id === x.streamId)) x.clear();
    for (const s of want) showTile(s, (cams.find((c) => c.stream_id === s) || {}).name);
    while (tiles.length < 4) { const x = new Tile(tiles.length, { hint: t('incident.tileHint') }); tiles.push(x); mini.append(x.el); }
  }

  async function summon() {
    const v = await formDialog({ title: t('incident.summon'), testid: 'summon-dialog', fields: [
      { name: 'departments', label: t('case.departments'), type: 'multi', required: true, options: depts.map((d) => ({ value: d.id, label: d.name || d.id })) }] });
    if (!v) return;
    try { inc = await post(base + '/summons', { departments: v.departments }); render(); } catch (e) { toast(e.message, 'error'); }
  }
  async function checkIn(dept) {
    try { inc = await post(base + '/checkins', { department: dept }); render(); } catch (e) { toast(e.message, 'error'); }
  }
  async function closeIncident() {
    if (!(await confirmDialog(t('incident.close'), t('incident.closeBody'), true))) return;
    try { inc = await post(base + '/close', {}); render(); } catch (e) { toast(e.message, 'error'); }
  }
  async function meeting() {
    if (inc.room) { ctx.navigate('/meeting/' + encodeURIComponent(inc.room)); return; }
    const room = await startMeeting({ kind: 'meeting', name: t('incident.commandRoom', { id }), case: inc.case });
    if (room) ctx.navigate('/meeting/' + encodeURIComponent(room.id));
  }

  function render() {
    const open = inc.state !== 'closed';
    const summons = (inc.summons || []).map((s) => h('tr', { testid: 'summon-row', dataset: { department: s.department, checked: s.checked_in_at ? '1' : '' } },
      h('td', deptName(depts, s.department)), h('td', fmtTime(s.summoned_at)),
      h('td', s.checked_in_at ? h('span.badge.green', t('dept.checked_in') + ' ' + fmtTime(s.checked_in_at, false)) : h('span.badge.yellow', t('incident.waiting'))),
      h('td', !s.checked_in_at && open ? h('button.small', { type: 'button', testid: 'checkin', dataset: { department: s.department }, onclick: () => checkIn(s.department) }, t('act.checkin')) : null)));
    clear(page).append(
      h('div.page-head', h('a', { href: '/incidents' }, '← ' + t('nav.incidents'))),
      h('div.case-layout',
        h('div',
          h('div.panel', h('div.case-title', h('h2', { style: { margin: 0 } }, t('incident.title', { id })), h('span.badge', { testid: 'incident-state' }, label('incstate', inc.state)),
            h('span.badge' + (inc.severity <= 2 ? '.red' : ''), t('severity.' + inc.severity))),
          h('dl.kv', { style: { marginTop: '.6rem' } }, h('dt', t('case.code')), h('dd', h('a', { href: '/cases/' + inc.case, testid: 'incident-case' }, inc.case)),
            h('dt', t('case.address')), h('dd', (inc.location && inc.location.address) || '—'),
            h('dt', t('case.created')), h('dd', fmtTime(inc.created)), inc.closed ? [h('dt', t('incident.closed')), h('dd', fmtTime(inc.closed))] : null),
          h('div.actions', { style: { marginTop: '.6rem' } },
            commander && open ? h('button.primary', { type: 'button', testid: 'summon', onclick: summon }, t('incident.summon')) : null,
            open ? h('button', { type: 'button', testid: 'start-meeting', onclick: meeting }, inc.room ? t('incident.joinRoom') : t('case.startMeeting')) : null,
            commander && open ? h('button.danger', { type: 'button', testid: 'close-incident', onclick: closeIncident }, t('incident.close')) : null)),
          h('div.panel', h('h3', t('incident.pinnedWall')), mini),
          h('div.panel', h('h3', t('incident.summons')), summons.length
            ? h('table.grid', h('thead', h('tr', [t('dept.name'), t('incident.summonedAt'), t('case.state'), ''].map((x) => h('th', x)))), h('tbody', summons))
            : h('p.muted', t('incident.noSummons')))),
        h('div', h('div.panel',
          h('h3', t('incident.nearby'), h('span.grow'),
            h('select', { testid: 'nearby-radius', 'aria-label': t('incident.radius'), onchange: (e) => { radius = Number(e.target.value); loadCams(); } },
              RADII.map((r) => h('option', { value: r, selected: r === radius }, r >= 1000 ? `${r / 1000} km` : `${r} m`)))),
          camList),
        h('div.panel', h('h3', t('incident.pins')), (inc.streams || []).length ? h('ul', (inc.streams || []).map((s) => h('li', { testid: 'pinned-stream', dataset: { stream: s } },
          h('span.mono', s), ' ', commander && open ? h('button.small.ghost', { type: 'button', testid: 'unpin', onclick: () => unpin(s) }, t('incident.unpin')) : null)))
          : h('p.muted', t('none'))))));
    syncTiles();
    renderCams();
  }

  const reload = debounce(load, 300);
  const unsub = subscribe('incident:' + id, reload, reload);
  load().then(() => { if (inc) loadCams(); });
  ctx.expose({ tileStats: (i) => (tiles[i] && tiles[i].player ? tiles[i].player.freshStats() : Promise.resolve({ framesDecoded: 0, fps: 0, kbps: 0 })) });
  return () => { alive = false; unsub(); for (const x of tiles) x.destroy(); };
}
