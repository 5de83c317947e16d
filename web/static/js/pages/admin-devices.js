// Administration → devices: the GB28181 registry with media transport,
// per-device password, name and charset (PATCH /api/v1/devices/{id}),
// catalog refresh and removal, and a form that enters a device before it
// first registers (POST /api/v1/devices).
//
// The list follows the registry by polling: the hub does not broadcast
// device status on the `devices` WebSocket topic yet (the subscription
// below picks it up when it does). Right after a device is added the page
// polls faster, since the installer is usually registering it just then.
import { h, clear, fmtTime, toast, formDialog, confirmDialog, debounce } from '../dom.js';
import { t, label } from '../i18n.js';
import { get, post, patch, del, encPath } from '../api.js';
import { subscribe } from '../ws.js';
import { errorLine } from './admin.js';

const TRANSPORTS = ['udp', 'tcp-passive', 'tcp-active'];
const CHARSETS = ['GB2312', 'GB18030', 'UTF-8'];
const POLL_MS = 30000;      // a fallback: "devices" events bring changes at once
const POLL_FAST_MS = 2000;  // for a while after a device was added
const FAST_FOR_MS = 120000;

export function devicesTab(box) {
  const list = h('div.panel', { style: { padding: 0, overflow: 'auto' } });
  const filter = h('input', { type: 'search', placeholder: t('tree.search'), testid: 'device-filter', 'aria-label': t('tree.search'), oninput: () => render() });
  const add = addForm(added);
  const addBtn = h('button.primary', { type: 'button', testid: 'device-add', 'aria-expanded': 'false', 'aria-controls': 'device-add-form', onclick: () => add.toggle(addBtn) }, '+ ' + t('admin.addDevice'));
  let devices = [];
  let shownKey = '';
  let gen = 0; // bumped by each load and each local change; stale answers are dropped
  let timer = 0;
  let fastUntil = 0;
  let stopped = false;
  clear(box).append(h('div.toolbar', { style: { marginBottom: '.7rem' } }, addBtn, filter,
    h('button', { type: 'button', testid: 'device-refresh', onclick: () => load() }, t('refresh'))), add.el, list);

  // load fetches the registry; a quiet load (the poll) keeps the list on error.
  async function load(quiet) {
    const my = ++gen;
    let ds;
    try { ds = (await get('/api/v1/devices')).devices || []; } catch (e) { if (!quiet && my === gen) errorLine(list, e); return; }
    if (my !== gen) return;
    devices = ds;
    render();
  }

  function poll() {
    clearTimeout(timer);
    if (stopped) return;
    timer = setTimeout(async () => {
      if (!document.hidden) await load(true);
      poll();
    }, Date.now() < fastUntil ? POLL_FAST_MS : POLL_MS);
  }

  // added puts the hub's answer for a new device into the list at once.
  function added(d) {
    gen++;
    devices = devices.filter((x) => x.id !== d.id).concat(d).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (!matches(d, filter.value)) filter.value = '';
    render();
    const row = list.querySelector(`[data-testid="device-row"][data-device="${CSS.escape(d.id)}"]`);
    if (row) { row.classList.add('flash'); row.scrollIntoView({ block: 'nearest' }); }
    fastUntil = Date.now() + FAST_FOR_MS;
    poll();
  }
  add.findDevice = (id) => devices.find((x) => x.id === id);
  add.edit = (d) => edit(d);

  function matches(d, q) {
    q = q.trim().toLowerCase();
    return !q || `${d.id} ${d.name} ${d.remote_address}`.toLowerCase().includes(q);
  }

  function render() {
    const shown = devices.filter((d) => matches(d, filter.value));
    const key = filter.value + '\n' + JSON.stringify(shown);
    if (key === shownKey && list.firstChild && list.firstChild.tagName === 'TABLE') return;
    shownKey = key;
    // Keep the keyboard focus on the same button across a re-render.
    const fa = document.activeElement;
    const focus = fa && list.contains(fa) && fa.closest('[data-device]') ? [fa.closest('[data-device]').dataset.device, fa.dataset.testid] : null;
    clear(list).append(h('table.grid', { testid: 'device-table' },
      h('thead', h('tr', [t('admin.deviceId'), t('admin.deviceName'), t('admin.status'), t('admin.transport'), t('admin.remote'), t('admin.keepalive'),
        t('admin.channels'), t('case.region'), t('admin.password'), t('actions')].map((x) => h('th', x)))),
      h('tbody', shown.length ? shown.map(row) : h('tr', h('td.empty', { colspan: 10 }, t('tree.noDevices'))))));
    if (focus) list.querySelector(`[data-device="${CSS.escape(focus[0])}"] [data-testid="${CSS.escape(focus[1] || '')}"]`)?.focus();
  }

  function row(d) {
    return h('tr', { testid: 'device-row', dataset: { device: d.id, online: d.online ? '1' : '', password: d.has_password ? '1' : '', transport: d.transport || '' } },
      h('td.mono', d.id), h('td', d.name || '—', d.manufacturer ? h('div.muted', `${d.manufacturer} ${d.model || ''}`) : null),
      h('td', { testid: 'device-status' }, h('span.dot' + (d.online ? '.on' : '.off')), ' ', d.online ? t('online') : t('offline')),
      h('td', label('transport', d.transport), d.sip_transport ? h('span.tag', 'SIP ' + d.sip_transport) : null), h('td.mono', d.remote_address || '—'),
      h('td', fmtTime(d.last_keepalive)), h('td', String(d.channel_count ?? 0)), h('td', d.region || '—'),
      h('td', { testid: 'device-password' }, d.has_password ? t('admin.ownPassword') : t('admin.sharedPassword')),
      h('td.actions', h('button.small', { type: 'button', testid: 'device-edit', onclick: () => edit(d) }, t('edit')),
        h('button.small', { type: 'button', testid: 'device-catalog', onclick: () => catalog(d) }, t('admin.catalog')),
        h('button.small.danger', { type: 'button', testid: 'device-delete', onclick: () => remove(d) }, t('delete'))));
  }

  async function edit(d) {
    const v = await formDialog({ title: t('edit') + ' · ' + d.id, testid: 'device-dialog', fields: [
      { name: 'name', label: t('admin.deviceName'), value: d.name || '' },
      { name: 'transport', label: t('admin.transport'), type: 'select', required: true, value: d.transport || 'udp', options: TRANSPORTS.map((x) => ({ value: x, label: t('transport.' + x) })) },
      { name: 'charset', label: t('admin.charset'), type: 'select', value: d.charset || '', options: CHARSETS.map((x) => ({ value: x, label: x })) },
      { name: 'password', label: t('admin.devicePassword'), type: 'password', autocomplete: 'new-password', placeholder: t('admin.keepPassword') },
      { name: 'shared', label: t('admin.useShared'), type: 'select', value: '', options: [{ value: 'yes', label: t('yes') }] }] });
    if (!v) return;
    const body = {};
    if (v.name !== (d.name || '')) body.name = v.name;
    if (v.transport !== d.transport) body.transport = v.transport;
    if (v.charset && v.charset !== d.charset) body.charset = v.charset;
    if (v.password) body.password = v.password;
    if (v.shared === 'yes') body.password = '';
    if (!Object.keys(body).length) return;
    try { await patch('/api/v1/devices/' + encPath(d.id), body); toast(t('admin.saved'), 'ok'); load(); } catch (e) { toast(e.message, 'error'); }
  }

  async function catalog(d) {
    try {
      const r = await post('/api/v1/devices/' + encPath(d.id) + '/catalog', {});
      toast(t('admin.catalogDone', { n: r.channels ?? r.received ?? 0 }), 'ok');
      load();
    } catch (e) { toast(e.message, 'error'); }
  }

  async function remove(d) {
    if (!(await confirmDialog(t('delete'), t('admin.deleteDevice', { d: d.name || d.id }), true))) return;
    try { await del('/api/v1/devices/' + encPath(d.id)); load(); } catch (e) { toast(e.message, 'error'); }
  }

  // A tab brought back to the front catches up at once.
  const onVisible = () => { if (!document.hidden) load(true); };
  document.addEventListener('visibilitychange', onVisible);
  load().then(poll);
  const onDeviceEvent = debounce(() => load(true), 500); // a burst of registrations reloads once
  const unsub = subscribe('devices', onDeviceEvent, onDeviceEvent);
  return () => { stopped = true; clearTimeout(timer); document.removeEventListener('visibilitychange', onVisible); unsub(); };
}

