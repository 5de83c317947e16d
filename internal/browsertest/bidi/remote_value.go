package bidi

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
)

// maxValueDepth bounds how deep DecodeRemoteValue recurses; the browser is
// asked for at most serializeDepth levels anyway.
const (
	maxValueDepth  = 64
	serializeDepth = 16
)

// remoteValue is the wire form of a script.RemoteValue (§ "script.RemoteValue").
type remoteValue struct {
	Type     string          `json:"type"`
	Value    json.RawMessage `json:"value,omitempty"`
	SharedID string          `json:"sharedId,omitempty"`
	Handle   string          `json:"handle,omitempty"`
}

// DecodeRemoteValue turns a RemoteValue into plain Go values the way
// JSON.stringify would see it: undefined and null → nil, numbers →
// float64 (NaN and ±Infinity → nil, "-0" → 0), bigint → json.Number,
// arrays and sets → []any, objects and maps → map[string]any, dates →
// their ISO string, regexps → "/pattern/flags". Values with no JSON form
// (nodes, windows, functions, promises…) become {"type": …} plus their
// sharedId or handle when the browser gave one.
func DecodeRemoteValue(raw []byte) (any, error) {
	return decodeRemote(raw, 0)
}

func decodeRemote(raw []byte, depth int) (any, error) {
	if depth > maxValueDepth {
		return nil, fmt.Errorf("%w: nested deeper than %d", ErrBadRemoteValue, maxValueDepth)
	}
	var v remoteValue
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadRemoteValue, err)
	}
	switch v.Type {
	case "undefined", "null":
		return nil, nil
	case "string", "date":
		var s string
		if err := json.Unmarshal(v.Value, &s); err != nil {
			return nil, fmt.Errorf("%w: %s value: %w", ErrBadRemoteValue, v.Type, err)
		}
		return s, nil
	case "boolean":
		var b bool
		if err := json.Unmarshal(v.Value, &b); err != nil {
			return nil, fmt.Errorf("%w: boolean value: %w", ErrBadRemoteValue, err)
		}
		return b, nil
	case "number":
		return decodeNumber(v.Value)
	case "bigint":
		var s string
		if err := json.Unmarshal(v.Value, &s); err != nil {
			return nil, fmt.Errorf("%w: bigint value: %w", ErrBadRemoteValue, err)
		}
		n := json.Number(s)
		if _, err := json.Marshal(n); err != nil {
			return nil, fmt.Errorf("%w: bigint %q", ErrBadRemoteValue, s)
		}
		return n, nil
	case "regexp":
		var re struct {
			Pattern string `json:"pattern"`
			Flags   string `json:"flags"`
		}
		if err := json.Unmarshal(v.Value, &re); err != nil {
			return nil, fmt.Errorf("%w: regexp value: %w", ErrBadRemoteValue, err)
		}
		return "/" + re.Pattern + "/" + re.Flags, nil
	case "array", "set":
		return decodeList(v.Value, depth)
	case "object", "map":
		return decodeEntries(v.Value, depth)
	case "":
		return nil, fmt.Errorf("%w: no type", ErrBadRemoteValue)
	default:
		out := map[string]any{"type": v.Type}
		if v.SharedID != "" {
			out["sharedId"] = v.SharedID
		}
		if v.Handle != "" {
			out["handle"] = v.Handle
		}
		return out, nil
	}
}

func decodeNumber(raw json.RawMessage) (any, error) {
	var f float64
	if err := json.Unmarshal(raw, &f); err == nil {
		return f, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("%w: number value: %w", ErrBadRemoteValue, err)
	}
	switch s {
	case "-0":
		return math.Copysign(0, -1), nil
	case "NaN", "Infinity", "-Infinity":
		return nil, nil
	}
	return nil, fmt.Errorf("%w: number %q", ErrBadRemoteValue, s)
}

