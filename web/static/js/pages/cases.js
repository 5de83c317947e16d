// The incident board: cases filtered by state, colour, type, region and
// text, with deadline colour badges that change live from /ws events. The
// filters live in the URL (/cases?colour=red) so views can be linked.
import { h, clear, fmtTime, fmtLeft, debounce } from '../dom.js';
import { t, label } from '../i18n.js';
import { get, qs, unavailable } from '../api.js';
import { subscribe } from '../ws.js';
import { STATES, COLOURS, TERMINAL } from '../workflow.js';
import { caseTypes, typeName, typeLabel, stateBadge, colourBadge } from '../refdata.js';

export default function casesPage(root, ctx) {
  const q = ctx.query;
  const f = { state: q.get('state') || '', colour: q.get('colour') || '', type: q.get('type') || '', region: q.get('region') || '', q: q.get('q') || '' };
  let types = [];
  let cases = [];
  let next = '';
  let alive = true;
  const rows = new Map(); // code → tr

  const sel = (name, values, lab) => h('select', { name, testid: 'filter-' + name, onchange: apply },
    h('option', { value: '' }, t('all')), values.map((v) => h('option', { value: v, selected: f[name] === v }, lab(v))));
  const stateSel = sel('state', STATES, (v) => label('state', v));
  const colourSel = sel('colour', COLOURS, (v) => label('colour', v));
  const typeSel = h('select', { name: 'type', testid: 'filter-type', onchange: apply }, h('option', { value: '' }, t('all')));
  const regionIn = h('input', { name: 'region', value: f.region, testid: 'filter-region', size: 10, placeholder: '140105', onchange: apply });
  const qIn = h('input', { name: 'q', type: 'search', value: f.q, testid: 'filter-q', placeholder: t('cases.searchHint'), oninput: debounce(apply, 400) });
  const body = h('tbody', { testid: 'case-rows' });
  const counters = h('div.counters', { testid: 'case-counters' });
  const moreBtn = h('button.ghost', { type: 'button', testid: 'cases-more', hidden: true, onclick: () => load(true) }, t('more'));
  const status = h('p.muted', { testid: 'cases-status' });
  const canCreate = ['admin', 'operator', 'leader', 'mediator', 'grid'].includes(ctx.user.role);

  clear(root).append(h('section.page', { testid: 'page-cases' },
    h('div.page-head', h('h2', t('cases.title')), h('span.grow'),
      canCreate ? h('a.btn.primary', { href: '/cases/new', testid: 'case-new' }, '+ ' + t('cases.new')) : null),
    counters,
    h('form.filters', { testid: 'case-filters', onsubmit: (e) => { e.preventDefault(); apply(); } },
      h('label', t('case.state'), stateSel), h('label', t('case.colour'), colourSel), h('label', t('case.type'), typeSel),
      h('label', t('case.region'), regionIn), h('label', t('search'), qIn),
      h('button', { type: 'submit', testid: 'filter-apply' }, t('search')),
      h('button.ghost', { type: 'button', testid: 'filter-reset', onclick: () => ctx.navigate('/cases') }, t('reset'))),
    h('div.panel', { style: { padding: 0, overflow: 'auto' } }, h('table.grid', { testid: 'case-table' },
      h('thead', h('tr', [t('case.code'), t('case.title'), t('case.type'), t('case.region'), t('case.state'), t('case.colour'), t('case.deadline'), t('case.updated')].map((x) => h('th', x)))),
      body)),
    status, moreBtn));

  function apply() {
    const v = { state: stateSel.value, colour: colourSel.value, type: typeSel.value, region: regionIn.value.trim(), q: qIn.value.trim() };
    Object.assign(f, v);
    history.replaceState(null, '', '/cases' + qs(v));
    load(false);
  }

  function row(c) {
    const tr = h('tr.case-row', { testid: 'case-row', dataset: { code: c.code, state: c.state, colour: c.colour || '' }, tabindex: 0,
      onclick: () => ctx.navigate('/cases/' + c.code), onkeydown: (e) => { if (e.key === 'Enter') ctx.navigate('/cases/' + c.code); } },
    h('td.code', h('a', { href: '/cases/' + c.code, testid: 'case-link' }, c.code)),
    h('td', c.title || '—'), h('td', typeName(types, c.type)), h('td', c.escalated_to ? `${c.region} → ${c.escalated_to}` : c.region),
    h('td', stateBadge(c.state)), h('td', colourBadge(c.colour, c.suspended)),
    h('td', TERMINAL.includes(c.state) ? '—' : fmtLeft(c.deadline)), h('td', fmtTime(c.updated)));
    return tr;
  }

  function render() {
    clear(body);
    rows.clear();
    for (const c of cases) { const tr = row(c); rows.set(c.code, tr); body.append(tr); }
    if (!cases.length) body.append(h('tr', h('td.empty', { colspan: 8 }, t('cases.empty'))));
    const n = { red: 0, yellow: 0, green: 0 };
    for (const c of cases) if (!TERMINAL.includes(c.state) && n[c.colour] !== undefined) n[c.colour]++;
    clear(counters).append(
      h('div.counter', h('span.muted', t('cases.shown')), h('b', { testid: 'count-all' }, String(cases.length))),
      ...COLOURS.map((k) => h('div.counter.' + k, h('span.muted', label('colour', k)), h('b', { testid: 'count-' + k }, String(n[k])))));
    moreBtn.hidden = !next;
  }

  async function load(more) {
    try {
      const r = await get('/api/v1/cases' + qs({ ...f, cursor: more ? next : '' }));
      if (!alive) return;
      cases = more ? cases.concat(r.cases || []) : (r.cases || []);
      next = r.next_cursor || '';
      status.textContent = '';
      render();
    } catch (e) {
      if (!alive) return;
      status.textContent = unavailable(e) ? t('err.unavailable') : t('err.load', { e: e.message });
      cases = [];
      render();
    }
  }

  // Live: update state and colour in place, reload on new cases.
  const reload = debounce(() => load(false), 400);
  const unsub = subscribe('cases', (ev) => {
    if (!ev.case) return;
    const c = cases.find((x) => x.code === ev.case);
    if (ev.type === 'case.created' || !c) { reload(); return; }
    if (ev.state) c.state = ev.state;
    if (ev.colour) c.colour = ev.colour;
    if (ev.version) c.version = ev.version;
    c.updated = ev.time || c.updated;
    const old = rows.get(c.code);
    if (old) {
      const tr = row(c);
      tr.classList.add('flash');
      old.replaceWith(tr);
      rows.set(c.code, tr);
    }
    if (ev.type === 'case.transition') reload(); // deadlines and departments moved too
  }, () => load(false));

  caseTypes().then((list) => {
    types = list;
    typeSel.append(...list.map((x) => h('option', { value: x.id, selected: f.type === x.id }, typeLabel(x))));
    if (cases.length) render();
  });
  load(false);
  const tick = setInterval(() => { if (cases.length) render(); }, 60000);
  ctx.expose({ reloadCases: () => load(false), cases: () => cases.map((c) => ({ code: c.code, state: c.state, colour: c.colour })) });
  return () => { alive = false; unsub(); clearInterval(tick); };
}
