package codec

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// decodeObject decodes the JSON object s as json.Unmarshal does into a
// map[string]any (objects as map[string]any, arrays as []any, numbers as
// float64), without reflection. It handles the JSON the store writes (what
// json.Marshal produces) on a fast path and hands anything it does not fully
// understand (invalid JSON, invalid UTF-8, \u escapes of surrogates, a value
// other than an object at the top) to json.Unmarshal, so its result and
// errors are always json.Unmarshal's. Users are decoded on every read; a page
// of 100 spent a seventh of the bridge's CPU in json.Unmarshal.
func decodeObject(s string) (map[string]any, error) {
	d := decoder{s: s}
	d.space()
	if d.i < len(d.s) && d.s[d.i] == '{' {
		if v, ok := d.value(0); ok && d.end() {
			return v.(map[string]any), nil
		}
	}
	var m map[string]any
	err := json.Unmarshal([]byte(s), &m)
	return m, err
}

// decoder is a cursor over a JSON text; its methods report false for
// anything they leave to json.Unmarshal.
type decoder struct {
	s string
	i int
}

// maxDepth bounds nesting on the fast path (json.Unmarshal allows 10,000).
const maxDepth = 100

func (d *decoder) space() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) value(depth int) (any, bool) {
	if depth > maxDepth {
		return nil, false
	}
	d.space()
	if d.i >= len(d.s) {
		return nil, false
	}
	switch c := d.s[d.i]; {
	case c == '{':
		return d.object(depth)
	case c == '[':
		return d.array(depth)
	case c == '"':
		return d.str()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	default:
		return d.number()
	}
}

func (d *decoder) literal(word string) bool {
	if !strings.HasPrefix(d.s[d.i:], word) {
		return false
	}
	d.i += len(word)
	return true
}

func (d *decoder) object(depth int) (any, bool) {
	d.i++ // {
	m := map[string]any{}
	d.space()
	if d.i < len(d.s) && d.s[d.i] == '}' {
		d.i++
		return m, true
	}
	for {
		d.space()
		if d.i >= len(d.s) || d.s[d.i] != '"' {
			return nil, false
		}
		k, ok := d.str()
		if !ok {
			return nil, false
		}
		if !d.next(':') {
			return nil, false
		}
		v, ok := d.value(depth + 1)
		if !ok {
			return nil, false
		}
		m[k.(string)] = v
		d.space()
		if d.i >= len(d.s) {
			return nil, false
		}
		switch d.s[d.i] {
		case ',':
			d.i++
		case '}':
			d.i++
			return m, true
		default:
			return nil, false
		}
	}
}

func (d *decoder) array(depth int) (any, bool) {
	d.i++ // [
	a := []any{}
	d.space()
	if d.i < len(d.s) && d.s[d.i] == ']' {
		d.i++
		return a, true
	}
	for {
		v, ok := d.value(depth + 1)
		if !ok {
			return nil, false
		}
		a = append(a, v)
		d.space()
		if d.i >= len(d.s) {
			return nil, false
		}
		switch d.s[d.i] {
		case ',':
			d.i++
		case ']':
			d.i++
			return a, true
		default:
			return nil, false
		}
	}
}

// str reads a string at d.i (its opening quote).
func (d *decoder) str() (any, bool) {
	start := d.i + 1
	i := start
	for i < len(d.s) {
		c := d.s[i]
		switch {
		case c == '"':
			d.i = i + 1
			return strings.Clone(d.s[start:i]), true
		case c == '\\':
			return d.escaped(start, i)
		case c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(d.s[i:])
			if r == utf8.RuneError && size == 1 {
				return nil, false
			}
			i += size
		default:
			i++
		}
	}
	return nil, false
}

// escaped continues str from the first backslash at i.
func (d *decoder) escaped(start, i int) (any, bool) {
	var b strings.Builder
	b.WriteString(d.s[start:i])
	for i < len(d.s) {
		c := d.s[i]
		switch {
		case c == '"':
			d.i = i + 1
			return b.String(), true
		case c == '\\':
			if i+1 >= len(d.s) {
				return nil, false
			}
			switch e := d.s[i+1]; e {
			case '"', '\\', '/':
				b.WriteByte(e)
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				if i+6 > len(d.s) {
					return nil, false
				}
				n, err := strconv.ParseUint(d.s[i+2:i+6], 16, 32)
				if err != nil || (n >= 0xD800 && n < 0xE000) {
					return nil, false // surrogates: json.Unmarshal decides
				}
				b.WriteRune(rune(n))
				i += 4
			default:
				return nil, false
			}
			i += 2
		case c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(d.s[i:])
			if r == utf8.RuneError && size == 1 {
				return nil, false
			}
			b.WriteString(d.s[i : i+size])
			i += size
		default:
			b.WriteByte(c)
			i++
		}
	}
	return nil, false
}

// number reads a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *decoder) number() (any, bool) {
	s, i := d.s, d.i
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return nil, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return nil, false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return nil, false
		}
	}
	f, err := strconv.ParseFloat(s[d.i:i], 64)
	if err != nil {
		return nil, false
	}
	d.i = i
	return f, true
}

// decodeEmails reads the stored form of a user's emails as json.Unmarshal
// reads it into []emailJSON, without reflection: an array of objects whose
// keys are exactly "v" and "t" (strings) and "p" (a boolean). It reports false
// for anything else (other keys, which json.Unmarshal would match without
// regard to case, nulls, other types, invalid JSON), which the caller hands to
// json.Unmarshal. Emails are decoded with every user read; through
// json.Unmarshal they cost more than the user's whole attributes object.
func decodeEmails(s string) ([]store.Email, bool) {
	d := decoder{s: s}
	if !d.next('[') {
		return nil, false
	}
	var out []store.Email
	if d.next(']') {
		return out, d.end()
	}
	for {
		e, ok := d.email()
		if !ok {
			return nil, false
		}
		out = append(out, e)
		switch {
		case d.next(','):
		case d.next(']'):
			return out, d.end()
		default:
			return nil, false
		}
	}
}

// email reads one stored email object.
func (d *decoder) email() (store.Email, bool) {
	var e store.Email
	if !d.next('{') {
		return e, false
	}
	if d.next('}') {
		return e, true
	}
	for {
		// The keys are matched as written (the store writes them without
		// escapes); any other spelling goes to json.Unmarshal.
		d.space()
		var k byte
		switch {
		case d.literal(`"v"`):
			k = 'v'
		case d.literal(`"t"`):
			k = 't'
		case d.literal(`"p"`):
			k = 'p'
		default:
			return e, false
		}
		if !d.next(':') {
			return e, false
		}
		d.space()
		switch k {
		case 'v', 't':
			if d.i >= len(d.s) || d.s[d.i] != '"' {
				return e, false
			}
			v, ok := d.str()
			if !ok {
				return e, false
			}
			if k == 'v' {
				e.Value = v.(string)
			} else {
				e.Type = v.(string)
			}
		case 'p':
			switch {
			case d.literal("true"):
				e.Primary = true
			case d.literal("false"):
				e.Primary = false
			default:
				return e, false
			}
		}
		switch {
		case d.next(','):
		case d.next('}'):
			return e, true
		default:
			return e, false
		}
	}
}

// next skips white space and then c, reporting whether c was there.
func (d *decoder) next(c byte) bool {
	d.space()
	if d.i < len(d.s) && d.s[d.i] == c {
		d.i++
		return true
	}
	return false
}

// end reports whether only white space is left.
func (d *decoder) end() bool {
	d.space()
	return d.i == len(d.s)
}
