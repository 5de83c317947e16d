// The PTZ pad of the selected tile's channel: 8 directions and zoom
// (press = move, release = stop; keyboard Enter/Space the same), a speed
// slider, and presets (set / goto / remove by index).
import { h, toast } from '../dom.js';
import { t } from '../i18n.js';
import { post, encPath } from '../api.js';

const PAD = [
  ['upleft', '↖'], ['up', '↑'], ['upright', '↗'],
  ['left', '←'], null, ['right', '→'],
  ['downleft', '↙'], ['down', '↓'], ['downright', '↘'],
];

export class PTZPanel {
  constructor() {
    this.target = null; // {device, channel}
    this.moving = '';
    this.speed = h('input', { type: 'range', min: 1, max: 255, value: 128, testid: 'ptz-speed', 'aria-label': t('ptz.speed') });
    this.speedOut = h('output', '128');
    this.speed.addEventListener('input', () => { this.speedOut.textContent = this.speed.value; });
    const pad = h('div.ptz-pad', { role: 'group', 'aria-label': t('ptz.title') },
      PAD.map((b) => (b ? this.button(b[0], b[1]) : h('span.ptz-center', { 'aria-hidden': 'true' }, '●'))));
    const zoom = h('div.ptz-zoom', this.button('zoomin', '＋', t('ptz.zoomin')), this.button('zoomout', '－', t('ptz.zoomout')));
    this.index = h('input', { type: 'number', min: 1, max: 255, value: 1, testid: 'preset-index', 'aria-label': t('ptz.presetIndex') });
    const presets = h('div.ptz-presets',
      h('label.inline', t('ptz.preset'), this.index),
      ['goto', 'set', 'remove'].map((a) => h('button.small', { type: 'button', testid: 'preset-' + a, dataset: { action: a }, onclick: () => this.preset(a) }, t('ptz.' + a))));
    this.quick = h('div.ptz-quick', [1, 2, 3, 4, 5, 6].map((n) =>
      h('button.small.ghost', { type: 'button', testid: 'preset-goto-' + n, title: t('ptz.gotoN', { n }), onclick: () => { this.index.value = n; this.preset('goto'); } }, String(n))));
    this.note = h('p.muted.ptz-note', { testid: 'ptz-note' });
    this.el = h('section.panel.ptz', { testid: 'ptz-panel', 'aria-label': t('ptz.title') },
      h('h3', t('ptz.title')), this.note, h('div.ptz-body', pad, zoom),
      h('label.inline', t('ptz.speed'), this.speed, this.speedOut), h('h4', t('ptz.presets')), presets, this.quick);
    this.setTarget(null);
  }

  button(action, glyph, title) {
    const start = (e) => {
      if (e.type === 'pointerdown') { e.preventDefault(); e.currentTarget.setPointerCapture?.(e.pointerId); }
      this.move(action);
    };
    const stop = () => { if (this.moving) this.move('stop'); };
    return h('button.ptz-btn', {
      type: 'button', testid: 'ptz-' + action, dataset: { action }, title: title || t('ptz.' + action), 'aria-label': title || t('ptz.' + action),
      onpointerdown: start, onpointerup: stop, onpointercancel: stop, onlostpointercapture: stop,
      onkeydown: (e) => { if ((e.key === 'Enter' || e.key === ' ') && !e.repeat) { e.preventDefault(); start(e); } },
      onkeyup: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); stop(); } },
      onblur: stop,
    }, glyph);
  }

  setTarget(target, label = '') {
    if (this.moving && this.target) this.move('stop');
    this.target = target;
    this.el.classList.toggle('disabled', !target);
    for (const b of this.el.querySelectorAll('button')) b.disabled = !target;
    this.note.textContent = target ? t('ptz.for', { c: label || target.channel }) : t('ptz.none');
  }

  url(kind) {
    return `/api/v1/devices/${encPath(this.target.device)}/channels/${encPath(this.target.channel)}/${kind}`;
  }

  async move(action) {
    if (!this.target) return;
    this.moving = action === 'stop' ? '' : action;
    try {
      await post(this.url('ptz'), { action, speed: Number(this.speed.value) });
    } catch (e) {
      this.moving = '';
      toast(t('ptz.failed', { e: e.message }), 'error');
    }
  }

  async preset(action) {
    if (!this.target) return;
    const index = Number(this.index.value);
    if (!(index >= 1 && index <= 255)) { toast(t('ptz.badIndex'), 'error'); return; }
    try {
      await post(this.url('presets'), { action, index });
      toast(t('ptz.presetDone', { a: t('ptz.' + action), n: index }), 'ok', 2000);
    } catch (e) {
      toast(t('ptz.failed', { e: e.message }), 'error');
    }
  }
}
