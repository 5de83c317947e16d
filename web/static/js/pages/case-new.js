// The new-case form (登记): type from the server's case types, source,
// title, description, region, location, parties and reporter.
import { h, clear, toast } from '../dom.js';
import { t, label } from '../i18n.js';
import { post } from '../api.js';
import { SOURCES } from '../workflow.js';
import { caseTypes, typeLabel } from '../refdata.js';

export default function caseNewPage(root, ctx) {
  const typeSel = h('select', { name: 'type', required: true, testid: 'case-type' });
  const srcDefault = ctx.user.role === 'grid' ? 'grid' : 'walkin';
  const input = (name, attrs = {}) => h('input', { name, testid: 'case-' + name, ...attrs });
  const region = /^\d{6}(\d{3})?$/.test(ctx.user.region || '') ? ctx.user.region : '';
  const parties = h('div.parties-edit', { testid: 'case-parties' });
  const err = h('p.error', { role: 'alert', testid: 'case-error' });
  const submit = h('button.primary', { type: 'submit', testid: 'case-submit' }, t('case.register'));

  function partyRow() {
    const row = h('div.toolbar', { testid: 'party-row', style: { marginBottom: '.4rem' } },
      h('input', { name: 'party-name', placeholder: t('case.partyName'), 'aria-label': t('case.partyName') }),
      h('select', { name: 'party-role', 'aria-label': t('case.partyRole') },
        ['applicant', 'respondent', 'witness', 'other'].map((r) => h('option', { value: r }, label('party', r)))),
      h('input', { name: 'party-contact', placeholder: t('case.partyContact'), 'aria-label': t('case.partyContact') }),
      h('button.small.ghost', { type: 'button', onclick: () => row.remove(), 'aria-label': t('delete') }, '×'));
    parties.append(row);
  }
  partyRow();

  const form = h('form.panel', { testid: 'case-form', onsubmit: send, style: { maxWidth: '880px' } },
    h('div', { style: { display: 'grid', gridTemplateColumns: '1fr 1fr', gap: '0 1rem' } },
      h('label.field', h('span', t('case.type') + ' *'), typeSel),
      h('label.field', h('span', t('case.source') + ' *'), h('select', { name: 'source', testid: 'case-source' },
        SOURCES.map((s) => h('option', { value: s, selected: s === srcDefault }, label('source', s))))),
      h('label.field', { style: { gridColumn: '1 / -1' } }, h('span', t('case.title') + ' *'), input('title', { required: true, maxlength: 200 })),
      h('label.field', { style: { gridColumn: '1 / -1' } }, h('span', t('case.description')), h('textarea', { name: 'description', rows: 4, testid: 'case-description' })),
      h('label.field', h('span', t('case.region') + ' *'), input('region', { required: true, value: region, pattern: '\\d{6}|\\d{9}', placeholder: '140105' })),
      h('label.field', h('span', t('case.urgency')), h('select', { name: 'urgency', testid: 'case-urgency' },
        ['normal', 'urgent', 'critical'].map((u) => h('option', { value: u }, label('urgency', u))))),
      h('label.field', { style: { gridColumn: '1 / -1' } }, h('span', t('case.address')), input('address')),
      h('label.field', h('span', t('case.lat')), input('lat', { type: 'number', step: 'any', min: -90, max: 90 })),
      h('label.field', h('span', t('case.lon')), input('lon', { type: 'number', step: 'any', min: -180, max: 180 })),
      h('label.field', h('span', t('case.reporter')), input('reporter_name')),
      h('label.field', h('span', t('case.reporterPhone')), input('reporter_phone', { type: 'tel' })),
      h('label.field', h('span', t('case.externalId')), input('external_id', { placeholder: '12345-…' }))),
    h('h4', t('case.parties')), parties,
    h('button.small.ghost', { type: 'button', testid: 'party-add', onclick: partyRow }, '+ ' + t('case.addParty')),
    h('div.toolbar', { style: { marginTop: '1rem' } }, submit, h('a', { href: '/cases' }, t('cancel'))), err);

  clear(root).append(h('section.page', { testid: 'page-case-new' }, h('div.page-head', h('h2', t('cases.new'))), form));

  caseTypes().then((list) => {
    // Only active types take new cases (inactive ones stay for old cases).
    typeSel.append(...list.filter((x) => x.active !== false).map((x) => h('option', { value: x.id }, typeLabel(x))));
    if (!list.length) typeSel.append(h('option', { value: 'dispute' }, label('type', 'dispute')));
  });

  async function send(ev) {
    ev.preventDefault();
    const fd = new FormData(form);
    const body = {
      type: fd.get('type'), source: fd.get('source'), title: fd.get('title').trim(), description: fd.get('description').trim(),
      region: fd.get('region').trim(), urgency: fd.get('urgency'),
      location: { address: fd.get('address').trim(), lat: Number(fd.get('lat')) || 0, lon: Number(fd.get('lon')) || 0 },
    };
    if (fd.get('external_id').trim()) body.external_id = fd.get('external_id').trim();
    if (fd.get('reporter_name').trim() || fd.get('reporter_phone').trim()) {
      body.reporter = { name: fd.get('reporter_name').trim(), phone: fd.get('reporter_phone').trim() };
    }
    const names = fd.getAll('party-name'), roles = fd.getAll('party-role'), contacts = fd.getAll('party-contact');
    body.parties = names.map((n, i) => ({ name: n.trim(), role: roles[i], contact: contacts[i].trim() })).filter((p) => p.name);
    submit.disabled = true;
    err.textContent = '';
    try {
      const c = await post('/api/v1/cases', body);
      toast(c.existing ? t('case.existing', { c: c.code }) : t('case.registered', { c: c.code }), 'ok');
      ctx.navigate('/cases/' + c.code);
    } catch (e) {
      err.textContent = e.message;
      submit.disabled = false;
    }
  }
}
