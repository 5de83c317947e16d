package dispatch

import (
	"fmt"
	"net/url"
	"strings"

	qrcode "github.com/skip2/go-qrcode"
)

// QRPNG returns a 256×256 PNG QR code of the case's console link,
// consoleURL + "/cases/" + code (GET /api/v1/cases/{code}/qr.png).
func QRPNG(code CaseID, consoleURL string) ([]byte, error) {
	if !code.Valid() {
		return nil, ErrNotFound
	}
	u, err := url.Parse(consoleURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, invalid("console_url", "want an http(s) URL")
	}
	link := strings.TrimRight(consoleURL, "/") + "/cases/" + string(code)
	png, err := qrcode.Encode(link, qrcode.Medium, 256)
	if err != nil {
		return nil, fmt.Errorf("dispatch: QR code: %w", err)
	}
	return png, nil
}
