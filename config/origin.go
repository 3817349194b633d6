package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Origin says where a setting's value came from, so that a message can name
// what the operator has to change: the environment variable, the flag, or the
// key and line of the configuration file. The zero Origin is the default.
type Origin struct {
	// Key is the setting's YAML path ("bigcommerce.rate_limit", "scim.tokens[1]").
	Key string
	// Env is the environment variable that set it, Flag the command-line flag
	// ("--database"); File and Line locate it in the configuration file.
	Env  string
	Flag string
	File string
	Line int
	// SecretFile is set when the value was read from a file named by another
	// setting (database_file, scim.tokens_file, bigcommerce.token_file); the
	// other fields then describe where that file name came from, and
	// SecretLine is the line of the file for tokens files.
	SecretFile string
	SecretLine int
}

// IsDefault reports whether no source set the value.
func (o Origin) IsDefault() bool { return o.Env == "" && o.Flag == "" && o.File == "" }

// label is what a problem starts with: the flag, the variable, or the YAML
// path (the default's too).
func (o Origin) label() string {
	switch {
	case o.Flag != "":
		return o.Flag
	case o.Env != "":
		return o.Env
	default:
		return o.Key
	}
}

// suffix is what a problem ends with: the line of the file, or the secret
// file the value was read from ("" when there is nothing to add).
func (o Origin) suffix() string {
	var parts []string
	if o.SecretFile != "" {
		if o.SecretLine > 0 {
			parts = append(parts, fmt.Sprintf("line %d of %s", o.SecretLine, o.SecretFile))
		} else {
			parts = append(parts, "read from "+o.SecretFile)
		}
	}
	if o.Flag == "" && o.Env == "" && o.File != "" {
		parts = append(parts, fmt.Sprintf("line %d of %s", o.Line, o.File))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// Describe names the source for a sentence such as "check the token in ...":
// "SCIM_BRIDGE_BC_TOKEN", "the file /run/secrets/t (named by
// SCIM_BRIDGE_BC_TOKEN_FILE)", "bigcommerce.token in /etc/scim-bridge.yaml",
// "--database", or "bigcommerce.api_url (not set: the default)".
func (o Origin) Describe() string {
	var where string
	switch {
	case o.Flag != "":
		where = o.Flag
	case o.Env != "":
		where = o.Env
	case o.File != "":
		where = fmt.Sprintf("%s in %s", o.Key, o.File)
	default:
		return o.Key + " (not set: the default)"
	}
	if o.SecretFile != "" {
		return fmt.Sprintf("the file %s (named by %s)", o.SecretFile, where)
	}
	return where
}

// Origin returns where the setting at the YAML path key came from. A list
// item ("scim.tokens[2]") set as a whole by a variable or a flag reports the
// list's origin.
func (c Config) Origin(key string) Origin {
	if o, ok := c.origins[key]; ok {
		return o
	}
	if base, _, ok := strings.Cut(key, "["); ok {
		if o, ok := c.origins[base]; ok {
			o.Key = key
			return o
		}
	}
	return Origin{Key: key}
}

// problem is one validation message: "LABEL: msg (line N of FILE)", where
// LABEL is the variable, the flag or the YAML path that set key.
func (c Config) problem(key, msg string) error {
	o := c.Origin(key)
	label := o.label()
	if (o.Env != "" || o.Flag != "") && o.SecretFile == "" && strings.HasSuffix(o.Key, "]") {
		// A list given as one comma-separated value: say which item.
		if i := itemIndex(o.Key); i >= 0 {
			msg += fmt.Sprintf(" (item %d of the list)", i+1)
		}
	}
	return fmt.Errorf("%s: %s%s", label, msg, o.suffix())
}

var itemPattern = regexp.MustCompile(`\[(\d+)\]$`)

func itemIndex(key string) int {
	m := itemPattern.FindStringSubmatch(key)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// setOrigin records o for key and forgets what was recorded for the parts of
// key (list items, nested keys): a variable or flag replaces the value whole.
func (c *Config) setOrigin(key string, o Origin) {
	if c.origins == nil {
		c.origins = map[string]Origin{}
	}
	for k := range c.origins {
		if strings.HasPrefix(k, key+"[") || strings.HasPrefix(k, key+".") {
			delete(c.origins, k)
		}
	}
	o.Key = key
	c.origins[key] = o
}

// recordFileOrigins notes the line of every key and list item of a YAML file.
func (c *Config) recordFileOrigins(root *yaml.Node, file string) {
	if c.origins == nil {
		c.origins = map[string]Origin{}
	}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, ch := range n.Content {
				walk(ch, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				c.setOrigin(p, Origin{File: file, Line: k.Line})
				walk(v, p)
			}
		case yaml.SequenceNode:
			for i, ch := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				c.origins[p] = Origin{Key: p, File: file, Line: ch.Line}
				walk(ch, p)
			}
		}
	}
	walk(root, "")
}
