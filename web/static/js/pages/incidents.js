// The incident list (指挥事件): open or all, live over the incidents topic.
import { h, clear, fmtTime, debounce } from '../dom.js';
import { t, label } from '../i18n.js';
import { get, qs, unavailable } from '../api.js';
import { subscribe } from '../ws.js';

export default function incidentsPage(root, ctx) {
  let state = ctx.query.get('state') || 'open';
  let alive = true;
  const body = h('tbody', { testid: 'incident-rows' });
  const status = h('p.muted');
  const sel = h('select', { testid: 'incident-filter', onchange: () => { state = sel.value; history.replaceState(null, '', '/incidents' + qs({ state })); load(); } },
    ['open', 'all'].map((s) => h('option', { value: s, selected: s === state }, t('incident.filter.' + s))));
  clear(root).append(h('section.page', { testid: 'page-incidents' },
    h('div.page-head', h('h2', t('nav.incidents')), sel, h('span.grow'), h('span.muted', t('incident.fromCase'))),
    h('div.panel', { style: { padding: 0, overflow: 'auto' } }, h('table.grid',
      h('thead', h('tr', [t('incident.id'), t('case.code'), t('incident.severity'), t('case.state'), t('incident.summons'), t('incident.pins'), t('case.created')].map((x) => h('th', x)))),
      body)), status));

  async function load() {
    try {
      const r = await get('/api/v1/incidents' + qs({ state }));
      if (!alive) return;
      const list = r.incidents || [];
      clear(body).append(...list.map((x) => h('tr.case-row', { testid: 'incident-row', dataset: { incident: x.id, state: x.state }, tabindex: 0,
        onclick: () => ctx.navigate('/incidents/' + encodeURIComponent(x.id)), onkeydown: (e) => { if (e.key === 'Enter') ctx.navigate('/incidents/' + encodeURIComponent(x.id)); } },
      h('td.code', h('a', { href: '/incidents/' + encodeURIComponent(x.id) }, x.id)),
      h('td.code', h('a', { href: '/cases/' + x.case, onclick: (e) => e.stopPropagation() }, x.case)),
      h('td', h('span.badge' + (x.severity <= 2 ? '.red' : ''), t('severity.' + x.severity))),
      h('td', h('span.badge', label('incstate', x.state))),
      h('td', `${(x.summons || []).filter((s) => s.checked_in_at).length}/${(x.summons || []).length}`),
      h('td', String((x.streams || []).length)), h('td', fmtTime(x.created)))));
      if (!list.length) body.append(h('tr', h('td.empty', { colspan: 7 }, t('incident.empty'))));
      status.textContent = '';
    } catch (e) {
      if (alive) status.textContent = unavailable(e) ? t('err.unavailable') : t('err.load', { e: e.message });
    }
  }
  const reload = debounce(load, 300);
  const unsub = subscribe('incidents', reload, reload);
  load();
  return () => { alive = false; unsub(); };
}
