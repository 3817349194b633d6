package resource

import (
	"strings"
)

// selection is a parsed attributes or excludedAttributes list.
type selection struct {
	whole map[*Attribute]bool
	subs  map[*Attribute]map[*Attribute]bool
	exts  map[*extensionSchema]bool
	// other holds lower-cased names the schema does not know, matched
	// against the document's unknown keys.
	other map[string]bool
	// given reports whether any name was listed.
	given bool
}

// selection parses attribute names (each entry may itself be a
// comma-separated list, as in the query string); unknown names are ignored.
func (s *Schema) selection(names []string) selection {
	sel := selection{whole: map[*Attribute]bool{}, subs: map[*Attribute]map[*Attribute]bool{}, exts: map[*extensionSchema]bool{}, other: map[string]bool{}}
	for _, entry := range names {
		for _, name := range strings.Split(entry, ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			sel.given = true
			if e := s.extension(name); e != nil {
				sel.exts[e] = true
				continue
			}
			urn, attr, sub := splitAttrPath(name)
			top, subAttr, ok := s.resolve(urn, attr, sub)
			if !ok {
				sel.other[strings.ToLower(name)] = true
				continue
			}
			if subAttr == nil {
				sel.whole[top] = true
				continue
			}
			if sel.subs[top] == nil {
				sel.subs[top] = map[*Attribute]bool{}
			}
			sel.subs[top][subAttr] = true
		}
	}
	return sel
}

// Project shapes a resource for a response (RFC 7644 §3.4.2.5 and §3.9):
//   - "id" and "schemas" (returned "always") are always kept; "meta" is
//     returned "default" (RFC 7643 §3.1) like most attributes: an attributes
//     list keeps it only when it names it (or one of its sub-attributes),
//     and excludedAttributes may remove it;
//   - attributes returned "never" (password) are always dropped;
//   - with a non-empty attributes list only the named attributes are kept
//     (a sub-attribute name such as "name.givenName" keeps just that
//     sub-attribute; an extension URN keeps the whole extension); attributes
//     returned "request" are kept only when named;
//   - otherwise excludedAttributes removes the named attributes or
//     sub-attributes.
//
// Names are case-insensitive, may carry a URN prefix, and unknown names are
// ignored (an attributes list of unknown names only keeps the always-returned
// attributes); each list entry may be a comma-separated list. Keys of doc the
// schema does not define are treated like "default" attributes and matched by
// name. doc is not modified; the result may share unmodified values with it.
func (s *Schema) Project(doc map[string]any, attributes, excludedAttributes []string) map[string]any {
	inc := s.selection(attributes)
	exc := s.selection(excludedAttributes)
	p := projector{inc: inc, exc: exc, hasInc: inc.given}
	out := make(map[string]any, len(doc))
	for k, v := range doc {
		if e := s.extension(k); e != nil {
			obj, ok := v.(map[string]any)
			if !ok {
				continue
			}
			ext := map[string]any{}
			for k2, v2 := range obj {
				a := e.byName[strings.ToLower(k2)]
				if a == nil {
					if (!p.hasInc || inc.exts[e]) && !exc.exts[e] {
						ext[k2] = v2
					}
					continue
				}
				if pv, ok := p.attr(a, v2, inc.exts[e], exc.exts[e]); ok {
					ext[k2] = pv
				}
			}
			if len(ext) > 0 {
				out[k] = ext
			}
			continue
		}
		a := s.byName[strings.ToLower(k)]
		if a == nil {
			lk := strings.ToLower(k)
			if (!p.hasInc || inc.other[lk]) && !exc.other[lk] {
				out[k] = v
			}
			continue
		}
		if pv, ok := p.attr(a, v, false, false); ok {
			out[k] = pv
		}
	}
	return out
}

type projector struct {
	inc, exc selection
	hasInc   bool
}

// attr decides whether and how attribute a (with value v) is returned.
// extInc/extExc report that a's whole extension was named.
func (p projector) attr(a *Attribute, v any, extInc, extExc bool) (any, bool) {
	var keep map[*Attribute]bool // nil: all sub-attributes
	switch {
	case a.Returned == ReturnedNever || a.Mutability == MutabilityWriteOnly:
		return nil, false
	case a.Returned == ReturnedAlways:
		return v, true
	case p.hasInc && (p.inc.whole[a] || extInc):
	case p.hasInc && p.inc.subs[a] != nil:
		keep = p.inc.subs[a]
	case p.hasInc, a.Returned == ReturnedRequest:
		return nil, false
	case p.exc.whole[a] || extExc:
		return nil, false
	}
	drop := p.exc.subs[a]
	if keep == nil && len(drop) == 0 && !hasNeverSub(a) {
		return v, true
	}
	pv := pickSubs(a, v, keep, drop)
	return pv, pv != nil
}

func hasNeverSub(a *Attribute) bool {
	for _, s := range a.SubAttributes {
		if s.Returned == ReturnedNever {
			return true
		}
	}
	return false
}

// pickSubs keeps the sub-attributes of a complex value that are in keep (all
// when keep is nil) and not in drop or returned "never". It returns nil when
// nothing is left.
func pickSubs(a *Attribute, v any, keep, drop map[*Attribute]bool) any {
	pick := func(e any) any {
		m, ok := e.(map[string]any)
		if !ok {
			if keep != nil {
				return nil
			}
			return e
		}
		out := make(map[string]any, len(m))
		for k, x := range m {
			sub := a.Sub(k)
			switch {
			case sub == nil:
				if keep == nil {
					out[k] = x
				}
			case sub.Returned == ReturnedNever, drop[sub], keep != nil && !keep[sub]:
			default:
				out[k] = x
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	if list, ok := v.([]any); ok {
		out := make([]any, 0, len(list))
		for _, e := range list {
			if pe := pick(e); pe != nil {
				out = append(out, pe)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	return pick(v)
}
