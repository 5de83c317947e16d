// Messages for playback problems the player can name, as key → [中文,
// English] like messages.js (kept in their own file so the player's codec
// check stays a self-contained change).
import { lang } from './i18n.js';

const MESSAGES = {
  no_h264: ['此浏览器无法解码 H.264 视频（Firefox 需要联网安装 OpenH264 插件）。请使用 Chrome、Edge 或 Chromium 观看，或为 Firefox 安装 OpenH264 后刷新。',
    'This browser cannot decode H.264 video (Firefox needs the OpenH264 plugin, downloaded from the internet). Watch in Chrome, Edge or Chromium, or install OpenH264 in Firefox and reload.'],
  no_codec: ['此浏览器不支持该视频流的编码（例如 H.265），请换用支持该编码的浏览器。',
    "This browser does not support this stream's video codec (for example H.265); use a browser that does."],
};

// playbackMessage returns the localized text for a player error code, or
// '' when the code has none.
export function playbackMessage(code) {
  const m = MESSAGES[code];
  return m ? m[lang() === 'en' ? 1 : 0] : '';
}