// idRegion is the GB/T 2260 region a device id's centre code names: its
// first 8 digits without trailing "00" pairs (as the hub computes it).
export function idRegion(id) {
  let c = id.slice(0, 8);
  while (c.length >= 4 && c.endsWith('00')) c = c.slice(0, -2);
  return c === '00' ? '' : c;
}

// idProblem says what is wrong with a device id as typed, or ''.
export function idProblem(id) {
  if (!id) return t('admin.idRequired');
  if (/\D/.test(id)) return t('admin.idDigits');
  if (id.length !== 20) return t('admin.idLength', { n: id.length });
  return '';
}

// addForm builds the collapsible "add device" form. onAdded gets the
// hub's device JSON after a 201; errors stay next to the form.
function addForm(onAdded) {
  const api = { el: null, toggle: null, findDevice: () => null, edit: () => {} };
  const idHint = h('small#device-add-id-hint.hint', { testid: 'device-add-id-hint', 'aria-live': 'polite' }, t('admin.deviceIdHint'));
  const id = h('input.mono', { name: 'id', testid: 'device-add-id', required: true, inputmode: 'numeric', autocomplete: 'off', spellcheck: 'false',
    maxlength: 32, placeholder: '34020000001320000001', 'aria-describedby': 'device-add-id-hint', oninput: () => checkId(false), onblur: () => checkId(true) });
  const name = h('input', { name: 'name', testid: 'device-add-name', maxlength: 200, autocomplete: 'off' });
  const password = h('input#device-add-password', { name: 'password', type: 'password', testid: 'device-add-password', maxlength: 128, autocomplete: 'new-password',
    'aria-describedby': 'device-add-password-hint' });
  const reveal = h('button.small', { type: 'button', testid: 'device-add-reveal', 'aria-pressed': 'false', 'aria-label': t('admin.showPassword'), onclick: togglePassword }, t('admin.show'));
  const transport = h('select', { name: 'transport', testid: 'device-add-transport' },
    h('option', { value: '' }, t('admin.defaultTransport')), TRANSPORTS.map((x) => h('option', { value: x }, t('transport.' + x))));
  const charset = h('select', { name: 'charset', testid: 'device-add-charset' },
    h('option', { value: '' }, t('admin.detectCharset')), CHARSETS.map((x) => h('option', { value: x }, x)));
  const err = h('div.error.form-error', { role: 'alert', testid: 'device-add-error' });
  const submit = h('button.primary', { type: 'submit', testid: 'device-add-submit' }, t('admin.add'));
  const form = h('form#device-add-form.panel.device-add', { testid: 'device-add-form', novalidate: true, hidden: true, onsubmit: send, 'aria-label': t('admin.addDevice') },
    h('h3', t('admin.addDevice')),
    h('div.device-add-grid',
      h('label.field', h('span', t('admin.deviceId') + ' *'), id, idHint),
      h('label.field', h('span', t('admin.deviceName')), name),
      h('div.field', h('label', { for: 'device-add-password' }, h('span', t('admin.devicePassword'))),
        h('div.with-button', password, reveal),
        h('small#device-add-password-hint.hint', t('admin.passwordHint'))),
      h('label.field', h('span', t('admin.transport')), transport),
      h('label.field', h('span', t('admin.charset')), charset)),
    h('div.toolbar', submit, h('button', { type: 'button', testid: 'device-add-cancel', onclick: () => close() }, t('cancel'))),
    err);
  let opener = null;
  api.el = form;
  api.toggle = (btn) => { opener = btn; if (form.hidden) open(); else close(); };

  function open() {
    form.hidden = false;
    opener?.setAttribute('aria-expanded', 'true');
    id.focus();
  }
  function close() {
    form.hidden = true;
    form.reset();
    showPassword(false);
    resetErrors();
    opener?.setAttribute('aria-expanded', 'false');
    opener?.focus();
  }
  function resetErrors() {
    clear(err);
    delete err.dataset.status;
    id.removeAttribute('aria-invalid');
    idHint.classList.remove('bad', 'ok');
    idHint.textContent = t('admin.deviceIdHint');
  }

  // checkId shows the id's problem (strictly: after leaving the field or
  // on submit; while typing only bad characters count) or its region.
  function checkId(strict) {
    const v = id.value.trim();
    const problem = idProblem(v);
    const bad = problem && (strict || /\D/.test(v));
    id.setAttribute('aria-invalid', bad ? 'true' : 'false');
    idHint.classList.toggle('bad', !!bad);
    idHint.classList.toggle('ok', !problem);
    if (bad) idHint.textContent = problem;
    else if (!problem) idHint.textContent = t('admin.idRegion', { r: idRegion(v) || '—' });
    else idHint.textContent = v ? t('admin.idLength', { n: v.length }) : t('admin.deviceIdHint');
    return !problem;
  }

  function showPassword(on) {
    password.type = on ? 'text' : 'password';
    reveal.setAttribute('aria-pressed', String(on));
    reveal.setAttribute('aria-label', on ? t('admin.hidePassword') : t('admin.showPassword'));
    reveal.textContent = on ? t('admin.hide') : t('admin.show');
  }
  function togglePassword() { showPassword(password.type === 'password'); password.focus(); }

  async function send(ev) {
    ev.preventDefault();
    clear(err);
    delete err.dataset.status;
    if (!checkId(true)) { id.focus(); return; }
    const body = { id: id.value.trim() };
    if (name.value.trim()) body.name = name.value.trim();
    if (password.value) body.password = password.value;
    if (transport.value) body.transport = transport.value;
    if (charset.value) body.charset = charset.value;
    submit.disabled = true;
    try {
      const d = await post('/api/v1/devices', body);
      toast(t('admin.added', { d: d.id }), 'ok');
      // Ready for the next camera of the same site: keep transport and charset.
      id.value = ''; name.value = ''; password.value = '';
      showPassword(false);
      resetErrors();
      onAdded(d);
      id.focus();
    } catch (e) {
      showError(e, body.id);
    } finally {
      submit.disabled = false;
    }
  }

  function showError(e, devID) {
    err.dataset.status = String(e.status || 0);
    let head = t('admin.addFailed');
    if (e.status === 400) head = t('admin.addInvalid');
    else if (e.status === 403) head = t('admin.addScope', { r: idRegion(devID) });
    else if (e.status === 409) head = t('admin.addExists', { d: devID });
    const existing = e.status === 409 ? api.findDevice(devID) : null;
    clear(err).append(h('b', head), ' ', h('span', { testid: 'device-add-hub-message' }, e.message));
    if (existing) err.append(h('button.small.link', { type: 'button', testid: 'device-add-edit-existing', onclick: () => api.edit(existing) }, t('admin.editExisting')));
    if (e.status === 400 || e.status === 403 || e.status === 409) id.focus();
  }

  return api;
}
