package configs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// EnvPrefix starts every environment override: PINGAN_HTTP_ADDR sets http.addr.
const EnvPrefix = "PINGAN_"

// Load builds the configuration: defaults, then the YAML file at path (if
// path is not empty), then overrides from environ (os.Environ() form), then
// validation.
func Load(path string, environ []string) (Config, error) {
	cfg := Default()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return Config{}, fmt.Errorf("read config: %w", err)
		}
		if err := DecodeYAML(data, &cfg); err != nil {
			return Config{}, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := applyEnv(&cfg, environ); err != nil {
		return Config{}, err
	}
	cfg.Normalize()
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// DecodeYAML decodes data over cfg. Unknown keys and values of the wrong type
// are errors that name the key.
func DecodeYAML(data []byte, cfg *Config) error {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, errEOF) || err.Error() == "EOF" {
			return nil // empty file: defaults
		}
		return fmt.Errorf("parse YAML: %w", err)
	}
	if len(root.Content) == 0 {
		return nil
	}
	return decodeNode(root.Content[0], reflect.ValueOf(cfg).Elem(), "")
}

var errEOF = errors.New("EOF")

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// decodeNode walks a mapping against a struct so that unknown keys and bad
// values are reported with their full dotted key.
func decodeNode(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if v.Kind() == reflect.Struct && !reflect.PointerTo(v.Type()).Implements(unmarshalerType) {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return nil
		}
		if n.Kind != yaml.MappingNode {
			return fmt.Errorf("%s: want a mapping", keyName(path))
		}
		fields := yamlFields(v.Type())
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			sub := joinKey(path, key)
			idx, ok := fields[key]
			if !ok {
				return fmt.Errorf("%s: unknown key", sub)
			}
			if err := decodeNode(n.Content[i+1], v.Field(idx), sub); err != nil {
				return err
			}
		}
		return nil
	}
	if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			v.Set(reflect.Zero(v.Type()))
			return nil
		}
		if n.Kind != yaml.SequenceNode {
			return fmt.Errorf("%s: want a list", keyName(path))
		}
		out := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			if err := decodeNode(item, out.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		v.Set(out)
		return nil
	}
	if v.Kind() == reflect.Map && v.Type().Key().Kind() == reflect.String {
		return decodeMap(n, v, path)
	}
	fresh := reflect.New(v.Type())
	if err := n.Decode(fresh.Interface()); err != nil {
		return fmt.Errorf("%s: %s", keyName(path), cleanYAMLError(err))
	}
	v.Set(fresh.Elem())
	return nil
}

// decodeMap decodes a string-keyed mapping value by value, so a bad value
// is reported with its key.
func decodeMap(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		v.Set(reflect.Zero(v.Type()))
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("%s: want a mapping", keyName(path))
	}
	out := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		key := n.Content[i].Value
		elem := reflect.New(v.Type().Elem()).Elem()
		if err := decodeNode(n.Content[i+1], elem, joinKey(path, key)); err != nil {
			return err
		}
		out.SetMapIndex(reflect.ValueOf(key), elem)
	}
	v.Set(out)
	return nil
}

func cleanYAMLError(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		return strings.Join(te.Errors, "; ")
	}
	return err.Error()
}

func keyName(path string) string {
	if path == "" {
		return "(top level)"
	}
	return path
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlFields maps YAML keys to field indexes.
func yamlFields(t reflect.Type) map[string]int {
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			m[name] = i
		}
	}
	return m
}

// applyEnv applies PINGAN_<SECTION>_<KEY> overrides. Keys of scalar fields
// and string lists (comma-separated) can be set; an unknown PINGAN_ variable
// is an error, so a typo is noticed.
func applyEnv(cfg *Config, environ []string) error {
	targets := map[string]envTarget{}
	collectEnv(reflect.ValueOf(cfg).Elem(), "", "", targets)
	var unknown []string
	for _, kv := range environ {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) {
			continue
		}
		t, ok := targets[name]
		if !ok {
			if ignoredEnv[name] {
				continue
			}
			unknown = append(unknown, name)
			continue
		}
		if err := setFromString(t.v, val); err != nil {
			return fmt.Errorf("%s (%s): %w", name, t.key, err)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("%s: unknown configuration variable", strings.Join(unknown, ", "))
	}
	return nil
}

// ignoredEnv are PINGAN_ variables that are not configuration keys.
var ignoredEnv = map[string]bool{
	"PINGAN_TEST_REDIS":   true,
	"PINGAN_TEST_SHORT":   true,
	"PINGAN_CONFIG":       true,
	"PINGAN_ARTIFACTS":    true,
	"PINGAN_TEST_BROWSER": true,
}

type envTarget struct {
	key string
	v   reflect.Value
}

var durationType = reflect.TypeFor[Duration]()

func collectEnv(v reflect.Value, path, env string, out map[string]envTarget) {
	t := v.Type()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		key := joinKey(path, name)
		envName := env + strings.ToUpper(name)
		if env == "" {
			envName = EnvPrefix + strings.ToUpper(name)
		}
		f := v.Field(i)
		switch {
		case f.Kind() == reflect.Struct:
			collectEnv(f, key, envName+"_", out)
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() != reflect.String:
			// lists of records (sources, case types) are set in the file only
		case f.Kind() == reflect.Map:
		default:
			out[envName] = envTarget{key: key, v: f}
		}
	}
}

func setFromString(v reflect.Value, s string) error {
	if v.Type() == durationType {
		d, err := ParseDuration(s)
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("want true or false, got %q", s)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return fmt.Errorf("want an integer, got %q", s)
		}
		v.SetInt(n)
	case reflect.Float64:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return fmt.Errorf("want a number, got %q", s)
		}
		v.SetFloat(f)
	case reflect.Slice:
		var items []string
		for p := range strings.SplitSeq(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				items = append(items, p)
			}
		}
		v.Set(reflect.ValueOf(items))
	default:
		return fmt.Errorf("cannot be set from the environment")
	}
	return nil
}
