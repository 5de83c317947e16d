// The class page (/class/{id}). A trainer (a room host) broadcasts camera
// and/or screen with room.publish and sees raised hands and attendance; a
// trainee (viewer) watches the presenters on the server-offered subscriber
// PeerConnection, raises a hand, chats, and may speak when given the
// floor. /class lists classes.
import { h, clear, toast, fmtTime } from '../dom.js';
import { t } from '../i18n.js';
import { get } from '../api.js';
import { RoomSession, localMedia, screenMedia } from '../rooms.js';
import { peerCell, unavailableBanner, chatPanel, peopleList, roomIndex, inviteDialog, attendanceLink, trackCells } from '../roomui.js';

const PRESENTERS = ['admin', 'leader', 'trainer'];

export default function classPage(root, ctx) {
  if (!ctx.params.id) return roomIndex(root, ctx, 'class', PRESENTERS.includes(ctx.user.role));
  const id = ctx.params.id;
  const guest = ctx.user.kind === 'guest';
  let presenter = !guest && PRESENTERS.includes(ctx.user.role);
  let cam = null;
  let screen = null;
  let hand = false;
  let floor = false;
  let alive = true;
  const stage = h('div.room-grid', { testid: 'class-stage' });
  const tracks = trackCells((label) => session.streamOf(label), stage);
  const cells = tracks.cells; // stream id → {cell, label, participant}
  const waiting = h('p.muted.waiting', { testid: 'class-waiting' }, t('class.waiting'));
  const banner = h('div');
  const title = h('h2', { style: { margin: 0 } }, t('room.class'));
  const badge = h('span.badge');
  const chat = chatPanel((text) => { session.chat(text); return true; });
  const people = peopleList(t('room.participants'));
  const hands = h('ul.people', { testid: 'raised-hands' });
  const attendance = h('tbody');
  const preview = peerCell(t('room.me'), { local: true, testid: 'local-video' });
  const btn = (testid, text, fn, cls = '') => h('button' + cls, { type: 'button', testid, onclick: fn, 'aria-pressed': 'false' }, text);
  const camBtn = btn('broadcast-camera', t('class.camera'), () => broadcast('camera'));
  const screenBtn = btn('broadcast-screen', t('class.screen'), () => broadcast('screen'));
  const stopBtn = btn('broadcast-stop', t('class.stop'), stop, '.danger');
  const inviteBtn = btn('invite', t('room.invite'), () => inviteDialog(id, 'class'));
  const handBtn = btn('raise-hand', t('class.raiseHand'), raise);
  const speakBtn = btn('floor-speak', t('room.publishFloor'), () => broadcast('camera'));
  const controls = h('div.room-controls', { testid: 'room-controls' }, camBtn, screenBtn, stopBtn, inviteBtn, handBtn, speakBtn,
    btn('leave', t('room.leave'), () => { cleanup(); ctx.navigate(guest ? '/login' : '/class'); }));
  const handsPanel = h('section.panel', { testid: 'hands-panel' }, h('h3', t('class.hands')), hands);
  const attendancePanel = h('section.panel', { testid: 'attendance' }, h('h3', t('room.attendance')),
    h('table.grid', h('thead', h('tr', [t('room.name'), t('room.join'), t('room.attendanceLeft'), t('room.duration')].map((x) => h('th', x)))), attendance),
    h('p', attendanceLink(id)));
  const page = h('div.room-page', { testid: 'page-class', dataset: { room: id, role: presenter ? 'presenter' : 'viewer', state: 'joining' } },
    h('section.room-stage', h('div.page-head', { style: { margin: 0 } }, title, h('span.grow'), badge), banner, stage, controls),
    h('aside.room-side', handsPanel, people.el, attendancePanel, chat.el));
  clear(root).append(page);
  stopBtn.disabled = true;
  speakBtn.hidden = true;

  function setRole() {
    page.dataset.role = presenter ? 'presenter' : 'viewer';
    badge.textContent = presenter ? t('class.presenter') : t('class.viewer');
    for (const b of [camBtn, screenBtn, stopBtn, inviteBtn, handsPanel, attendancePanel]) b.hidden = !presenter;
    handBtn.hidden = presenter;
    if (presenter && !stage.contains(preview.el)) stage.prepend(preview.el);
  }
  setRole();

  const session = new RoomSession(id, {
    onUpdate: () => update(),
    onTrack: (label, ms) => showTrack(label, ms),
    onTrackGone: (label) => { tracks.dropLabel(label); update(); },
    onEvent: (ev) => {
      if (ev.type === 'chat' && ev.text) chat.add(nameOf(ev.from), ev.text, ev.time);
      if (ev.type === 'floor') {
        floor = !!ev.value;
        toast(floor ? t('class.gotFloor') : t('class.lostFloor'), 'ok');
        if (!presenter) speakBtn.hidden = !floor;
        if (!floor && !presenter) stop();
      }
      if (ev.type === 'participant.joined' || ev.type === 'participant.left') loadAttendance();
      if (ev.type === 'removed' || ev.type === 'ended') {
        toast(t(ev.type === 'ended' ? 'room.endedMsg' : 'room.removed'), 'warn');
        clear(banner).append(h('div.banner', t(ev.type === 'ended' ? 'room.endedMsg' : 'room.removed')));
        cleanup();
      }
    },
  });
  const nameOf = (pid) => { const p = session.participants().find((x) => x.id === pid); return p ? p.name || p.user || pid : pid || '?'; };

  function showTrack(label, ms) {
    tracks.show(label, ms);
    update();
  }

  function update() {
    const room = session.room || {};
    title.textContent = room.name || t('room.class');
    const list = session.participants();
    people.render(list, { me: session.me });
    clear(hands).append(...list.filter((p) => p.hand).map((p) => h('li', { testid: 'hand-row', dataset: { participant: p.id } }, h('span.hand', '✋'), h('span.grow', p.name || p.id),
      p.floor ? h('button.small', { type: 'button', testid: 'take-floor', onclick: () => session.hostFloor(p.id, false) }, t('room.takeFloor'))
        : h('button.small', { type: 'button', testid: 'give-floor', onclick: () => session.hostFloor(p.id, true) }, t('class.giveFloor')))));
    if (!hands.children.length) hands.append(h('li.muted', t('class.noHands')));
    const ids = new Set(list.map((p) => p.id));
    for (const [s, c] of cells) if (!ids.has(c.participant)) { c.cell.el.remove(); cells.delete(s); }
    if (!presenter && !cells.size) { if (!stage.contains(waiting)) stage.append(waiting); } else waiting.remove();
  }

  // loadAttendance fills the presenter's attendance table from attendance.csv.
  let attTimer = 0;
  function loadAttendance() {
    if (!presenter || !alive) return;
    clearTimeout(attTimer);
    attTimer = setTimeout(async () => {
      try {
        const csv = await get(`/api/v1/rooms/${encodeURIComponent(id)}/attendance.csv`, { text: true });
        const rows = String(csv || '').trim().split(/\r?\n/).slice(1).filter(Boolean).map(parseCSV);
        clear(attendance).append(...rows.map(([pid, name, user, role, joined, left, dur]) => h('tr', { testid: 'attendance-row', dataset: { participant: pid, role, user } },
          h('td', name || user || pid), h('td', fmtTime(joined, false)), h('td', left ? fmtTime(left, false) : '—'), h('td', dur ? dur + ' s' : '—'))));
      } catch (e) {
        if (e.status !== 403) console.warn('attendance', e.message);
      }
    }, 300);
  }

  // broadcast publishes the camera (with microphone) as "camera" or the
  // screen as "screen"; both may run at once.
  async function broadcast(kind) {
    let media;
    if (kind === 'camera') {
      if (!cam) { const m = await localMedia(); if (!m.stream) { toast(m.error, 'error'); return; } cam = m.stream; }
      media = cam;
    } else {
      screen = screen || await screenMedia();
      if (!screen) return;
      media = new MediaStream(screen.getVideoTracks());
    }
    preview.set(media);
    preview.el.classList.toggle('screen', kind === 'screen');
    if (!stage.contains(preview.el)) stage.prepend(preview.el);
    try {
      await session.publish(media, kind);
      (kind === 'camera' ? camBtn : screenBtn).setAttribute('aria-pressed', 'true');
      stopBtn.disabled = false;
      page.dataset.published = '1';
    } catch (e) {
      clear(banner).append(h('div.banner.error', { testid: 'publish-error' }, t('room.publishFailed'), ' ', e.message));
    }
  }

  function stop() {
    session.unpublish('camera');
    session.unpublish('screen');
    for (const s of [cam, screen]) if (s) for (const tr of s.getTracks()) tr.stop();
    cam = screen = null;
    preview.video.srcObject = null;
    if (!presenter) preview.el.remove();
    camBtn.setAttribute('aria-pressed', 'false');
    screenBtn.setAttribute('aria-pressed', 'false');
    stopBtn.disabled = true;
    delete page.dataset.published;
  }

  async function raise() {
    hand = !hand;
    const show = () => { handBtn.setAttribute('aria-pressed', String(hand)); handBtn.textContent = hand ? t('class.lowerHand') : t('class.raiseHand'); };
    show();
    if (!(await session.hand(hand))) { hand = !hand; show(); }
  }

  function cleanup() {
    if (!alive) return;
    alive = false;
    clearTimeout(attTimer);
    session.close();
    for (const s of [cam, screen]) if (s) for (const tr of s.getTracks()) tr.stop();
  }

  session.open().then(() => {
    if (!alive) return;
    presenter = session.role === 'host';
    setRole();
    page.dataset.state = 'joined';
    page.dataset.participant = session.me;
    update();
    loadAttendance();
  }).catch((e) => {
    page.dataset.state = 'failed';
    clear(banner).append(unavailableBanner(e));
    controls.querySelectorAll('button:not([data-testid=leave])').forEach((b) => { b.disabled = true; });
    chat.el.querySelectorAll('input, button').forEach((x) => { x.disabled = true; });
  });
  ctx.expose({
    classPeers: () => [...cells.keys()],
    classHand: () => hand,
    roomPeers: () => [...cells.keys()],
    roomFrames: async () => {
      const out = {};
      await Promise.all([...cells].map(async ([s, c]) => { out[s] = await session.framesDecoded(c.label); }));
      return out;
    },
  });
  return cleanup;
}

// parseCSV splits one CSV line (quoted fields with "" escapes).
function parseCSV(line) {
  const out = [];
  let cur = '';
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (q) {
      if (ch === '"' && line[i + 1] === '"') { cur += '"'; i++; } else if (ch === '"') q = false; else cur += ch;
    } else if (ch === '"') q = true;
    else if (ch === ',') { out.push(cur); cur = ''; } else cur += ch;
  }
  out.push(cur);
  return out;
}
