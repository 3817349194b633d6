package downstream

import (
	graphql "github.com/hasura/go-graphql-client"
	"github.com/hasura/go-graphql-client/pkg/jsonutil"
)

// Typed documents: for a read whose shape never changes, one Go struct is both
// the query (rendered by go-graphql-client from its fields and graphql tags)
// and the decoding of the response (go-graphql-client's GraphQL-aware JSON
// decoder), so the two cannot disagree. Reads whose shape varies at run time
// (the account's users with the fields a server offers, aliased continuation
// and mutation documents) are rendered by hand.

// Documents and their decoding targets.
type (
	accountDoc struct {
		Account *struct {
			ID          string
			AccountInfo *struct{ Name string }
		}
	}
	storeNode struct {
		ID        string
		Name      string
		StoreHash string
	}
	storeEdges struct {
		PageInfo wirePageInfo
		Edges    []struct {
			Cursor *string
			Node   *storeNode
		}
	}
	storesDoc struct {
		Account *struct {
			Stores *storeEdges `graphql:"stores(first: $first, after: $after)"`
		}
	}
	appsDoc struct {
		Account *struct {
			Apps *struct {
				PageInfo wirePageInfo
				Edges    []struct{ Node *App }
			} `graphql:"apps(first: $first, after: $after)"`
		}
	}
	storeUsersDoc struct {
		Account *struct {
			Stores *struct {
				PageInfo wirePageInfo
				Edges    []struct {
					Cursor *string
					Node   *struct {
						storeNode
						Users *wireUserConnection `graphql:"users(first: $users)"`
					}
				}
			} `graphql:"stores(first: $first, after: $after)"`
		}
	}
)

// Variables as the documents declare them: a page size (Int!), a cursor
// (String, null for the first page).
var (
	pageVars      = map[string]any{"first": 0, "after": (*string)(nil)}
	storeUserVars = map[string]any{"first": 0, "after": (*string)(nil), "users": 0}
)

// The rendered documents.
var (
	queryAccount      = mustDocument(&accountDoc{}, nil, OpAccount)
	queryStores       = mustDocument(&storesDoc{}, pageVars, OpStores)
	queryStoreCursors = mustDocument(&storesDoc{}, pageVars, OpStoreCursors)
	queryApps         = mustDocument(&appsDoc{}, pageVars, OpApps)
	queryStoreUsers   = mustDocument(&storeUsersDoc{}, storeUserVars, OpStoreUsers)
)

// mustDocument renders the query of doc; it panics on a struct
// go-graphql-client cannot render, which the package's tests would show.
func mustDocument(doc any, vars map[string]any, operation string) string {
	q, err := graphql.ConstructQuery(doc, vars, graphql.OperationName(operation))
	if err != nil {
		panic("downstream: render " + operation + ": " + err.Error())
	}
	return q
}

// decodeDocument decodes a response's data into doc, reporting a response
// not of the queried shape.
func decodeDocument(data []byte, doc any) error {
	if err := jsonutil.UnmarshalGraphQL(data, doc); err != nil {
		return unexpected("data does not match the query")
	}
	return nil
}
