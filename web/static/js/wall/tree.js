// The device tree of the video wall: region → device → channel from the
// GB28181 registry, plus the hub's plain streams (demo/*, rtsp/*, …) as a
// second group. Online dots, a search box, drag to a tile, click (or
// Enter) to play into the selected tile. Live updates over the devices
// and streams topics reload it.
import { h, clear, debounce } from '../dom.js';
import { t } from '../i18n.js';
import { get, encPath, unavailable } from '../api.js';
import { subscribe } from '../ws.js';
import { STREAM_MIME } from '../tile.js';

const EAGER_DEVICES = 40; // load every device's channels up front below this

export class DeviceTree {
  constructor({ onPick }) {
    this.onPick = onPick;
    this.devices = [];
    this.channels = new Map();   // device id → [channel]
    this.streams = [];
    this.open = new Set(['streams']);
    this.byStream = new Map();   // stream id → {device, channel}
    this.filter = '';
    this.devicesMissing = false;
    this.search = h('input.tree-search', { type: 'search', testid: 'tree-search', placeholder: t('tree.search'),
      'aria-label': t('tree.search'), oninput: debounce(() => { this.filter = this.search.value.trim().toLowerCase(); this.render(); }, 150) });
    this.list = h('ul.tree', { role: 'tree', testid: 'device-tree', 'aria-label': t('tree.title') });
    this.summary = h('div.tree-summary', { testid: 'tree-summary' });
    this.el = h('div.tree-panel', h('div.tree-head', this.search), this.summary, this.list);
    const reload = debounce(() => this.load(), 500);
    this.unsubs = [subscribe('devices', reload, reload), subscribe('streams', reload, reload)];
    this.poll = setInterval(() => this.load(true), 30000);
  }

  destroy() { this.unsubs.forEach((u) => u()); clearInterval(this.poll); }

  async load(quiet = false) {
    const [devs, streams] = await Promise.allSettled([get('/api/v1/devices'), get('/api/v1/streams')]);
    if (devs.status === 'fulfilled') {
      this.devices = devs.value.devices || [];
      this.devicesMissing = false;
    } else {
      this.devices = [];
      this.devicesMissing = !unavailable(devs.reason) ? false : true;
    }
    this.streams = streams.status === 'fulfilled' ? (streams.value.streams || []) : [];
    if (!quiet && this.open.size <= 1) {
      for (const d of this.devices) this.open.add('r:' + (d.region || ''));
    }
    const eager = this.devices.length <= EAGER_DEVICES ? this.devices : this.devices.filter((d) => this.open.has('d:' + d.id));
    await Promise.all(eager.map((d) => this.loadChannels(d.id)));
    this.render();
  }

  async loadChannels(id) {
    try {
      const r = await get('/api/v1/devices/' + encPath(id) + '/channels');
      const chans = r.channels || [];
      this.channels.set(id, chans);
      for (const c of chans) if (c.stream_id) this.byStream.set(c.stream_id, { device: id, channel: c.id, ptz: c.ptz_type, name: c.name });
    } catch { this.channels.set(id, []); }
  }

  // channelOf says which GB28181 channel a stream is (for PTZ), if any.
  channelOf(stream) {
    if (this.byStream.has(stream)) return this.byStream.get(stream);
    const m = /^gb\/(\d{20})$/.exec(stream || '');
    if (m) {
      for (const [dev, chans] of this.channels) if (chans.some((c) => c.id === m[1])) return { device: dev, channel: m[1] };
    }
    return null;
  }

  nameOf(stream) {
    const c = this.byStream.get(stream);
    return c ? c.name || stream : stream;
  }

  match(...s) { return !this.filter || s.some((x) => String(x || '').toLowerCase().includes(this.filter)); }

  toggle(key) {
    if (this.open.has(key)) this.open.delete(key); else this.open.add(key);
    if (key.startsWith('d:') && !this.channels.has(key.slice(2))) this.loadChannels(key.slice(2)).then(() => this.render());
    this.render();
  }

