// Statistics: the monthly bulletin figures (received, resolution rate
// 化解率, on-time rate, satisfaction, township share 小事不出村, red/yellow)
// in total and by type, region, department and source, drawn with our
// SVG charts; CSV export from the JSON; month snapshots for the bulletin.
import { h, clear, fmtPct, fmtNum, toast, confirmDialog } from '../dom.js';
import { t, label } from '../i18n.js';
import { get, post, qs, unavailable } from '../api.js';
import { bars, donut, gauge, PALETTE } from '../charts.js';
import { caseTypes, departments, typeName, deptName } from '../refdata.js';

const GROUPS = ['type', 'region', 'department', 'source'];
const COLUMNS = ['received', 'accepted', 'resolved', 'resolution_rate', 'on_time', 'on_time_rate', 'closed', 'avg_close_hours', 'returns',
  'satisfaction_count', 'satisfaction_mean', 'satisfaction_rate', 'red', 'yellow', 'resolved_township', 'township_share'];

function thisMonth() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}`;
}

export default function statsPage(root, ctx) {
  let month = ctx.query.get('month') || thisMonth();
  let region = ctx.query.get('region') || '';
  let groupBy = GROUPS.includes(ctx.query.get('group_by')) ? ctx.query.get('group_by') : 'type';
  let report = null;
  let groups = {};
  let names = { type: [], department: [] };
  let alive = true;
  const monthIn = h('input', { type: 'month', value: month, testid: 'stats-month', 'aria-label': t('stats.month') });
  const regionIn = h('input', { value: region, size: 10, placeholder: '14', testid: 'stats-region', 'aria-label': t('case.region') });
  const groupSel = h('select', { testid: 'stats-group', 'aria-label': t('stats.groupBy') }, GROUPS.map((g) => h('option', { value: g, selected: g === groupBy }, t('stats.by.' + g))));
  const frozen = h('span', { testid: 'stats-frozen' });
  const kpis = h('div.kpis', { testid: 'stats-kpis' });
  const charts = h('div.charts', { testid: 'stats-charts' });
  const table = h('div.panel', { style: { overflow: 'auto', marginTop: '.9rem' } });
  const canFreeze = ['admin', 'leader'].includes(ctx.user.role);

  clear(root).append(h('section.page', { testid: 'page-stats' },
    h('div.page-head', h('h2', t('stats.title')), frozen, h('span.grow'),
      h('form.toolbar', { onsubmit: (e) => { e.preventDefault(); apply(); } },
        h('label.inline', t('stats.month'), monthIn), h('label.inline', t('case.region'), regionIn), h('label.inline', t('stats.groupBy'), groupSel),
        h('button.primary', { type: 'submit', testid: 'stats-apply' }, t('search')),
        h('button', { type: 'button', testid: 'stats-csv', onclick: exportCSV }, t('stats.csv')),
        canFreeze ? h('button.ghost', { type: 'button', testid: 'stats-freeze', onclick: freeze }, t('stats.freeze')) : null)),
    kpis, charts, table));

  function apply() {
    month = monthIn.value || thisMonth();
    region = regionIn.value.trim();
    groupBy = groupSel.value;
    history.replaceState(null, '', '/stats' + qs({ month, region, group_by: groupBy }));
    load();
  }

  async function load() {
    clear(kpis).append(h('p.muted', t('loading')));
    const q = (g) => '/api/v1/stats' + qs({ month, region, group_by: g });
    try {
      const [tot, ...byGroup] = await Promise.all([get(q('')), ...GROUPS.map((g) => get(q(g)).catch(() => null))]);
      const [tl, dl] = await Promise.all([caseTypes(), departments()]);
      if (!alive) return;
      report = tot;
      names = { type: tl, department: dl };
      groups = {};
      GROUPS.forEach((g, i) => { groups[g] = (byGroup[i] && byGroup[i].groups) || []; });
      render();
    } catch (e) {
      if (!alive) return;
      clear(kpis).append(h('p.muted', { testid: 'stats-error' }, unavailable(e) ? t('err.unavailable') : t('err.load', { e: e.message })));
      clear(charts);
      clear(table);
    }
  }

  const keyName = (g, k) => (g === 'type' ? typeName(names.type, k) : g === 'department' ? deptName(names.department, k) : g === 'source' ? label('source', k) : k || '—');

  function render() {
    const s = report.total || {};
    frozen.textContent = report.frozen ? t('stats.frozen') : '';
    frozen.className = report.frozen ? 'badge green' : '';
    const kpi = (key, v, testid) => h('div.kpi', { testid: 'kpi-' + testid }, h('div.v', v), h('div.l', t('stats.' + key)));
    clear(kpis).append(
      kpi('received', fmtNum(s.received), 'received'), kpi('accepted', fmtNum(s.accepted), 'accepted'), kpi('resolved', fmtNum(s.resolved), 'resolved'),
      kpi('resolution_rate', fmtPct(s.resolution_rate), 'resolution-rate'), kpi('on_time_rate', fmtPct(s.on_time_rate), 'on-time-rate'),
      kpi('satisfaction_mean', fmtNum(s.satisfaction_mean, 2), 'satisfaction'), kpi('satisfaction_rate', fmtPct(s.satisfaction_rate), 'satisfaction-rate'),
      kpi('avg_close_hours', fmtNum(s.avg_close_hours, 1), 'avg-close'), kpi('township_share', fmtPct(s.township_share), 'township'),
      kpi('returns', fmtNum(s.returns), 'returns'), kpi('red', fmtNum(s.red), 'red'), kpi('yellow', fmtNum(s.yellow), 'yellow'));
    const g = groups[groupBy] || [];
    const items = g.map((x) => ({ label: keyName(groupBy, x.key), values: [x.received || 0, x.resolved || 0] }));
    const rates = g.map((x) => ({ label: keyName(groupBy, x.key), values: [x.resolution_rate || 0, x.on_time_rate || 0, x.satisfaction_rate || 0] }));
    const panel = (title, node) => h('div.panel', h('h3', title), node);
    const legend = (list) => h('div.legend', list.map(([n, c]) => h('span', h('i', { style: { background: c } }), n)));
    clear(charts).append(
      panel(t('stats.rates'), h('div', { style: { display: 'flex', flexWrap: 'wrap', justifyContent: 'space-around' } },
        gauge({ title: t('stats.resolution_rate'), value: s.resolution_rate, color: PALETTE[0] }),
        gauge({ title: t('stats.on_time_rate'), value: s.on_time_rate, color: PALETTE[2] }),
        gauge({ title: t('stats.satisfaction_rate'), value: s.satisfaction_rate, color: PALETTE[3] }))),
      panel(t('stats.colours'), donut({ title: t('stats.colours'), parts: [
        { label: label('colour', 'green'), value: Math.max(0, (s.received || 0) - (s.red || 0) - (s.yellow || 0)), color: '#2fc56f' },
        { label: label('colour', 'yellow'), value: s.yellow || 0, color: '#f4c03f' }, { label: label('colour', 'red'), value: s.red || 0, color: '#ff4d55' }] })),
      panel(t('stats.countsBy', { g: t('stats.by.' + groupBy) }), h('div', legend([[t('stats.received'), PALETTE[0]], [t('stats.resolved'), PALETTE[2]]]),
        bars({ title: t('stats.countsBy', { g: t('stats.by.' + groupBy) }), items, series: [{ name: t('stats.received'), color: PALETTE[0] }, { name: t('stats.resolved'), color: PALETTE[2] }] }))),
      panel(t('stats.ratesBy', { g: t('stats.by.' + groupBy) }), h('div', legend([[t('stats.resolution_rate'), PALETTE[1]], [t('stats.on_time_rate'), PALETTE[2]], [t('stats.satisfaction_rate'), PALETTE[3]]]),
        bars({ title: t('stats.ratesBy', { g: t('stats.by.' + groupBy) }), items: rates, max: 1, fmt: fmtPct,
          series: [{ name: t('stats.resolution_rate'), color: PALETTE[1] }, { name: t('stats.on_time_rate'), color: PALETTE[2] }, { name: t('stats.satisfaction_rate'), color: PALETTE[3] }] }))));
    clear(table).append(h('h3', t('stats.table', { g: t('stats.by.' + groupBy) })), h('table.grid', { testid: 'stats-table' },
      h('thead', h('tr', h('th', t('stats.by.' + groupBy)), COLUMNS.map((c) => h('th', t('stats.' + c))))),
      h('tbody', g.map((x) => h('tr', { testid: 'stats-row', dataset: { key: x.key } }, h('td', keyName(groupBy, x.key)), COLUMNS.map((c) => h('td', cell(c, x[c]))))),
        h('tr', h('th', t('stats.total')), COLUMNS.map((c) => h('th', cell(c, s[c])))))));
  }

  const cell = (c, v) => (c.endsWith('_rate') || c === 'township_share' ? fmtPct(v) : c.endsWith('_mean') || c.endsWith('_hours') ? fmtNum(v, 2) : fmtNum(v));

  // CSV of the current grouping, from the JSON; UTF-8 with a BOM so Excel
  // opens the Chinese headers correctly.
  function exportCSV() {
    if (!report) return;
    const esc = (v) => { const s = String(v ?? ''); return /[",\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s; };
    const lines = [[t('stats.by.' + groupBy), 'key', ...COLUMNS.map((c) => t('stats.' + c))].map(esc).join(',')];
    for (const x of groups[groupBy] || []) lines.push([keyName(groupBy, x.key), x.key, ...COLUMNS.map((c) => x[c] ?? '')].map(esc).join(','));
    lines.push([t('stats.total'), '', ...COLUMNS.map((c) => (report.total || {})[c] ?? '')].map(esc).join(','));
    const blob = new Blob(['\ufeff' + lines.join('\r\n') + '\r\n'], { type: 'text/csv;charset=utf-8' });
    const a = h('a', { href: URL.createObjectURL(blob), download: `pingan-stats-${month}-${groupBy}${region ? '-' + region : ''}.csv` });
    document.body.append(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }

  async function freeze() {
    if (!(await confirmDialog(t('stats.freeze'), t('stats.freezeBody', { m: month })))) return;
    try {
      const r = await post('/api/v1/stats/snapshots', { month });
      toast(r.existing ? t('stats.alreadyFrozen', { m: month }) : t('stats.frozenOk', { m: month }), 'ok');
      load();
    } catch (e) { toast(e.message, 'error'); }
  }

  load();
  ctx.expose({ statsReport: () => report, statsCSV: exportCSV });
  return () => { alive = false; };
}
