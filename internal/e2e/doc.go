// Package e2e holds end-to-end tests: a whole hub in-process on loopback,
// driven by real clients (headless Chromium, ffmpeg, sipp, pion peers).
package e2e
