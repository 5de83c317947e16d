// Reference data many pages need (case types, departments), fetched once
// per page load and shared; badges for case state and deadline colour.
import { get } from './api.js';
import { h } from './dom.js';
import { label, lang, t } from './i18n.js';

let types = null;
let depts = null;

export function caseTypes(force = false) {
  if (!types || force) types = get('/api/v1/case-types').then((r) => r.case_types || []).catch(() => { types = null; return []; });
  return types;
}

export function departments(force = false) {
  if (!depts || force) depts = get('/api/v1/departments').then((r) => r.departments || []).catch(() => { depts = null; return []; });
  return depts;
}

// typeLabel is a case type's name in the console's language.
export function typeLabel(x) {
  return (lang() === 'en' && x.name_en) || x.name || x.id;
}

export function typeName(list, id) {
  const x = (list || []).find((v) => v.id === id);
  return x ? typeLabel(x) : id || '—';
}

export function deptName(list, id) {
  const x = (list || []).find((v) => v.id === id);
  return x ? x.name || id : id;
}

export function stateBadge(state) {
  return h('span.badge.state', { testid: 'state-badge', dataset: { state: state || '' } }, label('state', state));
}

export function colourBadge(colour, suspended) {
  if (!colour) return h('span.dim', '—');
  return h('span.badge.colour.' + colour, { testid: 'colour-badge', dataset: { colour }, title: t('colour.' + colour) },
    label('colour', colour), suspended ? ' ⏸' : '');
}
