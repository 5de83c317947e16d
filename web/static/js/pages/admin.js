// Administration: users (create, edit, disable, delete), departments,
// case types with their time limits (admins edit them; the hub config
// seeds them), devices (admin-devices.js) and the audit log.
import { h, clear, fmtTime, toast, formDialog, confirmDialog } from '../dom.js';
import { t, label } from '../i18n.js';
import { get, post, put, patch, del, unavailable } from '../api.js';
import { caseTypes, departments } from '../refdata.js';
import { devicesTab } from './admin-devices.js';

const TABS = ['users', 'departments', 'case-types', 'devices', 'audit'];
const ROLES = ['admin', 'operator', 'leader', 'mediator', 'trainer', 'trainee', 'grid', 'integration'];
const STAGES = ['accept', 'route', 'checkin', 'handle', 'report', 'followup'];

export default function adminPage(root, ctx) {
  const tab = TABS.includes(ctx.params.tab) ? ctx.params.tab : 'users';
  const body = h('div', { testid: 'admin-' + tab });
  clear(root).append(h('section.page', { testid: 'page-admin' },
    h('div.page-head', h('h2', t('nav.admin'))),
    h('nav.tabs', { 'aria-label': t('nav.admin') }, TABS.map((x) => h('a', { href: '/admin/' + x, testid: 'admin-tab-' + x, 'aria-current': x === tab ? 'page' : null }, t('admin.' + x)))),
    body));
  const tabs = { users: usersTab, departments: departmentsTab, 'case-types': caseTypesTab, devices: devicesTab, audit: auditTab };
  return tabs[tab](body, ctx);
}

export function errorLine(box, e) {
  clear(box).append(h('p.muted', { testid: 'admin-error' }, unavailable(e) ? t('err.unavailable') : t('err.load', { e: e.message })));
}

function usersTab(box, ctx) {
  const list = h('div.panel', { style: { padding: 0, overflow: 'auto' } });
  clear(box).append(h('div.toolbar', { style: { marginBottom: '.7rem' } }, h('button.primary', { type: 'button', testid: 'user-create', onclick: create }, '+ ' + t('admin.newUser'))), list);

  async function load() {
    let users;
    try { users = (await get('/api/v1/users')).users || []; } catch (e) { errorLine(list, e); return; }
    clear(list).append(h('table.grid', { testid: 'user-table' },
      h('thead', h('tr', [t('login.username'), t('admin.role'), t('case.region'), t('admin.status'), t('case.created'), t('admin.pwChanged'), t('actions')].map((x) => h('th', x)))),
      h('tbody', users.map((u) => h('tr', { testid: 'user-row', dataset: { username: u.username } },
        h('td', h('b', u.username)), h('td', label('role', u.role)), h('td', u.region || t('admin.allRegions')),
        h('td', u.disabled ? h('span.badge.red', t('admin.disabled')) : h('span.badge.green', t('admin.enabled'))),
        h('td', fmtTime(u.created)), h('td', fmtTime(u.password_changed)),
        h('td.actions', h('button.small', { type: 'button', testid: 'user-edit', onclick: () => edit(u) }, t('edit')),
          h('button.small', { type: 'button', testid: 'user-toggle', onclick: () => toggle(u) }, u.disabled ? t('admin.enable') : t('admin.disable')),
          h('button.small.danger', { type: 'button', testid: 'user-delete', onclick: () => remove(u) }, t('delete'))))))));
  }

  const roleField = (v) => ({ name: 'role', label: t('admin.role'), type: 'select', required: true, value: v, options: ROLES.map((r) => ({ value: r, label: label('role', r) })) });
  const regionField = (v) => ({ name: 'region', label: t('admin.regionScope'), value: v || '', placeholder: t('admin.regionHint') });

  async function create() {
    const v = await formDialog({ title: t('admin.newUser'), testid: 'user-dialog', fields: [
      { name: 'username', label: t('login.username'), required: true }, { name: 'password', label: t('login.password'), type: 'password', required: true, autocomplete: 'new-password' },
      roleField('operator'), regionField('')] });
    if (!v) return;
    try { await post('/api/v1/users', v); toast(t('admin.saved'), 'ok'); load(); } catch (e) { toast(e.message, 'error'); }
  }
  async function edit(u) {
    const v = await formDialog({ title: t('edit') + ' · ' + u.username, testid: 'user-dialog', fields: [
      roleField(u.role), regionField(u.region), { name: 'password', label: t('admin.newPassword'), type: 'password', autocomplete: 'new-password', placeholder: t('admin.keepPassword') }] });
    if (!v) return;
    const body = { role: v.role, region: v.region };
    if (v.password) body.password = v.password;
    try { await patch('/api/v1/users/' + encodeURIComponent(u.username), body); toast(t('admin.saved'), 'ok'); load(); } catch (e) { toast(e.message, 'error'); }
  }
  async function toggle(u) {
    try { await patch('/api/v1/users/' + encodeURIComponent(u.username), { disabled: !u.disabled }); load(); } catch (e) { toast(e.message, 'error'); }
  }
  async function remove(u) {
    if (!(await confirmDialog(t('delete'), t('admin.deleteUser', { u: u.username }), true))) return;
    try { await del('/api/v1/users/' + encodeURIComponent(u.username)); load(); } catch (e) { toast(e.message, 'error'); }
  }
  load();
}

