// The case file (一案一码): details, the transition buttons this user may
// use now (with reason dialogs where required, the version sent with each
// and a 409 answered by reloading), departments with their check-in
// status, timeline, parties, evidence with playable recordings, the QR
// code, the case's incidents and a button that starts a mediation meeting.
import { h, clear, fmtTime, fmtLeft, toast, formDialog, confirmDialog, debounce } from '../dom.js';
import { t, label } from '../i18n.js';
import { get, post, withToken, unavailable, missing } from '../api.js';
import { subscribe } from '../ws.js';
import { allowed, deptActions, fields, request, actionClass, CASE_ACTIONS, TERMINAL } from '../workflow.js';
import { caseTypes, departments, typeName, deptName, stateBadge, colourBadge } from '../refdata.js';
import { startMeeting } from '../rooms.js';

const ONE_CLICK = ['accept', 'checkin', 'start', 'finish', 'handle', 'report', 'resume'];

export default function casePage(root, ctx) {
  const code = ctx.params.code;
  const role = ctx.user.role;
  let c = null;
  let types = [];
  let depts = [];
  let incidents = [];
  let alive = true;
  let busy = false;
  const page = h('section.page', { testid: 'page-case', dataset: { code } }, h('p.muted', t('loading')));
  clear(root).append(page);

  async function load() {
    try {
      const [cc, tl, dl] = await Promise.all([get('/api/v1/cases/' + encodeURIComponent(code)), caseTypes(), departments()]);
      if (!alive) return;
      c = cc; types = tl; depts = dl;
      render();
      loadIncidents();
    } catch (e) {
      if (!alive) return;
      clear(page).append(h('div.notice', h('h2', missing(e) && !unavailable(e) ? t('case.notFound') : t('err.title')),
        h('p', missing(e) ? t('case.notFoundBody', { c: code }) : e.message), h('p', h('a', { href: '/cases' }, t('back')))));
    }
  }

  async function loadIncidents() {
    if (!['admin', 'operator', 'leader', 'mediator'].includes(role)) return;
    try {
      const r = await get('/api/v1/incidents?state=all&limit=500');
      incidents = (r.incidents || []).filter((x) => x.case === code);
    } catch { incidents = []; }
    if (alive && c) renderIncidents();
  }

  async function act(action, department) {
    if (busy || !c) return;
    let values = {};
    if (!ONE_CLICK.includes(action)) {
      const fs = fields(action, { departments: depts });
      values = await formDialog({ title: t('act.' + action) + ' · ' + c.code, fields: fs, submit: t('act.' + action), testid: 'transition-dialog' });
      if (!values) return;
    }
    busy = true;
    try {
      const r = await post(`/api/v1/cases/${encodeURIComponent(code)}/transitions`, request(action, c.version, values, department));
      c = r;
      toast(t('case.done', { a: t('act.' + action) }), 'ok', 2500);
      render();
    } catch (e) {
      if (e.status === 409) {
        toast(e.code === 'stale' ? t('case.stale') : t('case.notAllowed', { e: e.message }), 'warn');
        await load();
      } else toast(e.message, 'error');
    } finally { busy = false; }
  }

  function render() {
    const ok = allowed(c, role);
    const buttons = CASE_ACTIONS.filter((a) => ok.includes(a)).map((a) =>
      h('button' + (actionClass(a) ? '.' + actionClass(a) : ''), { type: 'button', testid: 'transition', dataset: { action: a }, onclick: () => act(a) }, t('act.' + a)));
    const canMeet = ['admin', 'operator', 'leader', 'mediator'].includes(role) && !TERMINAL.includes(c.state);
    if (canMeet) buttons.push(h('button', { type: 'button', testid: 'start-meeting', onclick: meeting }, t('case.startMeeting')));
    const head = h('div.panel',
      h('div.case-title', h('h2', { style: { margin: 0 }, testid: 'case-title' }, c.title || c.code),
        h('span', { testid: 'case-state' }, stateBadge(c.state)), h('span', { testid: 'case-colour' }, colourBadge(c.colour, c.suspended)),
        c.suspended ? h('span.badge', t('case.suspended')) : null),
      h('p.muted.mono', { testid: 'case-code' }, c.code, ' · v', h('span', { testid: 'case-version' }, String(c.version))),
      h('div.actions', { testid: 'case-actions' }, buttons.length ? buttons : h('span.muted', t('case.noActions'))));
    const details = h('div.panel', h('h3', t('case.details')), h('dl.kv',
      kv('case.type', typeName(types, c.type)), kv('case.source', label('source', c.source)),
      kv('case.region', c.region + (c.escalated_to ? ` → ${c.escalated_to}` : '')), kv('case.level', label('level', c.level)),
      kv('case.stage', label('stage', c.stage)), kv('case.deadline', c.deadline ? `${fmtTime(c.deadline)} (${fmtLeft(c.deadline)})` : '—'),
      kv('case.address', (c.location && c.location.address) || '—'),
      c.location && (c.location.lat || c.location.lon) ? kv('case.coords', `${c.location.lat}, ${c.location.lon}`) : null,
      kv('case.urgency', label('urgency', c.urgency)), c.external_id ? kv('case.externalId', c.external_id) : null,
      c.reporter ? kv('case.reporter', `${c.reporter.name || ''} ${c.reporter.phone || ''}`) : null,
      c.satisfaction ? kv('case.satisfaction', t('sat.' + c.satisfaction)) : null,
      c.merged_into ? kv('case.mergedInto', h('a', { href: '/cases/' + c.merged_into }, c.merged_into)) : null,
      kv('case.created', fmtTime(c.created)), kv('case.updated', fmtTime(c.updated))),
    c.description ? h('p', { style: { whiteSpace: 'pre-wrap' } }, c.description) : null);
    const deptRows = (c.departments || []).map((a) => h('tr', { testid: 'dept-row', dataset: { department: a.department, state: a.state } },
      h('td', deptName(depts, a.department)),
      h('td', h('span.badge.dept-state', { testid: 'dept-state', dataset: { state: a.state } }, label('dept', a.state))),
      h('td', fmtTime(a.routed_at)), h('td', fmtTime(a.checked_in_at)), h('td', fmtTime(a.finished_at)),
      h('td', a.reason ? h('span.muted', a.reason) : null,
        deptActions(c, role, a).map((x) => h('button.small' + (actionClass(x) === 'danger' ? '.danger' : ''), {
          type: 'button', testid: 'dept-action', dataset: { action: x, department: a.department }, onclick: () => act(x, a.department) }, t('act.' + x))))));
    const deptPanel = h('div.panel', { testid: 'case-departments' }, h('h3', t('case.departments')),
      deptRows.length ? h('table.grid', h('thead', h('tr', [t('dept.name'), t('case.state'), t('dept.routed'), t('dept.checkedIn'), t('dept.finished'), ''].map((x) => h('th', x)))), h('tbody', deptRows))
        : h('p.muted', t('case.noDepartments')));
    const timeline = h('div.panel', h('h3', t('case.timeline')), h('ol.timeline', { testid: 'case-timeline' },
      [...(c.timeline || [])].reverse().map((e) => h('li', { testid: 'timeline-entry', dataset: { action: e.action } },
        h('div.when', fmtTime(e.at)),
        h('div', h('b', label('act', e.action)), ' · ', e.actor || '—',
          e.from || e.to ? h('span.muted', ` ${label('state', e.from)} → ${label('state', e.to)}`) : null,
          e.department ? h('span.muted', ' · ' + deptName(depts, e.department)) : null),
        e.note ? h('div.muted', e.note) : null))));
    const qr = h('div.panel', h('h3', t('case.qr')), h('img.qr', { src: withToken(`/api/v1/cases/${encodeURIComponent(code)}/qr.png`), alt: t('case.qrAlt', { c: code }), testid: 'case-qr',
      onerror: (e) => { e.target.replaceWith(h('p.muted', t('case.qrMissing'))); } }), h('p.muted.mono', { style: { fontSize: '.8rem' } }, location.origin + '/cases/' + code));
    const parties = h('div.panel.parties', h('h3', t('case.parties')), (c.parties || []).length
      ? h('ul', { testid: 'case-parties' }, c.parties.map((p) => h('li', h('b', p.name), ' ', h('span.tag', label('party', p.role)), p.contact ? h('span.muted', ' ' + p.contact) : null)))
      : h('p.muted', t('none')));
    const evidence = h('div.panel.evidence', h('h3', t('case.evidence')), evidenceList());
    incidentsBox = h('div.panel', { testid: 'case-incidents' });
    clear(page).append(h('div.page-head', h('a', { href: '/cases' }, '← ' + t('cases.title'))),
      h('div.case-layout', h('div', head, details, deptPanel, timeline), h('div', qr, incidentsBox, parties, evidence)));
    renderIncidents();
  }

  let incidentsBox = null;
  function renderIncidents() {
    if (!incidentsBox) return;
    const can = ['admin', 'operator', 'leader'].includes(role) && !TERMINAL.includes(c.state);
    clear(incidentsBox).append(h('h3', t('nav.incidents')),
      incidents.length ? h('ul', incidents.map((x) => h('li', h('a', { href: '/incidents/' + encodeURIComponent(x.id), testid: 'incident-link' }, x.id),
        ' ', h('span.badge', label('incstate', x.state)), ' ', h('span.muted', t('incident.severityN', { n: x.severity })))))
        : h('p.muted', t('incident.none')),
      can ? h('button', { type: 'button', testid: 'open-incident', onclick: openIncident }, t('incident.open')) : null);
  }

  function evidenceList() {
    const ev = c.evidence || [];
    if (!ev.length) return h('p.muted', t('none'));
    return h('ul', { testid: 'case-evidence' }, ev.map((e) => {
      let body;
      if (e.kind === 'recording') {
        body = h('video', { controls: true, preload: 'metadata', src: withToken('/api/v1/recordings/' + encodeURIComponent(e.ref) + '/file'), testid: 'evidence-recording' });
      } else if (e.kind === 'snapshot') {
        body = /^(\/|data:image\/)/.test(e.ref) ? h('img', { src: e.ref.startsWith('/') ? withToken(e.ref) : e.ref, alt: e.note || t('evidence.snapshot'), style: { maxWidth: '100%' } }) : h('span.mono', e.ref);
      } else if (e.kind === 'stream') {
        body = h('a', { href: '/wall', onclick: () => pinToWall(e.ref) }, e.ref);
      } else body = h('span.mono', e.ref);
      return h('li', { testid: 'evidence-item', dataset: { kind: e.kind } }, h('div', h('span.tag', label('evidence', e.kind)), ' ', e.note || '', ' ', h('span.muted', fmtTime(e.at))), body);
    }));
  }

  function pinToWall(stream) {
    try {
      const key = `pingan.wall.${ctx.user.username}`;
      const v = JSON.parse(localStorage.getItem(key) || '{}');
      const cur = v.current || { size: 4, tiles: [] };
      const i = Math.max(0, (cur.tiles || []).findIndex((x) => !x));
      cur.tiles[i < cur.size ? i : 0] = { stream, label: stream };
      v.current = cur;
      localStorage.setItem(key, JSON.stringify(v));
    } catch { /* storage denied */ }
  }

  async function openIncident() {
    const v = await formDialog({ title: t('incident.open'), testid: 'incident-dialog', fields: [
      { name: 'severity', label: t('incident.severity'), type: 'select', required: true, value: '4', options: [1, 2, 3, 4].map((n) => ({ value: String(n), label: t('severity.' + n) })) }],
    submit: t('incident.open') });
    if (!v) return;
    try {
      const inc = await post('/api/v1/incidents', { case: code, severity: Number(v.severity), location: c.location });
      ctx.navigate('/incidents/' + encodeURIComponent(inc.id));
    } catch (e) { toast(unavailable(e) ? t('err.unavailable') : e.message, 'error'); }
  }

  async function meeting() {
    if (!(await confirmDialog(t('case.startMeeting'), t('case.startMeetingBody', { c: c.title || code })))) return;
    const room = await startMeeting({ kind: 'meeting', name: c.title || code, case: code });
    if (room) ctx.navigate('/meeting/' + encodeURIComponent(room.id));
  }

  const kv = (k, v) => [h('dt', t(k)), h('dd', v ?? '—')];
  const reload = debounce(load, 300);
  const unsub = subscribe('case:' + code, (ev) => { if (!c || !ev.version || ev.version > c.version || ev.type === 'case.colour') reload(); }, reload);
  load();
  ctx.expose({ caseVersion: () => (c ? c.version : 0), caseState: () => (c ? { state: c.state, colour: c.colour, version: c.version } : null), transition: act });
  return () => { alive = false; unsub(); };
}

