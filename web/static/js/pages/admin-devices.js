// Administration → devices: the GB28181 registry with media transport,
// per-device password, name and charset (PATCH /api/v1/devices/{id}),
// catalog refresh and removal.
import { h, clear, fmtTime, toast, formDialog, confirmDialog } from '../dom.js';
import { t } from '../i18n.js';
import { get, post, patch, del, encPath } from '../api.js';
import { subscribe } from '../ws.js';
import { errorLine } from './admin.js';

const TRANSPORTS = ['udp', 'tcp-passive', 'tcp-active'];
const CHARSETS = ['GB2312', 'GB18030', 'UTF-8'];

export function devicesTab(box) {
  const list = h('div.panel', { style: { padding: 0, overflow: 'auto' } });
  const filter = h('input', { type: 'search', placeholder: t('tree.search'), testid: 'device-filter', 'aria-label': t('tree.search'), oninput: () => render() });
  let devices = [];
  clear(box).append(h('div.toolbar', { style: { marginBottom: '.7rem' } }, filter, h('button', { type: 'button', onclick: () => load() }, t('refresh'))), list);

  async function load() {
    try { devices = (await get('/api/v1/devices')).devices || []; } catch (e) { errorLine(list, e); return; }
    render();
  }

  function render() {
    const q = filter.value.trim().toLowerCase();
    const shown = devices.filter((d) => !q || `${d.id} ${d.name} ${d.remote_address}`.toLowerCase().includes(q));
    clear(list).append(h('table.grid', { testid: 'device-table' },
      h('thead', h('tr', [t('admin.deviceId'), t('admin.deviceName'), t('admin.status'), t('admin.transport'), t('admin.remote'), t('admin.keepalive'),
        t('admin.channels'), t('case.region'), t('admin.password'), t('actions')].map((x) => h('th', x)))),
      h('tbody', shown.length ? shown.map((d) => h('tr', { testid: 'device-row', dataset: { device: d.id, online: d.online ? '1' : '' } },
        h('td.mono', d.id), h('td', d.name || '—', d.manufacturer ? h('div.muted', `${d.manufacturer} ${d.model || ''}`) : null),
        h('td', h('span.dot' + (d.online ? '.on' : '.off')), ' ', d.online ? t('online') : t('offline')),
        h('td', d.transport || '—', d.sip_transport ? h('span.tag', 'SIP ' + d.sip_transport) : null), h('td.mono', d.remote_address || '—'),
        h('td', fmtTime(d.last_keepalive)), h('td', String(d.channel_count ?? 0)), h('td', d.region || '—'),
        h('td', d.has_password ? t('admin.ownPassword') : t('admin.sharedPassword')),
        h('td.actions', h('button.small', { type: 'button', testid: 'device-edit', onclick: () => edit(d) }, t('edit')),
          h('button.small', { type: 'button', testid: 'device-catalog', onclick: () => catalog(d) }, t('admin.catalog')),
          h('button.small.danger', { type: 'button', testid: 'device-delete', onclick: () => remove(d) }, t('delete')))))
        : h('tr', h('td.empty', { colspan: 10 }, t('tree.noDevices'))))));
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

  load();
  const unsub = subscribe('devices', () => load(), () => load());
  return () => unsub();
}
