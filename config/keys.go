package config

import (
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Keys returns the YAML path of every setting of the file schema
// ("listen", "scim.tokens", "mapping.groups", ...), sorted. Sections
// (scim, bigcommerce, ...) are not settings themselves; a map such as
// mapping.groups is one setting.
func Keys() []string {
	var out []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || name == "" || name == "-" {
				continue
			}
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Duration]() {
				walk(f.Type, prefix+name+".")
				continue
			}
			out = append(out, prefix+name)
		}
	}
	walk(reflect.TypeFor[Config](), "")
	sort.Strings(out)
	return out
}

// value returns the field at the YAML path key, or an invalid Value.
func (c Config) value(key string) reflect.Value {
	v := reflect.ValueOf(c)
	for _, part := range strings.Split(key, ".") {
		if v.Kind() != reflect.Struct {
			return reflect.Value{}
		}
		f, ok := fieldByTag(v.Type(), part)
		if !ok {
			return reflect.Value{}
		}
		v = v.FieldByIndex(f.Index)
	}
	return v
}

// ValueString renders the setting at the YAML path key as an environment
// variable would spell it: durations as "6h" or "30s", lists joined by
// commas, a secret by its value. Use it for defaults and documentation, never
// for a configuration that holds real secrets.
func (c Config) ValueString(key string) string {
	v := c.value(key)
	if !v.IsValid() {
		return ""
	}
	return renderValue(v)
}

func renderValue(v reflect.Value) string {
	switch x := v.Interface().(type) {
	case time.Duration:
		if x == 0 {
			return "0"
		}
		return shortDuration(x)
	case Secret:
		return x.Value()
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case int, int64:
		return strconv.FormatInt(v.Int(), 10)
	}
	switch v.Kind() {
	case reflect.Slice:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = renderValue(v.Index(i))
		}
		return strings.Join(parts, ",")
	case reflect.Map:
		if v.Len() == 0 {
			return ""
		}
		return "(" + strconv.Itoa(v.Len()) + " entries)"
	}
	return ""
}
