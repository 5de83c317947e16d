// Tile is one video cell of a wall: a <video>, a name bar, a bitrate/fps
// overlay, a status line (connecting, reconnecting in N s, offline) and
// drop handling. The wall page and the incident mini wall both use it.
import { h, icon } from './dom.js';
import { t } from './i18n.js';
import { Player } from './player.js';
import { playbackMessage } from './playback-messages.js';

export const STREAM_MIME = 'application/x-pingan-stream';
export const TILE_MIME = 'application/x-pingan-tile';

export class Tile {
  constructor(index, { onSelect, onDrop, onSwap, onClose, hint } = {}) {
    this.index = index;
    this.hint = hint || t('wall.dropHint');
    this.streamId = '';
    this.label = '';
    this.player = null;
    this.video = h('video', { autoplay: true, muted: true, playsInline: true, testid: 'tile-video' });
    this.video.muted = true;
    this.nameEl = h('span.tile-name', { testid: 'tile-name' });
    this.statsEl = h('span.tile-stats', { testid: 'tile-stats' });
    this.statusEl = h('div.tile-status', { testid: 'tile-status' });
    this.closeBtn = h('button.tile-btn', { type: 'button', testid: 'tile-close', title: t('wall.closeTile'), 'aria-label': t('wall.closeTile'),
      onclick: (e) => { e.stopPropagation(); if (onClose) onClose(this); else this.clear(); } }, icon('close', 14));
    this.fullBtn = h('button.tile-btn', { type: 'button', testid: 'tile-fullscreen', title: t('wall.fullscreen'), 'aria-label': t('wall.fullscreen'),
      onclick: (e) => { e.stopPropagation(); this.fullscreen(); } }, icon('full', 14));
    this.el = h('div.tile', {
      testid: 'tile', tabindex: 0, role: 'button', dataset: { index: String(index), stream: '', state: 'empty' },
      'aria-label': t('wall.tile', { n: index + 1 }),
      onclick: () => onSelect && onSelect(this),
      ondblclick: () => this.fullscreen(),
      onkeydown: (e) => {
        if (e.target !== this.el) return;
        if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); if (onSelect) onSelect(this); }
        if (e.key === 'Delete' && this.streamId) { if (onClose) onClose(this); else this.clear(); }
        if (e.key === 'f') this.fullscreen();
      },
      ondragover: (e) => {
        const types = [...e.dataTransfer.types];
        if (types.includes(STREAM_MIME) || types.includes(TILE_MIME) || types.includes('text/plain')) {
          e.preventDefault();
          e.dataTransfer.dropEffect = types.includes(TILE_MIME) ? 'move' : 'copy';
          this.el.classList.add('drop');
        }
      },
      ondragleave: () => this.el.classList.remove('drop'),
      ondrop: (e) => {
        e.preventDefault();
        this.el.classList.remove('drop');
        const from = e.dataTransfer.getData(TILE_MIME);
        if (from !== '' && onSwap) { onSwap(Number(from), this.index); return; }
        let data = e.dataTransfer.getData(STREAM_MIME);
        if (!data) data = JSON.stringify({ stream: e.dataTransfer.getData('text/plain').trim() });
        try {
          const d = JSON.parse(data);
          if (d.stream && onDrop) onDrop(this, d.stream, d.label || d.stream);
        } catch { /* not ours */ }
      },
      draggable: true,
      ondragstart: (e) => {
        if (!this.streamId) { e.preventDefault(); return; }
        e.dataTransfer.setData(TILE_MIME, String(this.index));
        e.dataTransfer.effectAllowed = 'move';
      },
    }, this.video,
    h('div.tile-bar', this.nameEl, h('span.tile-tools', this.fullBtn, this.closeBtn)),
    this.statusEl, h('div.tile-foot', this.statsEl),
    h('span.tile-no', String(index + 1)));
    this.render();
  }

  play(streamId, label) {
    if (this.player && this.streamId === streamId) return;
    this.stopPlayer();
    this.streamId = streamId;
    this.label = label || streamId;
    this.el.dataset.stream = streamId;
    this.player = new Player(this.video, streamId, { onState: () => this.render() });
    this.player.start();
    this.render();
  }

  clear() {
    this.stopPlayer();
    this.streamId = '';
    this.label = '';
    this.el.dataset.stream = '';
    this.render();
  }

  stopPlayer() {
    if (this.player) { this.player.stop(); this.player = null; }
  }

  stats() { return this.player ? this.player.stats() : { framesDecoded: 0, fps: 0, kbps: 0, state: 'empty' }; }

  fullscreen() {
    if (document.fullscreenElement === this.el) document.exitFullscreen().catch(() => {});
    else this.el.requestFullscreen().catch(() => {});
  }

  render() {
    const p = this.player;
    const state = p ? p.state : 'empty';
    this.el.dataset.state = state;
    this.el.dataset.error = (p && p.error) || '';
    this.nameEl.textContent = this.label;
    this.nameEl.title = this.streamId;
    this.closeBtn.hidden = !this.streamId;
    let status = '';
    if (!p) status = this.hint;
    else if (state === 'connecting' || state === 'waiting') status = t('wall.connecting');
    else if (state === 'retrying') {
      const secs = Math.max(0, Math.ceil((p.retryAt - Date.now()) / 1000));
      status = t(p.error === 'not_found' ? 'wall.noStream' : 'wall.retrying', { s: secs });
    } else if (state === 'error') status = playbackMessage(p.error) || t('wall.failed', { e: p.error });
    this.statusEl.textContent = status;
    this.statusEl.hidden = !status;
    if (p && state === 'playing') {
      const s = p.stats();
      const res = s.width ? ` · ${s.width}×${s.height}` : '';
      this.statsEl.textContent = `${s.fps.toFixed(0)} fps · ${s.kbps >= 1000 ? (s.kbps / 1000).toFixed(1) + ' Mb/s' : s.kbps + ' kb/s'}${res}${s.codec ? ' · ' + s.codec : ''}`;
    } else this.statsEl.textContent = '';
  }

  destroy() { this.stopPlayer(); this.el.remove(); }
}
