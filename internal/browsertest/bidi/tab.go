package bidi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Tab is one top-level browsing context.
type Tab struct {
	b  *Browser
	ID string
}

// Tabs returns the top-level browsing contexts (browsingContext.getTree).
func (b *Browser) Tabs(ctx context.Context) ([]*Tab, error) {
	var res struct {
		Contexts []struct {
			Context string `json:"context"`
		} `json:"contexts"`
	}
	if err := b.conn.Call(ctx, "browsingContext.getTree", map[string]any{"maxDepth": 0}, &res); err != nil {
		return nil, err
	}
	tabs := make([]*Tab, 0, len(res.Contexts))
	for _, c := range res.Contexts {
		tabs = append(tabs, &Tab{b: b, ID: c.Context})
	}
	return tabs, nil
}

// NewTab opens a tab (browsingContext.create) with a width×height viewport
// (0 keeps the default).
func (b *Browser) NewTab(ctx context.Context, width, height int) (*Tab, error) {
	var res struct {
		Context string `json:"context"`
	}
	if err := b.conn.Call(ctx, "browsingContext.create", map[string]any{"type": "tab"}, &res); err != nil {
		return nil, err
	}
	t := &Tab{b: b, ID: res.Context}
	if width > 0 && height > 0 {
		if err := t.SetViewport(ctx, width, height); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// SetViewport sets the CSS size of the tab's viewport.
func (t *Tab) SetViewport(ctx context.Context, width, height int) error {
	return t.b.conn.Call(ctx, "browsingContext.setViewport", map[string]any{
		"context": t.ID, "viewport": map[string]int{"width": width, "height": height},
	}, nil)
}

// Navigate loads url and waits until the document has loaded (readiness
// "complete").
func (t *Tab) Navigate(ctx context.Context, url string) error {
	return t.b.conn.Call(ctx, "browsingContext.navigate", map[string]any{
		"context": t.ID, "url": url, "wait": "complete",
	}, nil)
}

// Close closes the tab.
func (t *Tab) Close(ctx context.Context) error {
	return t.b.conn.Call(ctx, "browsingContext.close", map[string]any{"context": t.ID}, nil)
}

// Logs returns what the tab logged so far (console messages of every
// level and uncaught exceptions).
func (t *Tab) Logs() []LogEntry { return t.b.Logs(t.ID) }

// Errors returns console errors and uncaught exceptions of the tab.
func (t *Tab) Errors() []LogEntry {
	var out []LogEntry
	for _, e := range t.Logs() {
		if e.Level == "error" || e.Type == "javascript" {
			out = append(out, e)
		}
	}
	return out
}

// scriptResult is the answer of script.evaluate and script.callFunction.
type scriptResult struct {
	Type             string          `json:"type"` // "success" or "exception"
	Result           json.RawMessage `json:"result"`
	ExceptionDetails struct {
		Text         string `json:"text"`
		LineNumber   int    `json:"lineNumber"`
		ColumnNumber int    `json:"columnNumber"`
	} `json:"exceptionDetails"`
}

func (t *Tab) script(ctx context.Context, method string, params map[string]any) (json.RawMessage, error) {
	params["target"] = map[string]any{"context": t.ID}
	params["awaitPromise"] = true
	params["resultOwnership"] = "none"
	params["serializationOptions"] = map[string]any{"maxObjectDepth": serializeDepth, "maxDomDepth": 0}
	var res scriptResult
	if err := t.b.conn.Call(ctx, method, params, &res); err != nil {
		return nil, err
	}
	if res.Type == "exception" {
		d := res.ExceptionDetails
		return nil, &ScriptError{Text: d.Text, Line: d.LineNumber, Column: d.ColumnNumber}
	}
	return res.Result, nil
}

// Evaluate runs a JavaScript expression in the tab's page, awaits it when
// it is a promise, and decodes the value into out (when not nil) through
// its JSON form (see DecodeRemoteValue).
func (t *Tab) Evaluate(ctx context.Context, expr string, out any) error {
	raw, err := t.script(ctx, "script.evaluate", map[string]any{"expression": expr})
	if err != nil {
		return err
	}
	return decodeInto(raw, out)
}

// CallFunction calls a JavaScript function declaration ("(a, b) => …" or
// "async function (a) {…}") with args (see LocalValue), awaits its
// promise and decodes the value into out (when not nil).
func (t *Tab) CallFunction(ctx context.Context, fn string, out any, args ...any) error {
	locals := make([]any, 0, len(args))
	for _, a := range args {
		l, err := LocalValue(a)
		if err != nil {
			return err
		}
		locals = append(locals, l)
	}
	raw, err := t.script(ctx, "script.callFunction", map[string]any{"functionDeclaration": fn, "arguments": locals})
	if err != nil {
		return err
	}
	return decodeInto(raw, out)
}

func decodeInto(raw json.RawMessage, out any) error {
	if out == nil {
		return nil
	}
	v, err := DecodeRemoteValue(raw)
	if err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("bidi: result: %w", err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("bidi: result %s into %T: %w", b, out, err)
	}
	return nil
}

// Screenshot captures the tab's viewport as a PNG.
func (t *Tab) Screenshot(ctx context.Context) ([]byte, error) {
	var res struct {
		Data string `json:"data"`
	}
	if err := t.b.conn.Call(ctx, "browsingContext.captureScreenshot", map[string]any{
		"context": t.ID, "origin": "viewport", "format": map[string]any{"type": "image/png"},
	}, &res); err != nil {
		return nil, err
	}
	png, err := base64.StdEncoding.DecodeString(res.Data)
	if err != nil {
		return nil, fmt.Errorf("bidi: screenshot data: %w", err)
	}
	return png, nil
}

// element scrolls the first element matching a CSS selector into view and
// returns its shared id (for input actions).
func (t *Tab) element(ctx context.Context, selector string) (string, error) {
	raw, err := t.script(ctx, "script.callFunction", map[string]any{
		"functionDeclaration": `(sel) => { const el = document.querySelector(sel); if (el) el.scrollIntoView({block: 'center', inline: 'center'}); return el; }`,
		"arguments":           []any{map[string]any{"type": "string", "value": selector}},
	})
	if err != nil {
		return "", err
	}
	var v remoteValue
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadRemoteValue, err)
	}
	if v.Type != "node" || v.SharedID == "" {
		return "", fmt.Errorf("%w %q", ErrNoElement, selector)
	}
	return v.SharedID, nil
}

