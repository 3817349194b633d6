package simulator

import (
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// Complexity and mutation counting run on the validated operation, after
// variable coercion and before anything executes. Both walk the document as
// written: every fragment spread counts its fragment again (whatever its type
// condition), and @skip/@include are honoured. Fragment results are memoised,
// so a document that spreads fragments exponentially costs linear time to score.

// costCap keeps scores far from integer overflow; any document that reaches it
// is over every plausible limit anyway.
const costCap = 1 << 40

func satAdd(a, b int) int { return min(a+b, costCap) }

func satMul(a, b int) int {
	if a == 0 || b == 0 {
		return 0
	}
	if a > costCap/b {
		return costCap
	}
	return min(a*b, costCap)
}

// coster computes the complexity of one operation.
type coster struct {
	ex        *execution
	fragCost  map[string]int
	connCost  map[string]int
	fragMuts  map[string]int
	rootMuts  map[string]int
	mutParent map[string]bool
}

func newCoster(ex *execution) *coster {
	return &coster{
		ex: ex, fragCost: map[string]int{}, connCost: map[string]int{},
		fragMuts: map[string]int{}, rootMuts: map[string]int{},
		mutParent: map[string]bool{"AccountMutations": true, "UserMutations": true},
	}
}

// selectionCost is the sum of the costs of the fields selected in sel.
func (c *coster) selectionCost(sel ast.SelectionSet) int {
	total := 0
	for _, s := range sel {
		switch s := s.(type) {
		case *ast.Field:
			if c.ex.included(s.Directives) {
				total = satAdd(total, c.fieldCost(s))
			}
		case *ast.InlineFragment:
			if c.ex.included(s.Directives) {
				total = satAdd(total, c.selectionCost(s.SelectionSet))
			}
		case *ast.FragmentSpread:
			if !c.ex.included(s.Directives) {
				continue
			}
			v, ok := c.fragCost[s.Name]
			if !ok {
				c.fragCost[s.Name] = 0 // cycle guard; validation rejects cycles
				if frag := c.ex.doc.Fragments.ForName(s.Name); frag != nil {
					v = c.selectionCost(frag.SelectionSet)
				}
				c.fragCost[s.Name] = v
			}
			total = satAdd(total, v)
		}
	}
	return total
}

// fieldCost: 1 plus the selection's cost; a mutation field 100 plus its
// selection's cost; a connection field 1 plus its selection, with the edges
// selection counted n times; nodes(ids) 1 plus len(ids) times its selection.
func (c *coster) fieldCost(f *ast.Field) int {
	parent := ""
	if f.ObjectDefinition != nil {
		parent = f.ObjectDefinition.Name
	}
	switch {
	case f.Name == "__typename" || f.Definition == nil:
		return 1
	case c.mutParent[parent]:
		return satAdd(100, c.selectionCost(f.SelectionSet))
	case strings.HasSuffix(f.Definition.Type.Name(), "Connection"):
		return satAdd(1, c.connectionCost(f.SelectionSet, c.pageSize(f)))
	case parent == "Query" && f.Name == "nodes":
		return satAdd(1, satMul(c.idCount(f), c.selectionCost(f.SelectionSet)))
	default:
		return satAdd(1, c.selectionCost(f.SelectionSet))
	}
}

// connectionCost costs a connection's selection with each edges field's
// selection multiplied by n.
func (c *coster) connectionCost(sel ast.SelectionSet, n int) int {
	total := 0
	for _, s := range sel {
		switch s := s.(type) {
		case *ast.Field:
			if !c.ex.included(s.Directives) {
				continue
			}
			if s.Name == "edges" {
				total = satAdd(total, satAdd(1, satMul(n, c.selectionCost(s.SelectionSet))))
			} else {
				total = satAdd(total, c.fieldCost(s))
			}
		case *ast.InlineFragment:
			if c.ex.included(s.Directives) {
				total = satAdd(total, c.connectionCost(s.SelectionSet, n))
			}
		case *ast.FragmentSpread:
			if !c.ex.included(s.Directives) {
				continue
			}
			key := s.Name + "/" + strconv.Itoa(n)
			v, ok := c.connCost[key]
			if !ok {
				c.connCost[key] = 0
				if frag := c.ex.doc.Fragments.ForName(s.Name); frag != nil {
					v = c.connectionCost(frag.SelectionSet, n)
				}
				c.connCost[key] = v
			}
			total = satAdd(total, v)
		}
	}
	return total
}

// pageSize is the n of a connection field: first, else last, clamped to
// [0, max page size]; the default page size when neither is given.
func (c *coster) pageSize(f *ast.Field) int {
	args, err := coerceArguments(c.ex.schema, f.Definition.Arguments, f.Arguments, c.ex.vars)
	if err != nil {
		return c.ex.defPage
	}
	n, ok := args["first"].(int)
	if !ok {
		n, ok = args["last"].(int)
	}
	if !ok {
		return c.ex.defPage
	}
	return max(0, min(n, c.ex.maxPage))
}

func (c *coster) idCount(f *ast.Field) int {
	args, err := coerceArguments(c.ex.schema, f.Definition.Arguments, f.Arguments, c.ex.vars)
	if err != nil {
		return 1
	}
	ids, _ := args["ids"].([]any)
	return len(ids)
}

// mutationCount counts the mutation fields (addUserToAccount,
// removeUserFromAccount, addUserToStore, removeUserFromStore) selected under
// the Mutation.account and Mutation.user namespace fields, as written.
func (c *coster) mutationCount(sel ast.SelectionSet, underNamespace bool) int {
	memo := c.rootMuts
	if underNamespace {
		memo = c.fragMuts
	}
	total := 0
	for _, s := range sel {
		switch s := s.(type) {
		case *ast.Field:
			switch {
			case !c.ex.included(s.Directives) || s.Name == "__typename":
			case underNamespace:
				total++
			default:
				total += c.mutationCount(s.SelectionSet, true)
			}
		case *ast.InlineFragment:
			if c.ex.included(s.Directives) {
				total += c.mutationCount(s.SelectionSet, underNamespace)
			}
		case *ast.FragmentSpread:
			if !c.ex.included(s.Directives) {
				continue
			}
			v, ok := memo[s.Name]
			if !ok {
				memo[s.Name] = 0
				if frag := c.ex.doc.Fragments.ForName(s.Name); frag != nil {
					v = c.mutationCount(frag.SelectionSet, underNamespace)
				}
				memo[s.Name] = v
			}
			total = satAdd(total, v)
		}
	}
	return total
}