// decodeList decodes the value of an array or set; an absent value (the
// serialization depth ran out) is nil.
func decodeList(raw json.RawMessage, depth int) (any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("%w: list value: %w", ErrBadRemoteValue, err)
	}
	out := make([]any, 0, len(items))
	for _, it := range items {
		x, err := decodeRemote(it, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

// decodeEntries decodes the value of an object or map: a list of
// [key, value] pairs where the key is a string or (maps) a RemoteValue.
func decodeEntries(raw json.RawMessage, depth int) (any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var pairs [][]json.RawMessage
	if err := json.Unmarshal(raw, &pairs); err != nil {
		return nil, fmt.Errorf("%w: object value: %w", ErrBadRemoteValue, err)
	}
	out := make(map[string]any, len(pairs))
	for _, p := range pairs {
		if len(p) != 2 {
			return nil, fmt.Errorf("%w: object entry with %d parts", ErrBadRemoteValue, len(p))
		}
		key, err := decodeKey(p[0], depth)
		if err != nil {
			return nil, err
		}
		val, err := decodeRemote(p[1], depth+1)
		if err != nil {
			return nil, err
		}
		out[key] = val
	}
	return out, nil
}

func decodeKey(raw json.RawMessage, depth int) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	k, err := decodeRemote(raw, depth+1)
	if err != nil {
		return "", err
	}
	if s, ok := k.(string); ok {
		return s, nil
	}
	b, err := json.Marshal(k)
	if err != nil {
		return "", fmt.Errorf("%w: map key: %w", ErrBadRemoteValue, err)
	}
	return string(b), nil
}

// LocalValue encodes a Go value as a script.LocalValue argument for
// CallFunction: nil, bool, numbers, strings, slices and string-keyed maps
// (structs go through their JSON form).
func LocalValue(v any) (any, error) {
	return localValue(v, 0)
}

func localValue(v any, depth int) (any, error) {
	if depth > maxValueDepth {
		return nil, fmt.Errorf("bidi: argument nested deeper than %d", maxValueDepth)
	}
	switch x := v.(type) {
	case nil:
		return map[string]any{"type": "null"}, nil
	case string:
		return map[string]any{"type": "string", "value": x}, nil
	case bool:
		return map[string]any{"type": "boolean", "value": x}, nil
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return nil, fmt.Errorf("bidi: argument %q: %w", x, err)
		}
		return numberValue(f), nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return numberValue(float64(rv.Int())), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return numberValue(float64(rv.Uint())), nil
	case reflect.Float32, reflect.Float64:
		return numberValue(rv.Float()), nil
	case reflect.Slice, reflect.Array:
		items := make([]any, 0, rv.Len())
		for i := range rv.Len() {
			x, err := localValue(rv.Index(i).Interface(), depth+1)
			if err != nil {
				return nil, err
			}
			items = append(items, x)
		}
		return map[string]any{"type": "array", "value": items}, nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return nil, fmt.Errorf("bidi: argument map key type %s is not a string", rv.Type().Key())
		}
		keys := make([]string, 0, rv.Len())
		for _, k := range rv.MapKeys() {
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		pairs := make([]any, 0, len(keys))
		for _, k := range keys {
			x, err := localValue(rv.MapIndex(reflect.ValueOf(k).Convert(rv.Type().Key())).Interface(), depth+1)
			if err != nil {
				return nil, err
			}
			pairs = append(pairs, []any{k, x})
		}
		return map[string]any{"type": "object", "value": pairs}, nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return map[string]any{"type": "null"}, nil
		}
		return localValue(rv.Elem().Interface(), depth+1)
	case reflect.Struct:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("bidi: argument: %w", err)
		}
		var generic any
		if err := json.Unmarshal(b, &generic); err != nil {
			return nil, fmt.Errorf("bidi: argument: %w", err)
		}
		return localValue(generic, depth+1)
	}
	return nil, fmt.Errorf("bidi: argument of type %T has no LocalValue form", v)
}

func numberValue(f float64) map[string]any {
	switch {
	case math.IsNaN(f):
		return map[string]any{"type": "number", "value": "NaN"}
	case math.IsInf(f, 1):
		return map[string]any{"type": "number", "value": "Infinity"}
	case math.IsInf(f, -1):
		return map[string]any{"type": "number", "value": "-Infinity"}
	case f == 0 && math.Signbit(f):
		return map[string]any{"type": "number", "value": "-0"}
	}
	return map[string]any{"type": "number", "value": f}
}
