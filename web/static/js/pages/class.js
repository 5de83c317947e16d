// The class page (/class/{id}). A trainer broadcasts camera and/or screen
// over WHIP and sees attendance and raised hands; a trainee watches the
// presenters over WHEP, raises a hand and chats. /class lists classes.
import { h, clear, toast } from '../dom.js';
import { t } from '../i18n.js';
import { RoomSession, localMedia, screenMedia } from '../rooms.js';
import { peerCell, unavailableBanner, chatPanel, peopleList, roomIndex, inviteDialog, attendanceLink } from '../roomui.js';

const PRESENTERS = ['admin', 'leader', 'trainer'];

export default function classPage(root, ctx) {
  if (!ctx.params.id) return roomIndex(root, ctx, 'class', PRESENTERS.includes(ctx.user.role));
  const id = ctx.params.id;
  const presenter = ctx.user.kind !== 'guest' && PRESENTERS.includes(ctx.user.role);
  let cam = null;
  let screen = null;
  let hand = false;
  let alive = true;
  const cells = new Map();
  const stage = h('div.room-grid', { testid: 'class-stage' });
  const banner = h('div');
  const title = h('h2', { style: { margin: 0 } }, t('room.class'));
  const chat = chatPanel((text) => { const ok = session.chat(text); if (ok) chat.add(t('room.me'), text); return ok; });
  const people = peopleList(presenter ? t('room.attendance') : t('room.participants'));
  const hands = h('ul.people', { testid: 'raised-hands' });
  const preview = peerCell(t('room.me'), { local: true, testid: 'local-video' });
  const btn = (testid, text, fn, cls = '') => h('button' + cls, { type: 'button', testid, onclick: fn, 'aria-pressed': 'false' }, text);
  const camBtn = btn('broadcast-camera', t('class.camera'), () => broadcast('camera'));
  const screenBtn = btn('broadcast-screen', t('class.screen'), () => broadcast('screen'));
  const stopBtn = btn('broadcast-stop', t('class.stop'), stop, '.danger');
  const handBtn = btn('raise-hand', t('class.raiseHand'), raise);
  const controls = h('div.room-controls', { testid: 'room-controls' },
    presenter ? [camBtn, screenBtn, stopBtn, btn('invite', t('room.invite'), () => inviteDialog(id, 'class'))] : handBtn,
    btn('leave', t('room.leave'), () => { cleanup(); ctx.navigate(ctx.user.kind === 'guest' ? '/login' : '/class'); }));
  const side = presenter
    ? [h('section.panel', h('h3', t('class.hands')), hands), people.el, h('p', attendanceLink(id)), chat.el]
    : [people.el, chat.el];
  clear(root).append(h('div.room-page', { testid: 'page-class', dataset: { room: id, role: presenter ? 'presenter' : 'viewer' } },
    h('section.room-stage', h('div.page-head', { style: { margin: 0 } }, title, h('span.grow'), h('span.badge', presenter ? t('class.presenter') : t('class.viewer'))),
      banner, stage, controls),
    h('aside.room-side', side)));
  if (presenter) { stage.append(preview.el); stopBtn.disabled = true; }

  const session = new RoomSession(id, {
    onUpdate: (s) => update(s),
    onEvent: (ev) => {
      if (ev.type === 'chat' && ev.text) chat.add(nameOf(ev.from), ev.text, ev.time);
      if (ev.type === 'hand') session.refresh();
      if (ev.type === 'floor') toast(ev.value ? t('class.gotFloor') : t('class.lostFloor'), 'ok');
      if (ev.type === 'ended') { toast(t('room.endedMsg'), 'warn'); }
    },
  });
  const nameOf = (pid) => { const p = session.participants().find((x) => x.id === pid); return p ? p.name || p.user || pid : pid || '?'; };

  function update(s) {
    title.textContent = (s.room && s.room.name) || t('room.class');
    const list = s.participants();
    people.render(list, { me: s.me });
    clear(hands).append(...list.filter((p) => p.hand).map((p) => h('li', { testid: 'hand-row', dataset: { participant: p.id } }, h('span.hand', '✋'), h('span.grow', p.name || p.id),
      h('button.small', { type: 'button', testid: 'give-floor', onclick: () => s.host('floor', p.id, true) }, t('class.giveFloor')))));
    if (!hands.children.length) hands.append(h('li.muted', t('class.noHands')));
    // Viewers watch presenters (hosts and whoever has the floor).
    const want = [];
    for (const p of list) {
      if (s.isMe(p) || !(p.role === 'host' || p.floor || p.camera)) continue;
      for (const st of p.streams || []) if (!/~/.test(st)) want.push({ stream: st, participant: p });
    }
    s.sync(want, (stream, ms, p) => {
      let c = cells.get(stream);
      if (!c) { c = peerCell(p.name || p.user || p.id, { stream }); cells.set(stream, c); stage.append(c.el); }
      c.set(ms);
    }, (stream) => { const c = cells.get(stream); if (c) { c.el.remove(); cells.delete(stream); } });
    if (!presenter && !want.length && !stage.querySelector('.waiting')) stage.append(h('p.muted.waiting', { testid: 'class-waiting' }, t('class.waiting')));
    if (want.length) stage.querySelectorAll('.waiting').forEach((x) => x.remove());
  }

  // broadcast publishes the camera (with microphone) or the screen (with
  // the microphone when there is one); switching swaps the video track.
  async function broadcast(kind) {
    let media;
    if (kind === 'camera') {
      if (!cam) { const m = await localMedia(); if (!m.stream) { toast(m.error, 'error'); return; } cam = m.stream; }
      media = cam;
    } else {
      screen = screen || await screenMedia();
      if (!screen) return;
      const mic = cam ? cam.getAudioTracks() : [];
      media = new MediaStream([...screen.getVideoTracks(), ...mic]);
    }
    preview.set(media);
    preview.el.classList.toggle('screen', kind === 'screen');
    const sender = session.pub && session.pub.pc.getSenders().find((x) => x.track && x.track.kind === 'video');
    try {
      if (sender) await sender.replaceTrack(media.getVideoTracks()[0]);
      else await session.publish(media);
      camBtn.setAttribute('aria-pressed', String(kind === 'camera'));
      screenBtn.setAttribute('aria-pressed', String(kind === 'screen'));
      stopBtn.disabled = false;
      session.refresh();
    } catch (e) {
      clear(banner).append(unavailableBanner(e, h('p.muted', t('room.publishFailed'))));
    }
  }

  function stop() {
    session.unpublish();
    for (const s of [cam, screen]) if (s) for (const tr of s.getTracks()) tr.stop();
    cam = screen = null;
    preview.video.srcObject = null;
    camBtn.setAttribute('aria-pressed', 'false');
    screenBtn.setAttribute('aria-pressed', 'false');
    stopBtn.disabled = true;
  }

  function raise() {
    hand = !hand;
    if (session.hand(hand) === false) { hand = !hand; toast(t('room.noSignal'), 'warn'); return; }
    handBtn.setAttribute('aria-pressed', String(hand));
    handBtn.textContent = hand ? t('class.lowerHand') : t('class.raiseHand');
  }

  function cleanup() {
    if (!alive) return;
    alive = false;
    session.close();
    for (const s of [cam, screen]) if (s) for (const tr of s.getTracks()) tr.stop();
  }

  session.open().catch((e) => {
    clear(banner).append(unavailableBanner(e));
    controls.querySelectorAll('button:not([data-testid=leave])').forEach((b) => { b.disabled = true; });
    chat.el.querySelectorAll('input, button').forEach((x) => { x.disabled = true; });
  });
  ctx.expose({ classPeers: () => [...cells.keys()], classHand: () => hand });
  return cleanup;
}
