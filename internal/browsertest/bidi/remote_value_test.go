package bidi

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"testing"
)

// casesRemote feeds TestDecodeRemoteValue and seeds FuzzDecodeRemoteValue.
var casesRemote = []struct {
	name string
	in   string
	want any
	err  bool
}{
	{"undefined", `{"type":"undefined"}`, nil, false},
	{"null", `{"type":"null"}`, nil, false},
	{"string", `{"type":"string","value":"楼道"}`, "楼道", false},
	{"number", `{"type":"number","value":1.5}`, 1.5, false},
	{"NaN", `{"type":"number","value":"NaN"}`, nil, false},
	{"Infinity", `{"type":"number","value":"-Infinity"}`, nil, false},
	{"bad number", `{"type":"number","value":"lots"}`, nil, true},
	{"boolean", `{"type":"boolean","value":true}`, true, false},
	{"bigint", `{"type":"bigint","value":"12345678901234567890"}`, json.Number("12345678901234567890"), false},
	{"bad bigint", `{"type":"bigint","value":"12x"}`, nil, true},
	{"date", `{"type":"date","value":"2026-01-02T03:04:05.000Z"}`, "2026-01-02T03:04:05.000Z", false},
	{"regexp", `{"type":"regexp","value":{"pattern":"a+","flags":"g"}}`, "/a+/g", false},
	{"array", `{"type":"array","value":[{"type":"number","value":1},{"type":"string","value":"x"},{"type":"null"}]}`,
		[]any{1.0, "x", nil}, false},
	{"set", `{"type":"set","value":[{"type":"boolean","value":false}]}`, []any{false}, false},
	{"array past depth", `{"type":"array"}`, nil, false},
	{"object", `{"type":"object","value":[["a",{"type":"number","value":2}],["b",{"type":"object","value":[["c",{"type":"string","value":"d"}]]}]]}`,
		map[string]any{"a": 2.0, "b": map[string]any{"c": "d"}}, false},
	{"map with value key", `{"type":"map","value":[[{"type":"number","value":1},{"type":"string","value":"one"}]]}`,
		map[string]any{"1": "one"}, false},
	{"node", `{"type":"node","sharedId":"f5e3.1","value":{"nodeType":1}}`, map[string]any{"type": "node", "sharedId": "f5e3.1"}, false},
	{"function", `{"type":"function","handle":"h1"}`, map[string]any{"type": "function", "handle": "h1"}, false},
	{"object entry of 3", `{"type":"object","value":[["a",{"type":"null"},1]]}`, nil, true},
	{"string without value", `{"type":"string"}`, nil, true},
	{"no type", `{"value":1}`, nil, true},
	{"not json", `{"type":`, nil, true},
	{"bad nested", `{"type":"array","value":[{"type":"string","value":1}]}`, nil, true},
}

func TestDecodeRemoteValue(t *testing.T) {
	for _, c := range casesRemote {
		t.Run(c.name, func(t *testing.T) {
			got, err := DecodeRemoteValue([]byte(c.in))
			if c.err {
				if !errors.Is(err, ErrBadRemoteValue) {
					t.Fatalf("err %v, want ErrBadRemoteValue", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %#v, want %#v", got, c.want)
			}
		})
	}
}

func TestDecodeRemoteValueDepthLimit(t *testing.T) {
	in := `{"type":"null"}`
	for range maxValueDepth + 2 {
		in = `{"type":"array","value":[` + in + `]}`
	}
	if _, err := DecodeRemoteValue([]byte(in)); !errors.Is(err, ErrBadRemoteValue) {
		t.Fatalf("deep value: %v", err)
	}
}

func TestLocalValue(t *testing.T) {
	type point struct {
		X int    `json:"x"`
		L string `json:"label"`
	}
	for _, c := range []struct {
		in   any
		want string
	}{
		{nil, `{"type":"null"}`},
		{"s", `{"type":"string","value":"s"}`},
		{3, `{"type":"number","value":3}`},
		{math.Inf(1), `{"type":"number","value":"Infinity"}`},
		{math.Copysign(0, -1), `{"type":"number","value":"-0"}`},
		{[]string{"a"}, `{"type":"array","value":[{"type":"string","value":"a"}]}`},
		{map[string]bool{"b": true, "a": false}, `{"type":"object","value":[["a",{"type":"boolean","value":false}],["b",{"type":"boolean","value":true}]]}`},
		{point{1, "p"}, `{"type":"object","value":[["label",{"type":"string","value":"p"}],["x",{"type":"number","value":1}]]}`},
	} {
		v, err := LocalValue(c.in)
		if err != nil {
			t.Fatalf("%#v: %v", c.in, err)
		}
		b, _ := json.Marshal(v)
		if string(b) != c.want {
			t.Fatalf("%#v: %s, want %s", c.in, b, c.want)
		}
	}
	if _, err := LocalValue(make(chan int)); err == nil {
		t.Fatal("a channel has no LocalValue form")
	}
	if _, err := LocalValue(map[int]int{1: 1}); err == nil {
		t.Fatal("int map keys have no LocalValue form")
	}
}

// FuzzDecodeRemoteValue: any input decodes to JSON-encodable values or
// fails with ErrBadRemoteValue; never a panic.
func FuzzDecodeRemoteValue(f *testing.F) {
	for _, c := range casesRemote {
		f.Add([]byte(c.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := DecodeRemoteValue(b)
		if err != nil {
			if !errors.Is(err, ErrBadRemoteValue) {
				t.Fatalf("error %v is not ErrBadRemoteValue", err)
			}
			return
		}
		if _, err := json.Marshal(v); err != nil {
			t.Fatalf("decoded value %#v does not encode: %v", v, err)
		}
	})
}
