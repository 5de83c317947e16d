package bidi

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

func id(n uint64) *uint64 { return &n }

// casesMessage feeds TestDecodeMessage and seeds FuzzDecodeMessage.
var casesMessage = []struct {
	name string
	in   string
	want Message
	err  bool
}{
	{"success", `{"type":"success","id":3,"result":{"context":"abc"}}`,
		Message{Type: "success", ID: id(3), Result: json.RawMessage(`{"context":"abc"}`)}, false},
	{"success empty result", `{"type":"success","id":1,"result":{}}`,
		Message{Type: "success", ID: id(1), Result: json.RawMessage(`{}`)}, false},
	{"error", `{"type":"error","id":7,"error":"no such frame","message":"Browsing context with id x not found","stacktrace":"..."}`,
		Message{Type: "error", ID: id(7), Error: "no such frame", ErrMessage: "Browsing context with id x not found", Stacktrace: "..."}, false},
	{"error without id", `{"type":"error","id":null,"error":"invalid argument","message":"bad json"}`,
		Message{Type: "error", Error: "invalid argument", ErrMessage: "bad json"}, false},
	{"event", `{"type":"event","method":"log.entryAdded","params":{"type":"console","level":"error","text":"boom"}}`,
		Message{Type: "event", Method: "log.entryAdded", Params: json.RawMessage(`{"type":"console","level":"error","text":"boom"}`)}, false},
	{"unknown fields ignored", `{"type":"success","id":2,"result":{},"extra":[1,2]}`,
		Message{Type: "success", ID: id(2), Result: json.RawMessage(`{}`)}, false},
	{"success without id", `{"type":"success","result":{}}`, Message{}, true},
	{"success with array result", `{"type":"success","id":1,"result":[]}`, Message{}, true},
	{"success with null result", `{"type":"success","id":1,"result":null}`, Message{}, true},
	{"negative id", `{"type":"success","id":-1,"result":{}}`, Message{}, true},
	{"error without code", `{"type":"error","id":1}`, Message{}, true},
	{"event without method", `{"type":"event","params":{}}`, Message{}, true},
	{"event with string params", `{"type":"event","method":"x","params":"y"}`, Message{}, true},
	{"unknown type", `{"type":"hello","id":1}`, Message{}, true},
	{"no type", `{"id":1,"result":{}}`, Message{}, true},
	{"not an object", `[1,2,3]`, Message{}, true},
	{"truncated", `{"type":"success","id":1,"res`, Message{}, true},
	{"empty", ``, Message{}, true},
}

func TestDecodeMessage(t *testing.T) {
	for _, c := range casesMessage {
		t.Run(c.name, func(t *testing.T) {
			got, err := DecodeMessage([]byte(c.in))
			if c.err {
				if !errors.Is(err, ErrBadMessage) {
					t.Fatalf("err %v, want ErrBadMessage", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

// FuzzDecodeMessage: any input either fails with ErrBadMessage or decodes
// to a message that re-encodes and decodes to the same message.
func FuzzDecodeMessage(f *testing.F) {
	for _, c := range casesMessage {
		f.Add([]byte(c.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMessage(b)
		if err != nil {
			if !errors.Is(err, ErrBadMessage) {
				t.Fatalf("error %v is not ErrBadMessage", err)
			}
			return
		}
		enc, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", m, err)
		}
		m2, err := DecodeMessage(enc)
		if err != nil {
			t.Fatalf("re-decode %s: %v", enc, err)
		}
		if !sameMessage(m, m2) {
			t.Fatalf("round trip changed the message:\n%+v\n%+v", m, m2)
		}
	})
}

// sameMessage compares messages, their raw JSON by value.
func sameMessage(a, b Message) bool {
	if !sameJSON(a.Result, b.Result) || !sameJSON(a.Params, b.Params) {
		return false
	}
	a.Result, b.Result, a.Params, b.Params = nil, nil, nil, nil
	return reflect.DeepEqual(a, b)
}

// sameJSON compares two JSON texts by value (numbers by their text, so
// 1e400 survives).
func sameJSON(a, b json.RawMessage) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	va, erra := decodeNumbers(a)
	vb, errb := decodeNumbers(b)
	return erra == nil && errb == nil && reflect.DeepEqual(va, vb)
}

func decodeNumbers(raw json.RawMessage) (any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}
