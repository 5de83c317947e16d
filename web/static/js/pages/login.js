// The sign-in page.
import { h, clear } from '../dom.js';
import { t, lang, setLang } from '../i18n.js';
import { post } from '../api.js';

export default function loginPage(root, ctx) {
  const err = h('p.error', { role: 'alert', testid: 'login-error' });
  const user = h('input', { name: 'username', autocomplete: 'username', required: true, testid: 'login-username' });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true, testid: 'login-password' });
  const btn = h('button.primary.block', { type: 'submit', testid: 'login-submit' }, t('login.submit'));
  const form = h('form.login-card', { testid: 'login-form', onsubmit: submit },
    h('div.login-brand', h('img', { src: '/favicon.svg', alt: '', width: 48, height: 48 }),
      h('div', h('h1', t('app.name')), h('p.muted', t('login.tagline')))),
    h('label.field', h('span', t('login.username')), user),
    h('label.field', h('span', t('login.password')), pass),
    btn, err,
    h('div.login-foot', h('button.link', { type: 'button', testid: 'login-lang', onclick: () => { setLang(lang() === 'zh' ? 'en' : 'zh'); loginPage(root, ctx); } },
      lang() === 'zh' ? 'English' : '中文'), h('span.muted', 'Pingan Hub')));

  async function submit(ev) {
    ev.preventDefault();
    btn.disabled = true;
    err.textContent = '';
    try {
      const r = await post('/api/v1/auth/login', { username: user.value.trim(), password: pass.value }, { noRedirect: true });
      await ctx.onLogin(r.token, ctx.query.get('next'));
    } catch (e) {
      err.textContent = e.status === 401 || e.status === 403 ? t('login.bad') : e.status === 429 ? t('login.throttled') : e.message;
      btn.disabled = false;
      pass.select();
    }
  }

  clear(root).append(h('div.login-page', { testid: 'page-login' }, form));
  user.focus();
}
