// The case workflow as the console needs it: which actions a user may use
// on a case (the API's allowed_actions when present, else a local mirror
// of dispatch/workflow.go), which ones need a dialog and what it asks.
import { t } from './i18n.js';

export const STATES = ['registered', 'accepted', 'routed', 'handling', 'handled', 'reported', 'followed_up', 'closed', 'returned', 'merged', 'invalidated'];
export const COLOURS = ['green', 'yellow', 'red'];
export const SOURCES = ['grid', 'hotline', 'walkin', 'camera', 'online'];
export const TERMINAL = ['closed', 'merged', 'invalidated'];

const center = ['admin', 'operator', 'leader'];
const handlers = ['admin', 'operator', 'leader', 'mediator'];
const approvers = ['admin', 'leader'];
const reporters = ['admin', 'operator', 'leader', 'integration'];
const followers = ['admin', 'operator', 'leader', 'grid', 'integration'];
const open = ['registered', 'accepted', 'routed', 'handling', 'handled', 'reported', 'followed_up', 'returned'];
const inWork = ['routed', 'handling'];
const unrouted = ['registered', 'accepted', 'returned'];

// RULES mirrors dispatch.Workflow: action → [from states, roles, required fields].
export const RULES = {
  accept: [['registered', 'returned'], center, []],
  route: [['accepted', 'returned'], center, ['departments']],
  checkin: [inWork, handlers, ['department']],
  start: [inWork, handlers, ['department']],
  finish: [['handling'], handlers, ['department']],
  reject: [inWork, handlers, ['department', 'reason']],
  handle: [['handling'], handlers, []],
  report: [['handled'], reporters, []],
  followup: [['reported'], followers, ['satisfaction']],
  close: [['followed_up'], center, []],
  return: [['accepted', 'routed', 'handling', 'handled', 'reported'], handlers, ['reason']],
  escalate: [['registered', 'accepted', 'routed', 'handling', 'returned'], center, []],
  suspend: [open, approvers, ['reason']],
  resume: [open, approvers, []],
  extend: [open, approvers, ['deadline']],
  merge: [unrouted, center, ['target']],
  invalidate: [unrouted, center, ['reason']],
};

// Department sub-state moves: action → sub-states it applies to.
export const DEPT_MOVES = { checkin: ['pending'], start: ['checked_in'], finish: ['handling'], reject: ['pending', 'checked_in'] };
export const DEPT_ACTIONS = Object.keys(DEPT_MOVES);

// Case-level buttons, in the order an operator expects them.
export const CASE_ACTIONS = ['accept', 'route', 'handle', 'report', 'followup', 'close', 'escalate', 'return', 'suspend', 'resume', 'extend', 'merge', 'invalidate'];
const DANGER = ['return', 'invalidate', 'reject', 'merge'];
const PRIMARY = ['accept', 'route', 'handle', 'report', 'followup', 'close', 'checkin', 'start', 'finish'];
export const actionClass = (a) => (DANGER.includes(a) ? 'danger' : PRIMARY.includes(a) ? 'primary' : '');

function localAllowed(c, role) {
  const out = [];
  for (const [a, [from, roles]] of Object.entries(RULES)) {
    if (!from.includes(c.state) || !roles.includes(role)) continue;
    if (c.suspended && !['resume', 'merge', 'invalidate'].includes(a)) continue;
    if (!c.suspended && a === 'resume') continue;
    if (a === 'handle') {
      const ds = c.departments || [];
      const done = ds.filter((d) => d.state === 'done').length;
      const rej = ds.filter((d) => d.state === 'rejected').length;
      if (!(done > 0 && done + rej === ds.length)) continue;
    }
    out.push(a);
  }
  return out;
}

// allowed lists the actions this user may take on c now.
export function allowed(c, role) {
  return Array.isArray(c.allowed_actions) ? c.allowed_actions : localAllowed(c, role);
}

// deptActions lists the department moves allowed for one assignment.
export function deptActions(c, role, assignment) {
  const ok = allowed(c, role);
  return DEPT_ACTIONS.filter((a) => ok.includes(a) && DEPT_MOVES[a].includes(assignment.state));
}

// fields says what the dialog of an action asks for; [] means a simple
// confirmation. deps: {departments: [{id,name}]}.
export function fields(action, deps = {}) {
  const req = (RULES[action] || [[], [], []])[2];
  const out = [];
  if (req.includes('departments')) {
    out.push({ name: 'departments', label: t('case.departments'), type: 'multi', required: true,
      options: (deps.departments || []).map((d) => ({ value: d.id, label: `${d.name || d.id} (${d.region || '—'})` })) });
  }
  if (req.includes('reason')) out.push({ name: 'reason', label: t('case.reason'), type: 'textarea', required: true });
  if (req.includes('satisfaction')) {
    out.push({ name: 'satisfaction', label: t('case.satisfaction'), type: 'select', required: true, value: '5',
      options: [5, 4, 3, 2, 1].map((n) => ({ value: String(n), label: t('sat.' + n) })) });
  }
  if (req.includes('deadline')) out.push({ name: 'deadline', label: t('case.newDeadline'), type: 'datetime', required: true });
  if (req.includes('target')) out.push({ name: 'target', label: t('case.mergeTarget'), required: true, placeholder: '140105…' });
  if (!req.includes('reason')) out.push({ name: 'note', label: t('case.note'), type: 'textarea' });
  return out;
}

// request builds the transition body from dialog values.
export function request(action, version, values, department) {
  const body = { action, version };
  if (department) body.department = department;
  if (values.departments) body.departments = values.departments;
  if (values.reason) body.reason = values.reason;
  if (values.note) body.note = values.note;
  if (values.satisfaction) body.satisfaction = Number(values.satisfaction);
  if (values.deadline) body.deadline = new Date(values.deadline).toISOString();
  if (values.target) body.target = values.target;
  return body;
}
