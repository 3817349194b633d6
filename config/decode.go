package config

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// yaml.v3 reports decoding problems as "line N: cannot unmarshal !!TAG `VALUE`
// into TYPE" and "line N: field NAME not found in type T". The value may be a
// secret (a token written where a list was expected), so the messages are
// rewritten to name the field path and the expected type, never the value.
var (
	typeErrorPattern    = regexp.MustCompile(`^line (\d+): cannot unmarshal !!(\w+) .* into (\S+)$`)
	unknownFieldPattern = regexp.MustCompile(`^line (\d+): field (\S+) not found in type \S+$`)
	lineOnlyPattern     = regexp.MustCompile(`^line (\d+): `)
)

// explainDecodeError turns one yaml.v3 decoding message into
// "path: message (line N of FILE)".
func explainDecodeError(root *yaml.Node, msg, file string) error {
	where := func(line int) string { return fmt.Sprintf("line %d of %s", line, file) }
	if m := unknownFieldPattern.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		path := pathAt(root, line)
		if path == "" {
			path = m[2]
		}
		if guess := closestKey(path); guess != "" {
			return fmt.Errorf("%s: unknown key; did you mean %s? (%s)", path, guess, where(line))
		}
		return fmt.Errorf("%s: unknown key (%s)", path, where(line))
	}
	if m := typeErrorPattern.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		path := pathAt(root, line)
		if path == "" {
			path = "(top level)"
		}
		return fmt.Errorf("%s: want %s, got %s (%s)", path, describeType(m[3]), describeTag(m[2]), where(line))
	}
	if m := lineOnlyPattern.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if path := pathAt(root, line); path != "" {
			return fmt.Errorf("%s: cannot be decoded (%s)", path, where(line))
		}
		return fmt.Errorf("cannot decode %s", where(line))
	}
	return fmt.Errorf("cannot decode %s", file)
}

// describeType names a Go type the way an operator thinks of it.
func describeType(goType string) string {
	switch {
	case goType == "time.Duration":
		return "a duration such as 30s, 15m or 6h"
	case goType == "config.Secret", goType == "string":
		return "a string"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "a whole number"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	default:
		return "a mapping of keys to values"
	}
}

// describeTag names a YAML tag.
func describeTag(tag string) string {
	switch tag {
	case "str":
		return "a string"
	case "int":
		return "a whole number"
	case "float":
		return "a number"
	case "bool":
		return "a boolean"
	case "seq":
		return "a list"
	case "map":
		return "a mapping"
	case "null":
		return "null"
	default:
		return "a " + tag + " value"
	}
}

// pathAt returns the dotted path ("bigcommerce.timeout", "scim.tokens[1]") of
// the deepest key or list item that starts on line, or "" when none does.
func pathAt(root *yaml.Node, line int) string {
	best := ""
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				if k.Line == line || v.Line == line {
					best = p
				}
				walk(v, p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				if c.Line == line && c.Kind == yaml.ScalarNode {
					best = p
				}
				walk(c, p)
			}
		}
	}
	walk(root, "")
	return best
}

// closestKey suggests the known key nearest to the last element of path (an
// unknown key), or "" when none is close.
func closestKey(path string) string {
	parts := strings.Split(path, ".")
	t := reflect.TypeFor[Config]()
	for _, p := range parts[:len(parts)-1] {
		f, ok := fieldByTag(t, p)
		if !ok || f.Type.Kind() != reflect.Struct {
			return ""
		}
		t = f.Type
	}
	unknown := parts[len(parts)-1]
	best, bestDist := "", 3 // suggest only near misses (at most 2 edits)
	for i := range t.NumField() {
		key, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if d := editDistance(unknown, key); key != "" && d < bestDist {
			best, bestDist = key, d
		}
	}
	return best
}

func fieldByTag(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); name == key {
			return t.Field(i), true
		}
	}
	return reflect.StructField{}, false
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
