// The mediation meeting page (/meeting/{id}, also opened from a join link
// with ?token=): camera and microphone via getUserMedia, published with
// WHIP (POST /whip/room/{id}); every other participant's streams received
// over WHEP; participants and chat; host tools (invite, record, end).
// /meeting without an id lists meetings.
import { h, clear, toast, confirmDialog } from '../dom.js';
import { t } from '../i18n.js';
import { post, del } from '../api.js';
import { RoomSession, localMedia, screenMedia } from '../rooms.js';
import { peerCell, unavailableBanner, chatPanel, peopleList, roomIndex, inviteDialog } from '../roomui.js';

export default function meetingPage(root, ctx) {
  if (!ctx.params.id) return roomIndex(root, ctx, 'meeting', ['admin', 'operator', 'leader', 'mediator'].includes(ctx.user.role));
  const id = ctx.params.id;
  const guest = ctx.user.kind === 'guest';
  let local = null;       // MediaStream from the camera
  let screen = null;
  let recording = '';
  let alive = true;
  const cells = new Map(); // stream → peer cell
  const grid = h('div.room-grid', { testid: 'room-grid' });
  const banner = h('div');
  const me = peerCell(t('room.me'), { local: true, testid: 'local-video' });
  grid.append(me.el);
  const chat = chatPanel((text) => { const ok = session.chat(text); if (ok) chat.add(t('room.me'), text); return ok; });
  const people = peopleList(t('room.participants'));
  const title = h('h2', { style: { margin: 0 } }, t('room.meeting'));
  const btn = (testid, text, fn, cls = '') => h('button' + cls, { type: 'button', testid, onclick: fn, 'aria-pressed': 'false' }, text);
  const micBtn = btn('mic-toggle', t('room.mic'), () => toggle('audio', micBtn));
  const camBtn = btn('cam-toggle', t('room.cam'), () => toggle('video', camBtn));
  const shareBtn = btn('screen-share', t('room.share'), share);
  const host = !guest && ['admin', 'operator', 'leader', 'mediator'].includes(ctx.user.role);
  const recBtn = host ? btn('record', t('room.record'), record) : null;
  const controls = h('div.room-controls', { testid: 'room-controls' }, micBtn, camBtn, shareBtn,
    host ? btn('invite', t('room.invite'), () => inviteDialog(id, 'meeting')) : null, recBtn,
    btn('leave', t('room.leave'), leave, '.danger'), host ? btn('end-room', t('room.end'), end, '.danger') : null);
  clear(root).append(h('div.room-page', { testid: 'page-meeting', dataset: { room: id } },
    h('section.room-stage', h('div.page-head', { style: { margin: 0 } }, title, h('span.grow'), h('span.muted.mono', id)), banner, grid, controls),
    h('aside.room-side', people.el, chat.el)));

  const session = new RoomSession(id, {
    onUpdate: (s) => update(s),
    onEvent: (ev) => {
      if (ev.type === 'chat' && ev.text) chat.add(nameOf(ev.from), ev.text, ev.time);
      if (ev.type === 'speaker') for (const [s, c] of cells) c.el.classList.toggle('speaking', (ev.speakers || []).some((p) => s.includes('/' + p)));
      if (ev.type === 'removed' || ev.type === 'ended') { toast(t(ev.type === 'ended' ? 'room.endedMsg' : 'room.removed'), 'warn'); leave(); }
      if (ev.type === 'muted' && local) { for (const tr of local.getAudioTracks()) tr.enabled = false; micBtn.setAttribute('aria-pressed', 'true'); }
    },
  });

  const nameOf = (pid) => { const p = session.participants().find((x) => x.id === pid); return p ? p.name || p.user || pid : pid || '?'; };

  function update(s) {
    const room = s.room || {};
    title.textContent = room.name || t('room.meeting');
    if (room.ended) clear(banner).append(h('div.banner', t('room.endedMsg')));
    people.render(s.participants(), { me: s.me });
    const want = [];
    for (const p of s.participants()) {
      if (s.isMe(p)) continue;
      for (const st of p.streams || []) if (!/~/.test(st)) want.push({ stream: st, participant: p });
    }
    s.sync(want, (stream, ms, p) => {
      let c = cells.get(stream);
      if (!c) { c = peerCell(p.name || p.user || p.id, { stream }); cells.set(stream, c); grid.append(c.el); }
      c.set(ms);
    }, (stream) => { const c = cells.get(stream); if (c) { c.el.remove(); cells.delete(stream); } });
  }

  function toggle(kind, b) {
    if (!local) return;
    const tracks = kind === 'audio' ? local.getAudioTracks() : local.getVideoTracks();
    const off = tracks.some((tr) => tr.enabled);
    for (const tr of tracks) tr.enabled = !off;
    b.setAttribute('aria-pressed', String(off));
  }

  // share swaps the published camera for the screen (and back).
  async function share() {
    const sender = session.pub && session.pub.pc.getSenders().find((x) => x.track && x.track.kind === 'video');
    if (screen) {
      for (const tr of screen.getTracks()) tr.stop();
      screen = null;
      if (sender && local) await sender.replaceTrack(local.getVideoTracks()[0] || null);
      if (local) me.set(local);
      me.el.classList.remove('screen');
      shareBtn.setAttribute('aria-pressed', 'false');
      return;
    }
    screen = await screenMedia();
    if (!screen) return;
    const track = screen.getVideoTracks()[0];
    track.addEventListener('ended', () => { if (screen) share(); });
    if (sender) await sender.replaceTrack(track);
    me.set(screen);
    me.el.classList.add('screen');
    shareBtn.setAttribute('aria-pressed', 'true');
  }

  async function record() {
    try {
      if (recording) {
        await del('/api/v1/recordings/' + encodeURIComponent(recording));
        recording = '';
        recBtn.setAttribute('aria-pressed', 'false');
        recBtn.textContent = t('room.record');
      } else {
        const r = await post('/api/v1/recordings', { room: id });
        recording = r.id;
        recBtn.setAttribute('aria-pressed', 'true');
        recBtn.textContent = t('room.stopRecord');
        toast(t('room.recording'), 'ok');
      }
    } catch (e) { toast(e.message, 'error'); }
  }

  function leave() {
    cleanup();
    if (guest) clear(root).append(h('section.page.notice', h('h2', t('room.left')), h('p', t('room.leftBody'))));
    else ctx.navigate('/meeting');
  }
  async function end() {
    if (!(await confirmDialog(t('room.end'), t('room.endBody'), true))) return;
    await session.end();
    leave();
  }

  async function start() {
    try {
      await session.open();
    } catch (e) {
      clear(banner).append(unavailableBanner(e, h('p.muted', t('room.previewOnly'))));
      chat.el.querySelectorAll('input, button').forEach((x) => { x.disabled = true; });
      controls.querySelectorAll('button:not([data-testid=leave])').forEach((b) => { if (!['mic-toggle', 'cam-toggle'].includes(b.dataset.testid)) b.disabled = true; });
      const m = await localMedia();
      if (!alive) { if (m.stream) m.stream.getTracks().forEach((tr) => tr.stop()); return; }
      if (m.stream) { local = m.stream; me.set(local); }
      return;
    }
    const m = await localMedia();
    if (!alive) { if (m.stream) m.stream.getTracks().forEach((tr) => tr.stop()); return; }
    if (!m.stream) { clear(banner).append(h('div.banner', { testid: 'media-error' }, m.error, ' ', t('room.watchOnly'))); return; }
    local = m.stream;
    me.set(local);
    try {
      await session.publish(local);
      session.refresh();
    } catch (e) {
      clear(banner).append(unavailableBanner(e, h('p.muted', t('room.publishFailed'))));
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
    roomStats: async () => {
      const out = {};
      for (const [s, c] of cells) out[s] = { width: c.video.videoWidth, height: c.video.videoHeight, time: c.video.currentTime };
      return out;
    },
    roomPublished: () => !!session.pub,
  });
  return cleanup;
}
