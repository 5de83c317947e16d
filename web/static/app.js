// Pingan Hub console entry: session, role-based navigation, history
// routing to lazily loaded page modules, the language switch and the
// window.pingan helpers that browser tests use.
import { t, lang, setLang, applyStatic } from './js/i18n.js';
import { get, post, setToken, setGuestToken, getToken, hasUserToken, onUnauthorized, ApiError } from './js/api.js';
import { route, match, start, navigate, refresh } from './js/router.js';
import { connect, disconnect, onStatus } from './js/ws.js';
import { h, $, clear, icon } from './js/dom.js';

const ALL = ['admin', 'operator', 'leader', 'mediator', 'trainer', 'trainee', 'grid', 'integration'];
const WATCH = ['admin', 'operator', 'leader', 'mediator'];

// Navigation by role: what each user sees in the top bar.
const NAV = [
  { key: 'wall', path: '/wall', icon: 'wall', roles: WATCH },
  { key: 'cases', path: '/cases', icon: 'cases', roles: ['admin', 'operator', 'leader', 'mediator', 'grid', 'integration'] },
  { key: 'incidents', path: '/incidents', icon: 'incident', roles: WATCH },
  { key: 'stats', path: '/stats', icon: 'stats', roles: ['admin', 'operator', 'leader'] },
  { key: 'meeting', path: '/meeting', icon: 'meeting', roles: WATCH },
  { key: 'class', path: '/class', icon: 'class', roles: ['admin', 'leader', 'trainer', 'trainee', 'grid', 'operator', 'mediator'] },
  { key: 'admin', path: '/admin', icon: 'admin', roles: ['admin'] },
];

const PAGES = {
  login: { load: () => import('./js/pages/login.js'), roles: null },
  wall: { load: () => import('./js/pages/wall.js'), roles: WATCH, nav: 'wall' },
  cases: { load: () => import('./js/pages/cases.js'), roles: NAV[1].roles, nav: 'cases' },
  caseNew: { load: () => import('./js/pages/case-new.js'), roles: NAV[1].roles, nav: 'cases' },
  case: { load: () => import('./js/pages/case.js'), roles: NAV[1].roles, nav: 'cases' },
  incidents: { load: () => import('./js/pages/incidents.js'), roles: WATCH, nav: 'incidents' },
  incident: { load: () => import('./js/pages/incident.js'), roles: WATCH, nav: 'incidents' },
  stats: { load: () => import('./js/pages/stats.js'), roles: NAV[3].roles, nav: 'stats' },
  admin: { load: () => import('./js/pages/admin.js'), roles: ['admin'], nav: 'admin' },
  meetings: { load: () => import('./js/pages/meeting.js'), roles: WATCH, nav: 'meeting' },
  meeting: { load: () => import('./js/pages/meeting.js'), roles: ALL, nav: 'meeting', guest: true },
  classes: { load: () => import('./js/pages/class.js'), roles: NAV[5].roles, nav: 'class' },
  class: { load: () => import('./js/pages/class.js'), roles: ALL, nav: 'class', guest: true },
};

route('/login', 'login');
route('/wall', 'wall');
route('/cases', 'cases');
route('/cases/new', 'caseNew');
route('/cases/:code', 'case');
route('/incidents', 'incidents');
route('/incidents/:id', 'incident');
route('/stats', 'stats');
route('/admin', 'admin');
route('/admin/:tab', 'admin');
route('/meeting', 'meetings');
route('/meeting/:id', 'meeting');
route('/class', 'classes');
route('/class/:id', 'class');

let user = null;        // {username, role, region, kind}
let cleanup = null;
let pageKeys = [];
let renderSeq = 0;
const main = $('#main');

function home() {
  if (!user) return '/login';
  const first = NAV.find((n) => n.roles.includes(user.role));
  return first ? first.path : '/cases';
}