// Click clicks the middle of the first element matching selector with a
// real (synthesized by the browser) mouse click.
func (t *Tab) Click(ctx context.Context, selector string) error {
	id, err := t.element(ctx, selector)
	if err != nil {
		return err
	}
	return t.perform(ctx, map[string]any{
		"type": "pointer", "id": "mouse", "parameters": map[string]any{"pointerType": "mouse"},
		"actions": []any{
			map[string]any{"type": "pointerMove", "x": 0, "y": 0, "origin": map[string]any{"type": "element", "element": map[string]any{"sharedId": id}}},
			map[string]any{"type": "pointerDown", "button": 0},
			map[string]any{"type": "pointerUp", "button": 0},
		},
	})
}

// Type clicks the element matching selector (to focus it) and types text
// into it as key presses, one character at a time.
func (t *Tab) Type(ctx context.Context, selector, text string) error {
	if err := t.Click(ctx, selector); err != nil {
		return err
	}
	keys := make([]any, 0, 2*utf8.RuneCountInString(text))
	for _, r := range text {
		keys = append(keys,
			map[string]any{"type": "keyDown", "value": string(r)},
			map[string]any{"type": "keyUp", "value": string(r)})
	}
	return t.perform(ctx, map[string]any{"type": "key", "id": "keyboard", "actions": keys})
}

func (t *Tab) perform(ctx context.Context, source map[string]any) error {
	if err := t.b.conn.Call(ctx, "input.performActions", map[string]any{"context": t.ID, "actions": []any{source}}, nil); err != nil {
		return err
	}
	return t.b.conn.Call(ctx, "input.releaseActions", map[string]any{"context": t.ID}, nil)
}
