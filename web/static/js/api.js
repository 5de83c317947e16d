// The HTTP API client: one fetch wrapper that adds the token, decodes the
// hub's JSON errors ({"error":{"code","message","details"}}) into ApiError
// and never throws anything else, so pages can treat 404/501 quietly.
import { t } from './i18n.js';

const KEY = 'pingan.token';
let token = localStorage.getItem(KEY) || '';
let guest = ''; // a room join token for this page only (meeting links)
let unauthorized = () => {};

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || {};
  }
}

export function getToken() { return guest || token; }
export function hasUserToken() { return !!token; }
export function setToken(tok) {
  token = tok || '';
  if (token) localStorage.setItem(KEY, token); else localStorage.removeItem(KEY);
}
export function setGuestToken(tok) { guest = tok || ''; }
export function onUnauthorized(fn) { unauthorized = fn; }

// unavailable is true for errors that mean "this hub has no such feature
// (yet)": the page shows a calm notice instead of an error.
export function unavailable(e) {
  return e instanceof ApiError && [404, 405, 501].includes(e.status) && (e.code === 'not_found' || e.code === 'not_available' || e.status !== 404);
}
// missing is true for any 404.
export function missing(e) { return e instanceof ApiError && e.status === 404; }

export async function api(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json', ...(opts.headers || {}) };
  const tok = getToken();
  if (tok) headers.Authorization = 'Bearer ' + tok;
  let payload;
  if (body !== undefined && body !== null) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body: payload, signal: opts.signal });
  } catch (e) {
    if (e && e.name === 'AbortError') throw new ApiError(0, 'aborted', 'aborted');
    throw new ApiError(0, 'network', t('err.network'));
  }
  const ct = res.headers.get('Content-Type') || '';
  let data = null;
  if (ct.includes('application/json')) {
    try { data = await res.json(); } catch { data = null; }
  } else if (ct.includes('text/html')) {
    // An older hub serves the console for unknown API paths.
    throw new ApiError(404, 'not_available', t('err.unavailable'));
  } else if (opts.text) {
    data = await res.text();
  }
  if (!res.ok) {
    const e = (data && data.error) || {};
    if (res.status === 401 && !opts.noRedirect) unauthorized();
    throw new ApiError(res.status, e.code || 'http_' + res.status, e.message || res.statusText || t('err.http', { s: res.status }), e.details);
  }
  return data === null ? {} : data;
}

export const get = (p, o) => api('GET', p, null, o);
export const post = (p, b, o) => api('POST', p, b ?? {}, o);
export const patch = (p, b, o) => api('PATCH', p, b, o);
export const put = (p, b, o) => api('PUT', p, b, o);
export const del = (p, o) => api('DELETE', p, null, o);

// withToken adds ?access_token= for <img>, <video> and downloads, which
// cannot send an Authorization header.
export function withToken(url) {
  const tok = getToken();
  if (!tok) return url;
  return url + (url.includes('?') ? '&' : '?') + 'access_token=' + encodeURIComponent(tok);
}

// qs builds a query string from the non-empty values of obj.
export function qs(obj) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(obj)) if (v !== undefined && v !== null && v !== '') p.set(k, v);
  const s = p.toString();
  return s ? '?' + s : '';
}

// enc encodes a path segment but keeps '/' (stream ids contain it).
export function encPath(s) { return String(s).split('/').map(encodeURIComponent).join('/'); }