async function loadMe() {
  if (!getToken()) return null;
  try {
    const me = await get('/api/v1/me', { noRedirect: true });
    return { username: me.username || (me.user && me.user.username), role: me.role || (me.user && me.user.role), region: me.region ?? '', kind: me.kind || 'user', room: me.room || '' };
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}

function renderShell() {
  const bar = $('#topbar');
  bar.hidden = !user || user.kind === 'guest';
  if (bar.hidden) return;
  const nav = clear($('#nav'));
  for (const n of NAV) {
    if (!n.roles.includes(user.role)) continue;
    nav.append(h('a.nav-item', { href: n.path, testid: 'nav-' + n.key, dataset: { nav: n.key } }, icon(n.icon, 16), h('span', t('nav.' + n.key))));
  }
  $('#who').textContent = `${user.username} · ${t('role.' + user.role)}${user.region ? ' · ' + user.region : ''}`;
  $('#lang').textContent = lang() === 'zh' ? 'EN' : '中文';
  $('#lang').setAttribute('aria-label', t('lang.switch'));
  applyStatic(document);
}

function markNav(key) {
  for (const a of document.querySelectorAll('#nav .nav-item')) {
    const on = a.dataset.nav === key;
    a.classList.toggle('active', on);
    if (on) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
}

// expose adds page helpers to window.pingan until the page is left.
function expose(obj) {
  Object.assign(window.pingan, obj);
  pageKeys.push(...Object.keys(obj));
}

async function show(path, search) {
  const seq = ++renderSeq;
  const m = match(path) || (path === '/' ? { name: '', params: {} } : { name: 'notfound', params: {} });
  const query = new URLSearchParams(search);
  const page = PAGES[m.name];
  // Room guests arrive with a join token in the link and no account.
  if (page && page.guest && query.get('token') && !hasUserToken()) {
    setGuestToken(query.get('token'));
    user = { username: query.get('name') || t('guest'), role: 'guest', region: '', kind: 'guest' };
  } else if (!user && m.name !== 'login') {
    try { user = await loadMe(); } catch { user = null; }
    if (seq !== renderSeq) return;
    if (!user) { navigate('/login?next=' + encodeURIComponent(path + search), true); return; }
    connect();
    renderShell();
  }
  if (m.name === 'login' && user && user.kind !== 'guest') { navigate(query.get('next') || home(), true); return; }
  if (!m.name) { navigate(home(), true); return; }
  if (cleanup) { try { cleanup(); } catch (e) { console.warn(e); } cleanup = null; }
  for (const k of pageKeys) delete window.pingan[k];
  pageKeys = [];
  document.body.dataset.page = m.name;
  document.body.dataset.ready = '';
  markNav(page ? page.nav : '');
  if (!page) { clear(main).append(notice('notfound.title', 'notfound.body')); document.body.dataset.ready = '1'; return; }
  if (page.roles && user.kind !== 'guest' && !page.roles.includes(user.role)) {
    clear(main).append(notice('forbidden.title', 'forbidden.body'));
    document.body.dataset.ready = '1';
    return;
  }
  let mod;
  try { mod = await page.load(); } catch (e) {
    console.warn('page module', e);
    clear(main).append(notice('err.title', 'err.module'));
    return;
  }
  if (seq !== renderSeq) return;
  document.title = `${t('nav.' + (page.nav || m.name))} · ${t('app.name')}`;
  const ctx = { params: m.params, query, user, navigate, expose, name: m.name, onLogin };
  try {
    cleanup = mod.default(main, ctx) || null;
  } catch (e) {
    console.warn('page render', e);
    clear(main).append(notice('err.title', 'err.module'));
  }
  document.body.dataset.ready = '1';
}

function notice(title, body) {
  return h('section.page.notice', { testid: 'notice' }, h('h2', t(title)), h('p', t(body)), h('p', h('a', { href: home() }, t('back.home'))));
}

async function onLogin(token, next) {
  setToken(token);
  user = await loadMe();
  connect();
  renderShell();
  navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : home(), true);
}

async function logout() {
  try { await post('/api/v1/auth/logout', {}, { noRedirect: true }); } catch { /* already gone */ }
  setToken('');
  user = null;
  disconnect();
  renderShell();
  navigate('/login', true);
}

onUnauthorized(() => {
  if (!user || user.kind === 'guest') return;
  setToken('');
  user = null;
  disconnect();
  renderShell();
  navigate('/login?next=' + encodeURIComponent(location.pathname + location.search), true);
});

$('#logout').addEventListener('click', logout);
$('#lang').addEventListener('click', () => { setLang(lang() === 'zh' ? 'en' : 'zh'); renderShell(); refresh(); });
onStatus((s) => {
  const el = $('#ws-status');
  el.dataset.state = s;
  el.title = t('ws.' + s);
  el.setAttribute('aria-label', t('ws.' + s));
});
const tick = () => { $('#clock').textContent = new Date().toLocaleString(lang() === 'zh' ? 'zh-CN' : 'en-GB', { hour12: false }); };
setInterval(tick, 1000);
tick();
applyStatic(document);

// Helpers for browser tests (chromedp). Page-specific ones (play,
// tileStats, …) are added by the page that owns them.
window.pingan = {
  version: 1,
  user: () => user,
  navigate: (p) => navigate(p),
  lang: (l) => { if (l) { setLang(l); renderShell(); refresh(); } return lang(); },
  page: () => document.body.dataset.page,
  async login(username, password) {
    const r = await post('/api/v1/auth/login', { username, password }, { noRedirect: true });
    await onLogin(r.token, location.pathname === '/login' ? new URLSearchParams(location.search).get('next') : location.pathname);
    return user;
  },
  logout,
};

start(show);