  group(key, label, count, children, attrs = {}) {
    const expanded = this.open.has(key) || !!this.filter;
    return h('li', { role: 'treeitem', 'aria-expanded': String(expanded), ...attrs },
      h('button.tree-row.tree-group', { type: 'button', onclick: () => this.toggle(key) },
        h('span.caret', expanded ? '▾' : '▸'), label, count ? h('span.tree-count', count) : null),
      expanded ? h('ul', { role: 'group' }, children) : null);
  }

  leaf(stream, label, online, extra, attrs = {}) {
    return h('li', { role: 'treeitem' },
      h('button.tree-row.tree-leaf' + (online ? '' : '.off'), {
        type: 'button', draggable: true, testid: 'tree-node', dataset: { stream, ...attrs }, title: stream,
        onclick: () => this.onPick(stream, label),
        ondragstart: (e) => {
          e.dataTransfer.setData(STREAM_MIME, JSON.stringify({ stream, label }));
          e.dataTransfer.setData('text/plain', stream);
          e.dataTransfer.effectAllowed = 'copy';
        },
      }, h('span.dot' + (online ? '.on' : '.off'), { 'aria-label': online ? t('online') : t('offline') }), h('span.tree-label', label), extra));
  }

  render() {
    const regions = new Map();
    let chOnline = 0, chTotal = 0;
    for (const d of this.devices) {
      const chans = this.channels.get(d.id) || [];
      chTotal += chans.length;
      chOnline += chans.filter((c) => c.online).length;
      const shown = chans.filter((c) => this.match(c.name, c.id, d.name, d.id));
      if (!this.match(d.name, d.id, d.region) && !shown.length) continue;
      const r = d.region || '';
      if (!regions.has(r)) regions.set(r, []);
      const kids = (this.channels.has(d.id) ? (this.match(d.name, d.id) ? chans : shown) : [])
        .map((c) => this.leaf(c.stream_id || 'gb/' + c.id, c.name || c.id, c.online, c.ptz_type ? h('span.tag', 'PTZ') : null,
          { kind: 'channel', device: d.id, channel: c.id }));
      if (this.open.has('d:' + d.id) && !this.channels.has(d.id)) kids.push(h('li.tree-empty', t('loading')));
      regions.get(r).push(this.group('d:' + d.id,
        h('span.tree-label', h('span.dot' + (d.online ? '.on' : '.off')), ' ', d.name || d.id),
        `${(chans.filter((c) => c.online).length)}/${d.channel_count ?? chans.length}`, kids,
        { 'data-testid': 'tree-device', 'data-device': d.id }));
    }
    const top = [];
    for (const [r, devs] of [...regions].sort()) {
      top.push(this.group('r:' + r, h('span.tree-label', t('tree.region', { r: r || t('tree.noRegion') })), String(devs.length), devs,
        { 'data-testid': 'tree-region', 'data-region': r }));
    }
    const streams = this.streams.filter((s) => this.match(s.id));
    top.push(this.group('streams', h('span.tree-label', t('tree.streams')), `${streams.filter((s) => s.online).length}/${streams.length}`,
      streams.length ? streams.map((s) => this.leaf(s.id, s.id, s.online, s.fps ? h('span.tree-meta', Math.round(s.fps) + 'fps') : null, { kind: 'stream' }))
        : [h('li.tree-empty', t('tree.noStreams'))], { 'data-testid': 'tree-streams' }));
    if (!this.devices.length) {
      top.unshift(h('li.tree-empty', this.devicesMissing ? t('tree.noDeviceApi') : t('tree.noDevices')));
    }
    clear(this.list).append(...top);
    this.summary.textContent = t('tree.summary', { d: this.devices.filter((d) => d.online).length, dt: this.devices.length, c: chOnline, ct: chTotal });
  }
}