function departmentsTab(box, ctx) {
  const list = h('div.panel', { style: { padding: 0, overflow: 'auto' } });
  const can = ['admin', 'leader'].includes(ctx.user.role);
  clear(box).append(h('div.toolbar', { style: { marginBottom: '.7rem' } },
    can ? h('button.primary', { type: 'button', testid: 'department-create', onclick: create }, '+ ' + t('admin.newDepartment')) : null), list);
  async function load(force) {
    const ds = await departments(force);
    clear(list).append(h('table.grid', { testid: 'department-table' },
      h('thead', h('tr', [t('admin.deptId'), t('dept.name'), t('case.region'), t('case.created')].map((x) => h('th', x)))),
      h('tbody', ds.length ? ds.map((d) => h('tr', { testid: 'department-row', dataset: { department: d.id } }, h('td.mono', d.id), h('td', d.name), h('td', d.region), h('td', fmtTime(d.created))))
        : h('tr', h('td.empty', { colspan: 4 }, t('none'))))));
  }
  async function create() {
    const v = await formDialog({ title: t('admin.newDepartment'), testid: 'department-dialog', fields: [
      { name: 'id', label: t('admin.deptId'), required: true, placeholder: 'police-140105' }, { name: 'name', label: t('dept.name'), required: true },
      { name: 'region', label: t('case.region'), required: true, value: ctx.user.region || '' }] });
    if (!v) return;
    try { await post('/api/v1/departments', v); toast(t('admin.saved'), 'ok'); load(true); } catch (e) { toast(e.message, 'error'); }
  }
  load(false);
}

