// The mediation meeting page (/meeting/{id}, also opened from a join link
// with ?token=): joins the room over the WebSocket (room.join), publishes
// camera and microphone with room.publish, receives every other
// participant (people and cameras a host added) on the server-offered
// subscriber PeerConnection; participants, chat, raise hand, mute; host
// tools (invite, add camera, mute/remove, record, end).
// /meeting without an id lists meetings.
import { h, clear, toast, confirmDialog, formDialog } from '../dom.js';
import { t } from '../i18n.js';
import { post, del } from '../api.js';
import { RoomSession, localMedia, screenMedia } from '../rooms.js';
import { peerCell, unavailableBanner, chatPanel, peopleList, roomIndex, inviteDialog, trackCells } from '../roomui.js';

const HOST_ROLES = ['admin', 'operator', 'leader', 'mediator', 'trainer'];

export default function meetingPage(root, ctx) {
  if (!ctx.params.id) return roomIndex(root, ctx, 'meeting', ['admin', 'operator', 'leader', 'mediator'].includes(ctx.user.role));
  const id = ctx.params.id;
  const guest = ctx.user.kind === 'guest';
  let local = null;       // MediaStream from the camera and microphone
  let screen = null;
  let recordings = [];    // recording ids while recording
  let hand = false;
  let alive = true;
  const grid = h('div.room-grid', { testid: 'room-grid' });
  const tracks = trackCells((label) => session.streamOf(label), grid);
  const cells = tracks.cells; // stream id → {cell, label, participant}
  const banner = h('div');
  const me = peerCell(t('room.me'), { local: true, testid: 'local-video' });
  grid.append(me.el);
  const chat = chatPanel((text) => { session.chat(text); return true; });
  const people = peopleList(t('room.participants'));
  const title = h('h2', { style: { margin: 0 } }, t('room.meeting'));
  const btn = (testid, text, fn, cls = '') => h('button' + cls, { type: 'button', testid, onclick: fn, 'aria-pressed': 'false' }, text);
  const micBtn = btn('mic-toggle', t('room.mic'), () => toggle('audio'));
  const camBtn = btn('cam-toggle', t('room.cam'), () => toggle('video'));
  const handBtn = btn('raise-hand', t('class.raiseHand'), raise);
  const shareBtn = btn('screen-share', t('room.share'), share);
  const hostBtns = [
    btn('invite', t('room.invite'), () => inviteDialog(id, 'meeting')),
    btn('add-camera', t('room.addCamera'), addCamera),
    btn('record', t('room.record'), record),
  ];
  const recBtn = hostBtns[2];
  const endBtn = btn('end-room', t('room.end'), end, '.danger');
  const controls = h('div.room-controls', { testid: 'room-controls' }, micBtn, camBtn, handBtn, shareBtn, ...hostBtns,
    btn('leave', t('room.leave'), leave, '.danger'), endBtn);
  let host = !guest && HOST_ROLES.includes(ctx.user.role);
  const showHost = () => { for (const b of [...hostBtns, endBtn]) b.hidden = !host; };
  showHost();
  const page = h('div.room-page', { testid: 'page-meeting', dataset: { room: id, state: 'joining' } },
    h('section.room-stage', h('div.page-head', { style: { margin: 0 } }, title, h('span.grow'), h('span.muted.mono', id)), banner, grid, controls),
    h('aside.room-side', people.el, chat.el));
  clear(root).append(page);

  const session = new RoomSession(id, {
    onUpdate: () => update(),
    onTrack: (label, ms) => showTrack(label, ms),
    onTrackGone: (label) => dropLabel(label),
    onEvent: (ev) => {
      if (ev.type === 'chat' && ev.text) chat.add(nameOf(ev.from), ev.text, ev.time);
      if (ev.type === 'speaker') for (const c of cells.values()) c.cell.el.classList.toggle('speaking', (ev.speakers || []).includes(c.participant));
      if (ev.type === 'removed' || ev.type === 'ended') { toast(t(ev.type === 'ended' ? 'room.endedMsg' : 'room.removed'), 'warn'); leave(); }
      if (ev.type === 'muted' && local) {
        const kind = ev.kind === 'video' ? 'video' : 'audio';
        for (const tr of kind === 'video' ? local.getVideoTracks() : local.getAudioTracks()) tr.enabled = false;
        (kind === 'video' ? camBtn : micBtn).setAttribute('aria-pressed', 'true');
        toast(t('room.muted'), 'warn');
      }
    },
  });

  const nameOf = (pid) => { const p = session.participants().find((x) => x.id === pid); return p ? p.name || p.user || pid : pid || '?'; };

  function showTrack(label, ms) {
    tracks.show(label, ms);
  }

  function dropLabel(label) { tracks.dropLabel(label); }

  function update() {
    const room = session.room || {};
    title.textContent = room.name || t('room.meeting');
    if (room.ended) clear(banner).append(h('div.banner', t('room.endedMsg')));
    const list = session.participants();
    people.render(list, { me: session.me, actions: host ? hostActions : null });
    const ids = new Set(list.map((p) => p.id));
    for (const [s, c] of cells) {
      if (!ids.has(c.participant)) { c.cell.el.remove(); cells.delete(s); continue; }
      const p = list.find((x) => x.id === c.participant);
      const name = c.cell.el.querySelector('.peer-name');
      if (name && p) name.textContent = (p.name || p.id) + (p.audio_muted ? ' 🔇' : '') + (p.hand ? ' ✋' : '');
    }
  }

  function hostActions(p) {
    if (p.id === session.me) return null;
    const small = (testid, text, fn) => h('button.small', { type: 'button', testid, onclick: fn }, text);
    return h('span', p.camera ? null : small('host-mute', t('room.hostMute'), () => session.hostMute(p.id, 'audio')),
      small('host-remove', t('room.hostRemove'), () => session.hostRemove(p.id)));
  }

  function toggle(kind) {
    const b = kind === 'audio' ? micBtn : camBtn;
    if (!local) return;
    const tracks = kind === 'audio' ? local.getAudioTracks() : local.getVideoTracks();
    const muted = tracks.some((tr) => tr.enabled);
    for (const tr of tracks) tr.enabled = !muted;
    b.setAttribute('aria-pressed', String(muted));
    session.mute(kind, muted);
  }

  async function raise() {
    hand = !hand;
    handBtn.setAttribute('aria-pressed', String(hand));
    handBtn.textContent = hand ? t('class.lowerHand') : t('class.raiseHand');
    if (!(await session.hand(hand))) { hand = !hand; handBtn.setAttribute('aria-pressed', String(hand)); handBtn.textContent = hand ? t('class.lowerHand') : t('class.raiseHand'); }
  }

  // share publishes the screen as a second source ("screen") next to the camera.
  async function share() {
    if (screen) {
      session.unpublish('screen');
      for (const tr of screen.getTracks()) tr.stop();
      screen = null;
      if (local) me.set(local);
      me.el.classList.remove('screen');
      shareBtn.setAttribute('aria-pressed', 'false');
      return;
    }
    const s = await screenMedia();
    if (!s) return;
    screen = s;
    s.getVideoTracks()[0].addEventListener('ended', () => { if (screen === s) share(); });
    me.set(s);
    me.el.classList.add('screen');
    shareBtn.setAttribute('aria-pressed', 'true');
    try { await session.publish(new MediaStream(s.getVideoTracks()), 'screen'); } catch (e) { toast(e.message, 'error'); }
  }

  async function addCamera() {
    const v = await formDialog({ title: t('room.addCamera'), testid: 'camera-dialog', fields: [
      { name: 'stream', label: t('room.cameraStream'), required: true, placeholder: 'gb/34020000001320000001' },
      { name: 'name', label: t('room.name') }] });
    if (v) session.hostCamera(v.stream.trim(), v.name);
  }

  // record asks for a room recording; the hub records streams only, so
  // it falls back to one recording per participant stream.
  async function record() {
    try {
      if (recordings.length) {
        await Promise.all(recordings.map((r) => del('/api/v1/recordings/' + encodeURIComponent(r)).catch(() => {})));
        recordings = [];
        recBtn.setAttribute('aria-pressed', 'false');
        recBtn.textContent = t('room.record');
        return;
      }
      const ids = [];
      try {
        ids.push((await post('/api/v1/recordings', { room: id })).id);
      } catch (e) {
        if (![400, 404, 501].includes(e.status)) throw e;
        const streams = session.participants().flatMap((p) => p.streams || []).filter((s) => !s.includes('~'));
        const caseId = (session.room || {}).case;
        const res = await Promise.allSettled(streams.map((stream) => post('/api/v1/recordings', { stream, ...(caseId ? { case: caseId } : {}) })));
        for (const r of res) if (r.status === 'fulfilled' && r.value.id) ids.push(r.value.id);
        if (!ids.length) throw (res.find((r) => r.status === 'rejected') || {}).reason || e;
      }
      recordings = ids;
      recBtn.setAttribute('aria-pressed', 'true');
      recBtn.textContent = t('room.stopRecord');
      toast(t('room.recording'), 'ok');
    } catch (e) { toast(e.message, 'error'); }
  }

  function leave() {
    if (!alive) return;
    cleanup();
    if (guest) clear(root).append(h('section.page.notice', { testid: 'room-left' }, h('h2', t('room.left')), h('p', t('room.leftBody'))));
    else ctx.navigate('/meeting');
  }
  async function end() {
    if (!(await confirmDialog(t('room.end'), t('room.endBody'), true))) return;
    if (await session.end()) leave();
  }

  async function start() {
    const media = localMedia();
    try {
      await session.open();
    } catch (e) {
      page.dataset.state = 'failed';
      clear(banner).append(unavailableBanner(e, h('p.muted', t('room.previewOnly'))));
      chat.el.querySelectorAll('input, button').forEach((x) => { x.disabled = true; });
      controls.querySelectorAll('button').forEach((b) => { if (!['mic-toggle', 'cam-toggle', 'leave'].includes(b.dataset.testid)) b.disabled = true; });
      const m = await media;
      if (!alive) { if (m.stream) m.stream.getTracks().forEach((tr) => tr.stop()); return; }
      if (m.stream) { local = m.stream; me.set(local); }
      return;
    }
    if (!alive) return;
    host = session.role === 'host';
    showHost();
    update();
    page.dataset.state = 'joined';
    page.dataset.participant = session.me;
    const m = await media;
    if (!alive) { if (m.stream) m.stream.getTracks().forEach((tr) => tr.stop()); return; }
    if (!m.stream) { clear(banner).append(h('div.banner', { testid: 'media-error' }, m.error, ' ', t('room.watchOnly'))); return; }
    local = m.stream;
    me.set(local);
    if (session.role === 'viewer') return;
    try {
      await session.publish(local);
      page.dataset.published = '1';
    } catch (e) {
      if (alive) clear(banner).append(h('div.banner.error', { testid: 'publish-error' }, t('room.publishFailed'), ' ', e.message));
    }
  }

  function cleanup() {
    if (!alive) return;
    alive = false;
    session.close();
    for (const s of [local, screen]) if (s) for (const tr of s.getTracks()) tr.stop();
  }

  start();
  ctx.expose({
    roomPeers: () => [...cells.keys()],
    roomFrames: async () => {
      const out = {};
      await Promise.all([...cells].map(async ([s, c]) => { out[s] = await session.framesDecoded(c.label); }));
      return out;
    },
    roomStats: async () => {
      const out = {};
      for (const [s, c] of cells) out[s] = { width: c.cell.video.videoWidth, height: c.cell.video.videoHeight, time: c.cell.video.currentTime };
      return out;
    },
    roomPublished: () => !!session.pub && !!session.pub.stream,
    roomMe: () => session.me,
  });
  return cleanup;
}
