// Pieces shared by the meeting and class pages: video cells, the chat
// panel, the participant list, the room list with its create form, and
// the notice shown when the hub has no rooms API yet.
import { h, clear, fmtTime, toast, formDialog } from './dom.js';
import { t, label } from './i18n.js';
import { unavailable, withToken } from './api.js';
import { listRooms, startMeeting, invite } from './rooms.js';

export function peerCell(name, { local = false, testid = 'peer', stream = '' } = {}) {
  const video = h('video', { autoplay: true, playsInline: true, muted: local, testid: 'peer-video' });
  video.muted = local;
  const el = h('div.peer' + (local ? '.local' : ''), { testid, dataset: { stream } }, video, h('span.peer-name', name));
  return { el, video, set(ms) { if (video.srcObject !== ms) video.srcObject = ms; video.play().catch(() => {}); } };
}

export function unavailableBanner(e, extra) {
  const off = unavailable(e) || (e && e.status === 404);
  return h('div.banner' + (off ? '' : '.error'), { testid: 'room-unavailable', role: 'status' },
    h('b', off ? t('room.unavailableTitle') : t('err.title')), h('p', { style: { margin: '.3rem 0 0' } }, off ? t('room.unavailable') : e.message), extra || null);
}

export function chatPanel(onSend) {
  const log = h('ul.chat-log', { testid: 'chat-log', 'aria-live': 'polite' });
  const input = h('input', { testid: 'chat-input', placeholder: t('room.chatHint'), 'aria-label': t('room.chat'), maxlength: 500 });
  const form = h('form', { onsubmit: (e) => { e.preventDefault(); const v = input.value.trim(); if (!v) return; if (onSend(v) === false) toast(t('room.noSignal'), 'warn'); else input.value = ''; } },
    input, h('button', { type: 'submit', testid: 'chat-send' }, t('room.send')));
  const el = h('section.panel.chat', { testid: 'chat' }, h('h3', t('room.chat')), log, form);
  return { el, add(from, text, at) { log.append(h('li', h('b', from), text, ' ', h('span.dim', fmtTime(at || new Date(), false)))); log.scrollTop = log.scrollHeight; } };
}

export function peopleList(title) {
  const ul = h('ul.people', { testid: 'participants' });
  const count = h('span.tag');
  const el = h('section.panel', h('h3', title, count), ul);
  return {
    el,
    render(list, { me, actions } = {}) {
      count.textContent = String(list.length);
      clear(ul).append(...list.map((p) => h('li', { testid: 'participant', dataset: { participant: p.id, role: p.role || '', hand: p.hand ? '1' : '' } },
        h('span.dot' + (p.connected === false ? '.off' : '.on')), h('span.grow', p.name || p.user || p.id, p.id === me ? ' ' + t('room.me') : ''),
        p.hand ? h('span.hand', { title: t('room.handUp') }, '✋') : null, p.camera ? h('span.tag', t('room.camera')) : h('span.tag', label('role', p.role)),
        p.joined ? h('span.dim', fmtTime(p.joined, false)) : null, actions ? actions(p) : null)));
      if (!list.length) ul.append(h('li.muted', t('room.nobody')));
    },
  };
}

// roomIndex is the page at /meeting or /class: the rooms of that kind and
// a form to open one.
export function roomIndex(root, ctx, kind, canCreate) {
  const list = h('div.panel', { style: { padding: 0 } }, h('p.muted', { style: { padding: '1rem' } }, t('loading')));
  const page = h('section.page', { testid: kind === 'class' ? 'page-classes' : 'page-' + kind + 's' },
    h('div.page-head', h('h2', t(kind === 'class' ? 'nav.class' : 'nav.meeting')), h('span.grow'),
      canCreate ? h('button.primary', { type: 'button', testid: 'room-create', onclick: create }, '+ ' + t('room.new.' + kind)) : null),
    list);
  clear(root).append(page);
  async function create() {
    const v = await formDialog({ title: t('room.new.' + kind), testid: 'room-dialog', fields: [
      { name: 'name', label: t('room.name'), required: true }, kind === 'meeting' ? { name: 'case', label: t('room.case'), placeholder: '140105…' } : null].filter(Boolean) });
    if (!v) return;
    const room = await startMeeting({ kind, name: v.name, ...(v.case ? { case: v.case } : {}) });
    if (room) ctx.navigate(`/${kind}/${encodeURIComponent(room.id)}`);
  }
  listRooms().then((rooms) => {
    rooms = rooms.filter((r) => !r.kind || r.kind === kind);
    clear(list).append(h('table.grid', { testid: 'room-table' },
      h('thead', h('tr', [t('room.name'), t('room.host'), t('room.people'), t('case.created'), ''].map((x) => h('th', x)))),
      h('tbody', rooms.length ? rooms.map((r) => h('tr', { testid: 'room-row', dataset: { room: r.id } },
        h('td', h('a', { href: `/${kind}/${encodeURIComponent(r.id)}` }, r.name || r.id), r.case ? h('div', h('a.mono', { href: '/cases/' + r.case }, r.case)) : null),
        h('td', r.host || '—'), h('td', String((r.participants || []).length)), h('td', fmtTime(r.created)),
        h('td', r.ended ? h('span.badge', t('room.ended')) : h('a.btn', { href: `/${kind}/${encodeURIComponent(r.id)}` }, t('room.join')))))
        : h('tr', h('td.empty', { colspan: 5 }, t('room.none'))))));
  }).catch((e) => clear(list).append(unavailableBanner(e)));
}

export async function inviteDialog(roomId, kind) {
  const v = await formDialog({ title: t('room.invite'), testid: 'invite-dialog', fields: [
    { name: 'name', label: t('room.guestName'), required: true },
    { name: 'role', label: t('admin.role'), type: 'select', required: true, value: kind === 'class' ? 'viewer' : 'participant',
      options: ['participant', 'viewer'].map((r) => ({ value: r, label: label('role', r) })) }] });
  if (!v) return;
  try {
    const r = await invite(roomId, v.name, v.role);
    await formDialog({ title: t('room.inviteLink'), testid: 'invite-link', fields: [{ name: 'url', label: t('room.copyLink'), value: r.url }] });
  } catch (e) {
    toast(unavailable(e) ? t('room.inviteUnavailable') : e.message, 'warn');
  }
}

export function attendanceLink(roomId) {
  return h('a', { href: withToken(`/api/v1/rooms/${encodeURIComponent(roomId)}/attendance.csv`), download: `attendance-${roomId}.csv`, testid: 'attendance-csv' }, t('room.attendanceCsv'));
}

// trackCells keeps one video cell per remote stream of a room page
// (streamOf(label) → {stream, participant}, as RoomSession.streamOf):
// show(label, ms) adds or refreshes the cell of the track with that msid
// label in container, dropLabel(label) removes it. cells maps stream id →
// {cell, label, participant} for the page's own bookkeeping.
export function trackCells(streamOf, container) {
  const cells = new Map();
  return {
    cells,
    show(label, ms) {
      const { stream, participant } = streamOf(label);
      let c = cells.get(stream);
      if (!c) {
        c = { cell: peerCell(participant.name || participant.id, { stream }), label, participant: participant.id };
        c.cell.el.dataset.participant = participant.id;
        cells.set(stream, c);
        container.append(c.cell.el);
      }
      c.label = label;
      c.cell.set(ms);
    },
    dropLabel(label) {
      for (const [s, c] of cells) if (c.label === label) { c.cell.el.remove(); cells.delete(s); }
    },
  };
}
