package bidi

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// prefs go into the fresh profile's user.js: a quiet, offline browser
// (no updates, telemetry, first-run pages or calls to Mozilla services),
// WebRTC allowed on loopback without prompts, fake cameras and
// microphones, autoplay allowed. The remote agent adds its own
// recommended preferences on top (remote.prefs.recommended).
var prefs = map[string]any{
	// Updates and add-ons.
	"app.update.disabledForTesting":            true,
	"app.update.auto":                          false,
	"app.update.checkInstallTime":              false,
	"extensions.update.enabled":                false,
	"extensions.update.autoUpdateDefault":      false,
	"extensions.getAddons.cache.enabled":       false,
	"extensions.blocklist.enabled":             false,
	"extensions.systemAddon.update.enabled":    false,
	"browser.search.update":                    false,
	"media.gmp-manager.url":                    "",
	"media.gmp-manager.updateEnabled":          false,
	"media.gmp-gmpopenh264.autoupdate":         false,
	"media.gmp-widevinecdm.autoupdate":         false,
	"media.gmp-provider.enabled":               false,
	"browser.startup.homepage_override.mstone": "ignore",

	// Telemetry, studies, experiments.
	"datareporting.policy.dataSubmissionEnabled":         false,
	"datareporting.healthreport.uploadEnabled":           false,
	"toolkit.telemetry.enabled":                          false,
	"toolkit.telemetry.unified":                          false,
	"toolkit.telemetry.archive.enabled":                  false,
	"toolkit.telemetry.server":                           "data:,",
	"app.normandy.enabled":                               false,
	"app.normandy.api_url":                               "",
	"app.shield.optoutstudies.enabled":                   false,
	"messaging-system.rsexperimentloader.enabled":        false,
	"browser.ping-centre.telemetry":                      false,
	"browser.newtabpage.activity-stream.feeds.telemetry": false,
	"browser.newtabpage.activity-stream.telemetry":       false,
	"browser.crashReports.unsubmittedCheck.autoSubmit2":  false,

	// First-run and default-browser pages.
	"browser.shell.checkDefaultBrowser":       false,
	"browser.startup.page":                    0,
	"browser.startup.homepage":                "about:blank",
	"startup.homepage_welcome_url":            "about:blank",
	"startup.homepage_welcome_url.additional": "",
	"browser.aboutwelcome.enabled":            false,
	"trailhead.firstrun.didSeeAboutWelcome":   true,
	"browser.newtabpage.enabled":              false,
	"browser.tabs.warnOnClose":                false,
	"browser.sessionstore.resume_from_crash":  false,
	"toolkit.startup.max_resumed_crashes":     -1,
	"datareporting.policy.firstRunURL":        "",
	"browser.uitour.enabled":                  false,

	// No network calls to Mozilla services.
	"services.settings.server":                        "data:,#remote-settings-dummy/v1",
	"browser.safebrowsing.malware.enabled":            false,
	"browser.safebrowsing.phishing.enabled":           false,
	"browser.safebrowsing.downloads.enabled":          false,
	"browser.safebrowsing.blockedURIs.enabled":        false,
	"browser.safebrowsing.provider.mozilla.updateURL": "",
	"browser.safebrowsing.provider.google4.updateURL": "",
	"network.captive-portal-service.enabled":          false,
	"network.connectivity-service.enabled":            false,
	"captivedetect.canonicalURL":                      "",
	"network.dns.disablePrefetch":                     true,
	"network.prefetch-next":                           false,
	"network.http.speculative-parallel-limit":         0,
	"geo.provider.network.url":                        "",
	"browser.region.network.url":                      "",
	"browser.region.update.enabled":                   false,
	"identity.fxaccounts.enabled":                     false,
	"browser.discovery.enabled":                       false,
	"browser.contentblocking.report.lockwise.enabled": false,
	"security.certerrors.mitm.priming.enabled":        false,
	"network.trr.mode":                                5,

	// Media: no permission prompts, fake devices, autoplay, WebRTC on
	// loopback with plain host candidates (no mDNS names).
	"media.navigator.permission.disabled":               true,
	"media.navigator.streams.fake":                      true,
	"media.autoplay.default":                            0,
	"media.autoplay.blocking_policy":                    0,
	"media.peerconnection.ice.loopback":                 true,
	"media.peerconnection.ice.obfuscate_host_addresses": false,
	"media.peerconnection.ice.default_address_only":     false,
	"media.peerconnection.ice.no_host":                  false,
}

// writeUserJS writes prefs (plus extra, which wins) to dir/user.js.
func writeUserJS(dir string, extra map[string]any) error {
	all := make(map[string]any, len(prefs)+len(extra))
	for k, v := range prefs {
		all[k] = v
	}
	for k, v := range extra {
		all[k] = v
	}
	names := make([]string, 0, len(all))
	for k := range all {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("// Written by pingan/internal/browsertest/bidi for a test profile.\n")
	for _, k := range names {
		v, err := prefValue(all[k])
		if err != nil {
			return fmt.Errorf("bidi: pref %s: %w", k, err)
		}
		fmt.Fprintf(&b, "user_pref(%s, %s);\n", strconv.Quote(k), v)
	}
	if err := os.WriteFile(filepath.Join(dir, "user.js"), []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("bidi: write user.js: %w", err)
	}
	return nil
}

func prefValue(v any) (string, error) {
	switch x := v.(type) {
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case string:
		return strconv.Quote(x), nil
	}
	return "", fmt.Errorf("type %T is not a pref type (bool, int, string)", v)
}