// caseTypesTab lists the case types with their stage limits; admins
// create types and edit names, limits and the active flag. A change only
// moves the deadlines of cases registered afterwards.
function caseTypesTab(box, ctx) {
  const list = h('div.panel', { style: { padding: 0, overflow: 'auto' } });
  const canEdit = ctx.user.role === 'admin';
  clear(box).append(h('p.muted', t('admin.caseTypesNote')),
    canEdit ? h('div.toolbar', { style: { marginBottom: '.7rem' } }, h('button.primary', { type: 'button', testid: 'case-type-create', onclick: () => edit(null) }, '+ ' + t('admin.newCaseType'))) : null,
    list);

  async function load() {
    const types = await caseTypes(true);
    const cols = 5 + STAGES.length;
    clear(list).append(h('table.grid', { testid: 'case-type-table' },
      h('thead', h('tr', h('th', t('admin.typeId')), h('th', t('admin.typeName')), STAGES.map((s) => h('th', label('stage', s))),
        h('th', t('admin.typeActive')), h('th', t('admin.updatedBy')), h('th', t('actions')))),
      h('tbody', types.length ? types.map((x) => h('tr', { testid: 'case-type-row', dataset: { type: x.id, active: String(x.active !== false), version: String(x.version || 0) } },
        h('td.mono', x.id), h('td', x.name, x.name_en ? h('div.dim', x.name_en) : null),
        STAGES.map((s) => h('td.mono', { dataset: { stage: s } }, fmtDuration((x.limits || {})[s]))),
        h('td', x.active === false ? h('span.badge', t('admin.disabled')) : h('span.badge.green', t('admin.enabled'))),
        h('td', x.version ? [fmtTime(x.updated), h('div.dim', x.updated_by || '')] : h('span.dim', t('admin.fromConfig'))),
        h('td.actions', canEdit ? h('button.small', { type: 'button', testid: 'case-type-edit', onclick: () => edit(x) }, t('edit')) : null)))
        : h('tr', h('td.empty', { colspan: cols }, t('err.unavailable'))))));
  }

  async function edit(x) {
    const limits = (x && x.limits) || {};
    const fields = [
      x ? null : { name: 'id', label: t('admin.typeId'), required: true, placeholder: t('admin.typeIdHint') },
      { name: 'name', label: t('admin.typeNameZh'), required: true, value: x ? x.name : '' },
      { name: 'name_en', label: t('admin.typeNameEn'), value: x ? x.name_en || '' : '' },
      ...STAGES.map((s) => ({ name: 'limit-' + s, label: t('admin.limitOf', { s: label('stage', s) }), value: limits[s] ? fmtDuration(limits[s]) : '', placeholder: t('admin.limitHint') })),
      { name: 'active', label: t('admin.typeActive'), type: 'select', required: true, value: x && x.active === false ? 'no' : 'yes',
        options: [{ value: 'yes', label: t('admin.typeActiveYes') }, { value: 'no', label: t('admin.typeActiveNo') }] },
    ].filter(Boolean);
    const v = await formDialog({ title: x ? t('edit') + ' · ' + (x.name || x.id) : t('admin.newCaseType'), testid: 'case-type-dialog', fields,
      validate: (o) => {
        if (!x && !/^[a-z0-9_-]{1,32}$/.test(o.id)) return t('admin.typeIdHint');
        const bad = STAGES.find((s) => o['limit-' + s] && !DURATION.test(o['limit-' + s]));
        return bad ? t('admin.badLimit', { s: label('stage', bad) }) : '';
      } });
    if (!v) return;
    const id = x ? x.id : v.id;
    const body = { id, name: v.name, name_en: v.name_en, active: v.active === 'yes', limits: {}, version: x ? x.version || 0 : 0 };
    for (const s of STAGES) if (v['limit-' + s]) body.limits[s] = v['limit-' + s];
    try {
      if (x) await put('/api/v1/case-types/' + encodeURIComponent(id), body); else await post('/api/v1/case-types', body);
      toast(t('admin.saved'), 'ok');
    } catch (e) {
      toast(e.status === 409 ? t('admin.typeChanged') : e.message, 'error');
    }
    load();
  }
  load();
}

// DURATION is what the hub accepts for a limit: Go durations or whole days.
const DURATION = /^(\d+d|(\d+(\.\d+)?(h|m|s|ms))+)$/;

// fmtDuration turns Go durations ("72h0m0s") into "72h" / "1h30m".
export function fmtDuration(s) {
  if (!s) return '—';
  return String(s).replace(/(\d)h0m0s$/, '$1h').replace(/(\d)m0s$/, '$1m').replace(/^0s$/, '—');
}

function auditTab(box) {
  const list = h('div.panel', { style: { padding: 0, overflow: 'auto' } });
  clear(box).append(list);
  get('/api/v1/audit?limit=200').then((r) => {
    const es = r.entries || [];
    clear(list).append(h('table.grid', { testid: 'audit-table' },
      h('thead', h('tr', [t('admin.time'), t('admin.actor'), t('admin.action'), t('admin.target'), t('case.region'), t('admin.source'), t('admin.detail')].map((x) => h('th', x)))),
      h('tbody', es.map((e) => h('tr', h('td', fmtTime(e.time)), h('td', e.actor), h('td.mono', e.action), h('td.mono', e.target), h('td', e.region || ''), h('td.mono', e.source || ''), h('td', e.detail || ''))))));
  }).catch((e) => errorLine(list, e));
}
