package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	sqlitedrv "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/bridge/store/internal/codec"
	"github.com/scim-bridge/scim-bridge/bridge/store/internal/sqlgen"
)

// errTxDone is returned by a Tx used after its function returned.
var errTxDone = errors.New("transaction already finished")

// tx implements store.Tx on a transaction of a pinned connection.
type tx struct {
	c        *pinnedConn
	readOnly bool
	done     bool
	now      func() time.Time
	// shield keeps a cancelled ctx from interrupting a statement (see
	// stmtCtx); set for the savepoints of a group-committed write
	// transaction.
	shield bool
	// positions is the store's cache of user positions for paging.
	positions *positions
}

var _ store.Tx = (*tx)(nil)

// maxParams bounds the bind parameters of one generated statement, well below
// SQLite's limit (32766), for multi-row inserts and IN lists.
const maxParams = 900

func (t *tx) check(write bool) error {
	if t.done {
		return errTxDone
	}
	if write && t.readOnly {
		return store.ErrReadOnly
	}
	return nil
}

// isConstraint reports whether err is the SQLite constraint failure code (an
// extended result code such as SQLITE_CONSTRAINT_UNIQUE).
func isConstraint(err error, codes ...int) bool {
	var se *sqlitedrv.Error
	if !errors.As(err, &se) {
		return false
	}
	for _, c := range codes {
		if se.Code() == c {
			return true
		}
	}
	return false
}

func isUniqueViolation(err error) bool {
	return isConstraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

type scanner interface{ Scan(dest ...any) error }

// exec runs a statement through the connection's statement cache.
func (t *tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx, err := t.stmtCtx(ctx)
	if err != nil {
		return nil, err
	}
	st, err := t.c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// query runs a query through the connection's statement cache. The caller
// closes the rows before its method returns.
func (t *tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx, err := t.stmtCtx(ctx)
	if err != nil {
		return nil, err
	}
	st, err := t.c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// row is a *sql.Row or the error that prevented the query.
type row struct {
	r   *sql.Row
	err error
}

func (r row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	return r.r.Scan(dest...)
}

// queryRow runs a single-row query through the connection's statement cache.
func (t *tx) queryRow(ctx context.Context, query string, args ...any) row {
	ctx, err := t.stmtCtx(ctx)
	if err != nil {
		return row{err: err}
	}
	st, err := t.c.stmt(ctx, query)
	if err != nil {
		return row{err: err}
	}
	return row{r: st.QueryRowContext(ctx, args...)}
}

const userColumns = sqlgen.UserColumns

func scanUser(sc scanner) (store.User, error) {
	var (
		u                 store.User
		emails, attrs     string
		created, modified int64
		synced            sql.NullInt64
	)
	if err := sc.Scan(&u.ID, &u.UserName, &u.ExternalID, &u.DisplayName, &u.Active, &u.BCEmail, &emails,
		&attrs, &u.Version, &created, &modified, &u.Sync.State, &synced, &u.Sync.BigCommerceUserID,
		&u.Sync.LastError); err != nil {
		return store.User{}, err
	}
	var err error
	if u.Emails, err = codec.DecodeEmails(emails); err != nil {
		return store.User{}, err
	}
	if u.Attributes, err = codec.DecodeAttributes(attrs); err != nil {
		return store.User{}, err
	}
	u.Created, u.Modified = fromMicros(created), fromMicros(modified)
	u.Sync.LastSyncedAt = fromNullMicros(synced)
	return u, nil
}

// GetUser returns the user with id.
func (t *tx) GetUser(ctx context.Context, id string) (store.User, error) {
	if err := t.check(false); err != nil {
		return store.User{}, fmt.Errorf("get user: %w", err)
	}
	u, err := scanUser(t.queryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.User{}, fmt.Errorf("get user: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.User{}, fmt.Errorf("get user: %w", err)
	}
	return u, nil
}

// CreateUser inserts u.
func (t *tx) CreateUser(ctx context.Context, u store.User) error {
	if err := t.check(true); err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	if u.ID == "" {
		return errors.New("create user: empty id")
	}
	emails, attrs, err := codec.EncodeUser(u)
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	// ON CONFLICT DO NOTHING covers both the id and the userName uniqueness: no
	// row inserted means a conflict, without a failed statement.
	res, err := t.exec(ctx, `INSERT INTO users (id, user_name, user_name_lc, external_id, display_name,
		display_name_lc, active, bc_email, emails, attributes, version, created, modified, sync_state,
		sync_last_synced_at, sync_bc_user_id, sync_last_error)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		u.ID, u.UserName, strings.ToLower(u.UserName), u.ExternalID, u.DisplayName, strings.ToLower(u.DisplayName),
		u.Active, u.BCEmail, emails, attrs, u.Version, micros(u.Created), micros(u.Modified), u.Sync.State,
		nullMicros(u.Sync.LastSyncedAt), u.Sync.BigCommerceUserID, u.Sync.LastError)
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("create user: %w", err)
	} else if n == 0 {
		return fmt.Errorf("create user: %w", store.ErrConflict)
	}
	if err := t.insertEmails(ctx, u.ID, u.Emails); err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	return nil
}

// insertEmails adds the user_emails index rows of a user.
func (t *tx) insertEmails(ctx context.Context, userID string, emails []store.Email) error {
	const perRow = 3
	for len(emails) > 0 {
		n := min(len(emails), maxParams/perRow)
		var b strings.Builder
		b.WriteString(`INSERT INTO user_emails (user_id, value_lc, type_lc) VALUES `)
		args := make([]any, 0, n*perRow)
		for i, e := range emails[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?)")
			args = append(args, userID, strings.ToLower(e.Value), strings.ToLower(e.Type))
		}
		if _, err := t.exec(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("index emails: %w", err)
		}
		emails = emails[n:]
	}
	return nil
}

// UpdateUser replaces the stored user with u.ID (all fields but Sync).
func (t *tx) UpdateUser(ctx context.Context, u store.User) error {
	if err := t.check(true); err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	emails, attrs, err := codec.EncodeUser(u)
	if err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	// A unique violation fails only this statement; SQLite keeps the
	// transaction usable (statement-level rollback).
	res, err := t.exec(ctx, `UPDATE users SET user_name = ?, user_name_lc = ?, external_id = ?,
		display_name = ?, display_name_lc = ?, active = ?, bc_email = ?, emails = ?, attributes = ?, version = ?,
		created = ?, modified = ? WHERE id = ?`,
		u.UserName, strings.ToLower(u.UserName), u.ExternalID, u.DisplayName, strings.ToLower(u.DisplayName),
		u.Active, u.BCEmail, emails, attrs, u.Version, micros(u.Created), micros(u.Modified), u.ID)
	if isUniqueViolation(err) {
		return fmt.Errorf("update user: %w", store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("update user: %w", err)
	} else if n == 0 {
		return fmt.Errorf("update user: %w", store.ErrNotFound)
	}
	if _, err := t.exec(ctx, `DELETE FROM user_emails WHERE user_id = ?`, u.ID); err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	if err := t.insertEmails(ctx, u.ID, u.Emails); err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	return nil
}

// DeleteUser removes the user; emails and memberships go with it (ON DELETE
// CASCADE).
func (t *tx) DeleteUser(ctx context.Context, id string) error {
	if err := t.check(true); err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	return t.deleteRow(ctx, `DELETE FROM users WHERE id = ?`, "delete user", id)
}

func (t *tx) deleteRow(ctx context.Context, query, op, id string) error {
	res, err := t.exec(ctx, query, id)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	} else if n == 0 {
		return fmt.Errorf("%s: %w", op, store.ErrNotFound)
	}
	return nil
}

// limitOffset returns SQLite LIMIT/OFFSET arguments for q (LIMIT -1 is no limit).
func limitOffset(q store.Query) (limit, offset int) {
	limit = q.Limit
	if limit < 0 {
		limit = -1
	}
	return limit, max(q.Offset, 0)
}

// listUsersSQL is the page query of ListUsers for a compiled filter; its last
// two arguments are LIMIT and OFFSET.
//
// Without a filter, OFFSET is applied to the narrow users_seq index in a
// subquery that finds the page's first seq, and the page itself is a rowid
// range: an OFFSET on the table would step through (and read from disk) every
// skipped row, about 50,000 on an average page of 100,000 users. Both run in
// the same read transaction, so they see the same rows.
func listUsersSQL(where string) string {
	if where == sqlTrue {
		return `SELECT ` + userColumns + ` FROM users u WHERE u.seq >= ` +
			`(SELECT seq FROM users INDEXED BY users_seq ORDER BY seq LIMIT 1 OFFSET ?2) ORDER BY u.seq LIMIT ?1`
	}
	return `SELECT ` + userColumns + ` FROM users u` + whereClause(where) + ` ORDER BY u.seq LIMIT ? OFFSET ?`
}

// countUsersSQL is the total query of ListUsers for a compiled filter.
func countUsersSQL(where string) string { return `SELECT COUNT(*) FROM users u` + whereClause(where) }

// listGroupsSQL is the page query of ListGroups for a compiled filter.
func listGroupsSQL(where string) string {
	return `SELECT ` + groupColumns + ` FROM groups g` + whereClause(where) + ` ORDER BY g.seq LIMIT ? OFFSET ?`
}

// countGroupsSQL is the total query of ListGroups for a compiled filter.
func countGroupsSQL(where string) string { return `SELECT COUNT(*) FROM groups g` + whereClause(where) }

// whereClause returns " WHERE where", or nothing for a filter that matches
// everything: SQLite counts a whole table with its cheap count operation (on the
// smallest index) only when the query has no WHERE clause at all.
func whereClause(where string) string {
	if where == sqlTrue {
		return ""
	}
	return " WHERE " + where
}

// ListUsers returns a page of users matching q.Filter and the total.
func (t *tx) ListUsers(ctx context.Context, q store.Query) ([]store.User, int, error) {
	if err := t.check(false); err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	where, args, err := compileUserFilter(q.Filter)
	if err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	if where == sqlTrue {
		return t.listAllUsers(ctx, q)
	}
	users := []store.User{}
	if q.Limit != 0 {
		limit, offset := limitOffset(q)
		rows, err := t.query(ctx, listUsersSQL(where), append(args, limit, offset)...)
		if err != nil {
			return nil, 0, fmt.Errorf("list users: %w", err)
		}
		if users, err = scanUsers(rows); err != nil {
			return nil, 0, fmt.Errorf("list users: %w", err)
		}
	}
	total := max(q.Offset, 0) + len(users)
	if sqlgen.NeedCount(q, len(users)) {
		if err := t.queryRow(ctx, countUsersSQL(where), args...).Scan(&total); err != nil {
			return nil, 0, fmt.Errorf("count users: %w", err)
		}
	}
	return users, total, nil
}

// listAllUsers is ListUsers without a filter: the total comes from
// users_stats, and the page starts at the cached position nearest to it
// (positions.go), or, when the cache cannot say, by skipping users_seq
// entries up to it.
func (t *tx) listAllUsers(ctx context.Context, q store.Query) ([]store.User, int, error) {
	total, deletes, err := t.userStats(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("count users: %w", err)
	}
	limit, offset := limitOffset(q)
	if q.Limit == 0 || offset >= total {
		return []store.User{}, total, nil
	}
	from, skip, ok, err := t.pageStart(ctx, offset, deletes)
	if err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	var rows *sql.Rows
	if ok {
		rows, err = t.query(ctx, `SELECT `+userColumns+` FROM users u WHERE u.seq >= ? ORDER BY u.seq LIMIT ? OFFSET ?`, from, limit, skip)
	} else {
		rows, err = t.query(ctx, listUsersSQL(sqlTrue), limit, offset)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	users, err := scanUsers(rows)
	if err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	return users, total, nil
}

// scanUsers reads userColumns rows and closes them.
func scanUsers(rows *sql.Rows) ([]store.User, error) {
	defer rows.Close()
	users := []store.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	return users, rows.Err()
}

// SetUserSync replaces the user's synchronisation state.
func (t *tx) SetUserSync(ctx context.Context, id string, s store.SyncState) error {
	if err := t.check(true); err != nil {
		return fmt.Errorf("set sync state of user: %w", err)
	}
	res, err := t.exec(ctx, `UPDATE users SET sync_state = ?, sync_last_synced_at = ?, sync_bc_user_id = ?,
		sync_last_error = ? WHERE id = ?`,
		s.State, nullMicros(s.LastSyncedAt), s.BigCommerceUserID, s.LastError, id)
	if err != nil {
		return fmt.Errorf("set sync state of user: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("set sync state of user: %w", err)
	} else if n == 0 {
		return fmt.Errorf("set sync state of user: %w", store.ErrNotFound)
	}
	return nil
}

const groupColumns = sqlgen.GroupColumns

func scanGroup(sc scanner) (store.Group, error) {
	var (
		g                 store.Group
		attrs             string
		created, modified int64
	)
	if err := sc.Scan(&g.ID, &g.DisplayName, &g.ExternalID, &attrs, &g.Version, &created, &modified); err != nil {
		return store.Group{}, err
	}
	var err error
	if g.Attributes, err = codec.DecodeAttributes(attrs); err != nil {
		return store.Group{}, err
	}
	g.Created, g.Modified = fromMicros(created), fromMicros(modified)
	return g, nil
}

// GetGroup returns the group with id (without members).
func (t *tx) GetGroup(ctx context.Context, id string) (store.Group, error) {
	if err := t.check(false); err != nil {
		return store.Group{}, fmt.Errorf("get group: %w", err)
	}
	g, err := scanGroup(t.queryRow(ctx, `SELECT `+groupColumns+` FROM groups g WHERE g.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Group{}, fmt.Errorf("get group: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Group{}, fmt.Errorf("get group: %w", err)
	}
	return g, nil
}

// CreateGroup inserts g (without members).
func (t *tx) CreateGroup(ctx context.Context, g store.Group) error {
	if err := t.check(true); err != nil {
		return fmt.Errorf("create group: %w", err)
	}
	if g.ID == "" {
		return errors.New("create group: empty id")
	}
	attrs, err := codec.EncodeAttributes(g.Attributes)
	if err != nil {
		return fmt.Errorf("create group: %w", err)
	}
	res, err := t.exec(ctx, `INSERT INTO groups (id, display_name, display_name_lc, external_id, attributes,
		version, created, modified) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		g.ID, g.DisplayName, strings.ToLower(g.DisplayName), g.ExternalID, attrs, g.Version, micros(g.Created),
		micros(g.Modified))
	if err != nil {
		return fmt.Errorf("create group: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("create group: %w", err)
	} else if n == 0 {
		return fmt.Errorf("create group: %w", store.ErrConflict)
	}
	return nil
}

// UpdateGroup replaces the stored group with g.ID (members untouched).
func (t *tx) UpdateGroup(ctx context.Context, g store.Group) error {
	if err := t.check(true); err != nil {
		return fmt.Errorf("update group: %w", err)
	}
	attrs, err := codec.EncodeAttributes(g.Attributes)
	if err != nil {
		return fmt.Errorf("update group: %w", err)
	}
	res, err := t.exec(ctx, `UPDATE groups SET display_name = ?, display_name_lc = ?, external_id = ?,
		attributes = ?, version = ?, created = ?, modified = ? WHERE id = ?`,
		g.DisplayName, strings.ToLower(g.DisplayName), g.ExternalID, attrs, g.Version, micros(g.Created),
		micros(g.Modified), g.ID)
	if isUniqueViolation(err) {
		return fmt.Errorf("update group: %w", store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("update group: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("update group: %w", err)
	} else if n == 0 {
		return fmt.Errorf("update group: %w", store.ErrNotFound)
	}
	return nil
}

// DeleteGroup removes the group and its memberships (ON DELETE CASCADE).
func (t *tx) DeleteGroup(ctx context.Context, id string) error {
	if err := t.check(true); err != nil {
		return fmt.Errorf("delete group: %w", err)
	}
	return t.deleteRow(ctx, `DELETE FROM groups WHERE id = ?`, "delete group", id)
}

// ListGroups returns a page of groups matching q.Filter and the total.
func (t *tx) ListGroups(ctx context.Context, q store.Query) ([]store.Group, int, error) {
	if err := t.check(false); err != nil {
		return nil, 0, fmt.Errorf("list groups: %w", err)
	}
	where, args, err := compileGroupFilter(q.Filter)
	if err != nil {
		return nil, 0, fmt.Errorf("list groups: %w", err)
	}
	groups := []store.Group{}
	if q.Limit != 0 {
		limit, offset := limitOffset(q)
		rows, err := t.query(ctx, listGroupsSQL(where), append(args, limit, offset)...)
		if err != nil {
			return nil, 0, fmt.Errorf("list groups: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			g, err := scanGroup(rows)
			if err != nil {
				return nil, 0, fmt.Errorf("list groups: %w", err)
			}
			groups = append(groups, g)
		}
		if err := rows.Err(); err != nil {
			return nil, 0, fmt.Errorf("list groups: %w", err)
		}
	}
	total := max(q.Offset, 0) + len(groups)
	if sqlgen.NeedCount(q, len(groups)) {
		if err := t.queryRow(ctx, countGroupsSQL(where), args...).Scan(&total); err != nil {
			return nil, 0, fmt.Errorf("count groups: %w", err)
		}
	}
	return groups, total, nil
}

func (t *tx) groupExists(ctx context.Context, id string) (bool, error) {
	var one int
	err := t.queryRow(ctx, `SELECT 1 FROM groups WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// GroupMembers returns the group's members in the order they were added.
func (t *tx) GroupMembers(ctx context.Context, groupID string) ([]store.Member, error) {
	if err := t.check(false); err != nil {
		return nil, fmt.Errorf("list members of group: %w", err)
	}
	if ok, err := t.groupExists(ctx, groupID); err != nil {
		return nil, fmt.Errorf("list members of group: %w", err)
	} else if !ok {
		return nil, fmt.Errorf("list members of group: %w", store.ErrNotFound)
	}
	rows, err := t.query(ctx, `SELECT m.user_id, u.user_name FROM group_members m
		JOIN users u ON u.id = m.user_id WHERE m.group_id = ? ORDER BY m.added_seq`, groupID)
	if err != nil {
		return nil, fmt.Errorf("list members of group: %w", err)
	}
	defer rows.Close()
	members := []store.Member{}
	for rows.Next() {
		var m store.Member
		if err := rows.Scan(&m.UserID, &m.UserName); err != nil {
			return nil, fmt.Errorf("list members of group: %w", err)
		}
		members = append(members, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list members of group: %w", err)
	}
	return members, nil
}

// UserGroups returns the ids of the groups the user belongs to.
func (t *tx) UserGroups(ctx context.Context, userID string) ([]string, error) {
	if err := t.check(false); err != nil {
		return nil, fmt.Errorf("list groups of user: %w", err)
	}
	rows, err := t.query(ctx, `SELECT group_id FROM group_members WHERE user_id = ?`, userID)
	if err != nil {
		return nil, fmt.Errorf("list groups of user: %w", err)
	}
	defer rows.Close()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list groups of user: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list groups of user: %w", err)
	}
	return ids, nil
}

// GroupsOfUsers returns the group ids of each of the users, a bounded
// number of users per statement.
func (t *tx) GroupsOfUsers(ctx context.Context, userIDs []string) (map[string][]string, error) {
	if err := t.check(false); err != nil {
		return nil, fmt.Errorf("list groups of users: %w", err)
	}
	out := map[string][]string{}
	for chunk := range slices.Chunk(sqlgen.Dedupe(userIDs), 500) {
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := t.query(ctx, `SELECT user_id, group_id FROM group_members WHERE user_id IN (`+placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("list groups of users: %w", err)
		}
		err = func() error {
			defer rows.Close()
			for rows.Next() {
				var user, group string
				if err := rows.Scan(&user, &group); err != nil {
					return err
				}
				out[user] = append(out[user], group)
			}
			return rows.Err()
		}()
		if err != nil {
			return nil, fmt.Errorf("list groups of users: %w", err)
		}
	}
	return out, nil
}

// placeholders returns "?, ?, ..." with n marks.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// AddMembers adds users to the group; all-or-nothing when any id is unknown.
func (t *tx) AddMembers(ctx context.Context, groupID string, userIDs []string) error {
	if err := t.check(true); err != nil {
		return fmt.Errorf("add members to group: %w", err)
	}
	if ok, err := t.groupExists(ctx, groupID); err != nil {
		return fmt.Errorf("add members to group: %w", err)
	} else if !ok {
		return fmt.Errorf("add members to group: %w", store.ErrNotFound)
	}
	ids := sqlgen.Dedupe(userIDs)
	// Check every user first, so that nothing is added when one is missing.
	found := 0
	for rest := ids; len(rest) > 0; {
		chunk := rest[:min(len(rest), maxParams)]
		rest = rest[len(chunk):]
		var n int
		if err := t.queryRow(ctx, `SELECT COUNT(*) FROM users WHERE id IN (`+placeholders(len(chunk))+`)`,
			anySlice(chunk)...).Scan(&n); err != nil {
			return fmt.Errorf("add members to group: %w", err)
		}
		found += n
	}
	if found != len(ids) {
		return fmt.Errorf("add members to group: %d of %d users: %w", len(ids)-found, len(ids), store.ErrNotFound)
	}
	// Rows are inserted in the order given, so added_seq keeps that order.
	for rest := ids; len(rest) > 0; {
		chunk := rest[:min(len(rest), maxParams/2)]
		rest = rest[len(chunk):]
		args := make([]any, 0, 2*len(chunk))
		for _, id := range chunk {
			args = append(args, groupID, id)
		}
		values := strings.TrimSuffix(strings.Repeat("(?, ?), ", len(chunk)), ", ")
		if _, err := t.exec(ctx, `INSERT INTO group_members (group_id, user_id) VALUES `+values+
			` ON CONFLICT DO NOTHING`, args...); err != nil {
			if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY) {
				return fmt.Errorf("add members to group: %w", store.ErrNotFound)
			}
			return fmt.Errorf("add members to group: %w", err)
		}
	}
	return nil
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// RemoveMembers removes users from the group; non-members are ignored.
func (t *tx) RemoveMembers(ctx context.Context, groupID string, userIDs []string) error {
	if err := t.check(true); err != nil {
		return fmt.Errorf("remove members from group: %w", err)
	}
	if ok, err := t.groupExists(ctx, groupID); err != nil {
		return fmt.Errorf("remove members from group: %w", err)
	} else if !ok {
		return fmt.Errorf("remove members from group: %w", store.ErrNotFound)
	}
	for rest := sqlgen.Dedupe(userIDs); len(rest) > 0; {
		chunk := rest[:min(len(rest), maxParams)]
		rest = rest[len(chunk):]
		if _, err := t.exec(ctx, `DELETE FROM group_members WHERE group_id = ? AND user_id IN (`+
			placeholders(len(chunk))+`)`, append([]any{groupID}, anySlice(chunk)...)...); err != nil {
			return fmt.Errorf("remove members from group: %w", err)
		}
	}
	return nil
}

// AppendIntents adds intents to the outbox and returns their sequence numbers.
// A zero CreatedAt is set to the current time and an empty State to
// IntentPending.
func (t *tx) AppendIntents(ctx context.Context, intents []store.Intent) ([]int64, error) {
	if err := t.check(true); err != nil {
		return nil, fmt.Errorf("append intents: %w", err)
	}
	seqs := make([]int64, 0, len(intents))
	now := store.Truncate(t.now())
	for _, in := range intents {
		if in.CreatedAt.IsZero() {
			in.CreatedAt = now
		}
		if in.State == "" {
			in.State = store.IntentPending
		}
		res, err := t.exec(ctx, `INSERT INTO intents (kind, email, store_hash, user_id, source, request_id, cause,
			created_at, state, attempts, next_attempt_at, last_error, done_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			string(in.Kind), in.Email, in.StoreHash, in.UserID, in.Source, in.RequestID, in.Cause, micros(in.CreatedAt),
			string(in.State), in.Attempts, nullMicros(in.NextAttemptAt), in.LastError, nullMicros(in.DoneAt))
		if err != nil {
			return nil, fmt.Errorf("append intents: %w", err)
		}
		seq, err := res.LastInsertId()
		if err != nil {
			return nil, fmt.Errorf("append intents: %w", err)
		}
		seqs = append(seqs, seq)
	}
	return seqs, nil
}

// ListIntents returns intents matching f in sequence order.
func (t *tx) CountIntents(ctx context.Context, states ...store.IntentState) (int, error) {
	if err := t.check(false); err != nil {
		return 0, fmt.Errorf("count intents: %w", err)
	}
	query, args := `SELECT COUNT(*) FROM intents`, []any{}
	if len(states) > 0 {
		query += ` WHERE state IN (` + placeholders(len(states)) + `)`
		for _, s := range states {
			args = append(args, string(s))
		}
	}
	var n int
	if err := t.queryRow(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count intents: %w", err)
	}
	return n, nil
}

func (t *tx) ListIntents(ctx context.Context, f store.IntentFilter) ([]store.Intent, error) {
	if err := t.check(false); err != nil {
		return nil, fmt.Errorf("list intents: %w", err)
	}
	var (
		conds = []string{"seq > ?"}
		args  = []any{f.AfterSeq}
	)
	if len(f.States) > 0 {
		conds = append(conds, "state IN ("+placeholders(len(f.States))+")")
		for _, s := range f.States {
			args = append(args, string(s))
		}
	}
	if f.UserID != "" {
		conds = append(conds, "user_id = ?")
		args = append(args, f.UserID)
	}
	limit := -1
	if f.Limit > 0 {
		limit = f.Limit
	}
	rows, err := t.query(ctx, `SELECT `+intentColumns+` FROM intents WHERE `+strings.Join(conds, " AND ")+
		` ORDER BY seq LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("list intents: %w", err)
	}
	intents, err := scanIntents(rows)
	if err != nil {
		return nil, fmt.Errorf("list intents: %w", err)
	}
	return intents, nil
}

const intentColumns = `seq, kind, email, store_hash, user_id, source, request_id, cause, created_at,
		state, attempts, next_attempt_at, last_error, done_at`

// scanIntents reads intentColumns rows and closes them.
func scanIntents(rows *sql.Rows) ([]store.Intent, error) {
	defer rows.Close()
	intents := []store.Intent{}
	for rows.Next() {
		var (
			in           store.Intent
			kind, state  string
			created      int64
			next, doneAt sql.NullInt64
		)
		if err := rows.Scan(&in.Seq, &kind, &in.Email, &in.StoreHash, &in.UserID, &in.Source, &in.RequestID, &in.Cause,
			&created, &state, &in.Attempts, &next, &in.LastError, &doneAt); err != nil {
			return nil, err
		}
		in.Kind, in.State = store.IntentKind(kind), store.IntentState(state)
		in.CreatedAt, in.NextAttemptAt, in.DoneAt = fromMicros(created), fromNullMicros(next), fromNullMicros(doneAt)
		intents = append(intents, in)
	}
	return intents, rows.Err()
}

// PendingEmails returns the first limit distinct emails of pending intents
// (of kinds, when given) in the order of each email's earliest one. It reads
// the pending intents in sequence order, a bounded page at a time and one
// index range per kind, and stops at the limit, so its cost follows the
// window, not the backlog.
func (t *tx) PendingEmails(ctx context.Context, limit int, kinds ...store.IntentKind) ([]string, error) {
	if err := t.check(false); err != nil {
		return nil, fmt.Errorf("list pending emails: %w", err)
	}
	page := func(kind store.IntentKind, after int64, n int) ([]sqlgen.SeqEmail, error) {
		query, args := `SELECT seq, email FROM intents INDEXED BY intents_state
			WHERE state = 'pending' AND seq > ? ORDER BY seq LIMIT ?`, []any{after, n}
		if kind != "" {
			query, args = `SELECT seq, email FROM intents INDEXED BY intents_pending_kind
				WHERE state = 'pending' AND kind = ? AND seq > ? ORDER BY seq LIMIT ?`, []any{string(kind), after, n}
		}
		rows, err := t.query(ctx, query, args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []sqlgen.SeqEmail
		for rows.Next() {
			var r sqlgen.SeqEmail
			if err := rows.Scan(&r.Seq, &r.Email); err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		return out, rows.Err()
	}
	emails, err := sqlgen.FirstEmails(limit, kinds, page)
	if err != nil {
		return nil, fmt.Errorf("list pending emails: %w", err)
	}
	return emails, nil
}

// PendingIntentsOf returns the pending intents of emails through
// intents_pending_email, a bounded number of emails per statement.
func (t *tx) PendingIntentsOf(ctx context.Context, emails []string) ([]store.Intent, error) {
	if err := t.check(false); err != nil {
		return nil, fmt.Errorf("list pending intents: %w", err)
	}
	out := []store.Intent{}
	for chunk := range slices.Chunk(emails, 500) {
		args := make([]any, len(chunk))
		for i, e := range chunk {
			args[i] = e
		}
		rows, err := t.query(ctx, `SELECT `+intentColumns+` FROM intents INDEXED BY intents_pending_email
			WHERE state = 'pending' AND email IN (`+placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("list pending intents: %w", err)
		}
		intents, err := scanIntents(rows)
		if err != nil {
			return nil, fmt.Errorf("list pending intents: %w", err)
		}
		out = append(out, intents...)
	}
	slices.SortFunc(out, func(a, b store.Intent) int { return cmp.Compare(a.Seq, b.Seq) })
	return out, nil
}

// CountPendingByKind counts pending intents per kind over
// intents_pending_kind alone.
func (t *tx) CountPendingByKind(ctx context.Context) (map[store.IntentKind]int, error) {
	if err := t.check(false); err != nil {
		return nil, fmt.Errorf("count pending intents: %w", err)
	}
	rows, err := t.query(ctx, `SELECT kind, COUNT(*) FROM intents WHERE state = 'pending' GROUP BY kind`)
	if err != nil {
		return nil, fmt.Errorf("count pending intents: %w", err)
	}
	defer rows.Close()
	out := map[store.IntentKind]int{}
	for rows.Next() {
		var (
			kind string
			n    int
		)
		if err := rows.Scan(&kind, &n); err != nil {
			return nil, fmt.Errorf("count pending intents: %w", err)
		}
		out[store.IntentKind(kind)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count pending intents: %w", err)
	}
	return out, nil
}

// UpdateIntent replaces the delivery fields of the intent with in.Seq if its
// state is from.
func (t *tx) UpdateIntent(ctx context.Context, in store.Intent, from store.IntentState) error {
	if err := t.check(true); err != nil {
		return fmt.Errorf("update intent %d: %w", in.Seq, err)
	}
	res, err := t.exec(ctx, `UPDATE intents SET state = ?, attempts = ?, next_attempt_at = ?, last_error = ?,
		done_at = ? WHERE seq = ? AND state = ?`,
		string(in.State), in.Attempts, nullMicros(in.NextAttemptAt), in.LastError, nullMicros(in.DoneAt), in.Seq, string(from))
	if err != nil {
		return fmt.Errorf("update intent %d: %w", in.Seq, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("update intent %d: %w", in.Seq, err)
	}
	if n == 1 {
		return nil
	}
	var exists bool
	if err := t.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM intents WHERE seq = ?)`, in.Seq).Scan(&exists); err != nil {
		return fmt.Errorf("update intent %d: %w", in.Seq, err)
	}
	if exists {
		return fmt.Errorf("update intent %d: not %s any more: %w", in.Seq, from, store.ErrConflict)
	}
	return fmt.Errorf("update intent %d: %w", in.Seq, store.ErrNotFound)
}

// CheckLease returns store.ErrLeaseLost unless the lease is still held by
// l.Holder with epoch l.Epoch. Write transactions run one at a time, so no
// takeover can commit between this check and the commit.
func (t *tx) CheckLease(ctx context.Context, l store.Lease) error {
	if err := t.check(false); err != nil {
		return fmt.Errorf("check lease %s: %w", l.Name, err)
	}
	var holder string
	var epoch int64
	err := t.queryRow(ctx, `SELECT holder, epoch FROM leases WHERE name = ?`, l.Name).Scan(&holder, &epoch)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("check lease %s: %w", l.Name, store.ErrLeaseLost)
	}
	if err != nil {
		return fmt.Errorf("check lease %s: %w", l.Name, err)
	}
	if holder != l.Holder || epoch != l.Epoch {
		return fmt.Errorf("check lease %s: held by another replica at epoch %d: %w", l.Name, epoch, store.ErrLeaseLost)
	}
	return nil
}

// AppendAudit records an audit event; a zero Time is set to the current time.
func (t *tx) AppendAudit(ctx context.Context, e store.AuditEvent) error {
	if err := t.check(true); err != nil {
		return fmt.Errorf("append audit event: %w", err)
	}
	if e.Time.IsZero() {
		e.Time = t.now()
	}
	if _, err := t.exec(ctx, `INSERT INTO audit (time, actor, action, resource_type, resource_id, request_id,
		detail) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		micros(e.Time), e.Actor, e.Action, e.ResourceType, e.ResourceID, e.RequestID, e.Detail); err != nil {
		return fmt.Errorf("append audit event: %w", err)
	}
	return nil
}

// ListAudit returns the most recent audit events, newest (last appended) first.
// A negative limit means no limit.
func (t *tx) ListAudit(ctx context.Context, limit int) ([]store.AuditEvent, error) {
	if err := t.check(false); err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	if limit < 0 {
		limit = -1
	}
	rows, err := t.query(ctx, `SELECT time, actor, action, resource_type, resource_id, request_id, detail
		FROM audit ORDER BY seq DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	defer rows.Close()
	events := []store.AuditEvent{}
	for rows.Next() {
		var (
			e  store.AuditEvent
			at int64
		)
		if err := rows.Scan(&at, &e.Actor, &e.Action, &e.ResourceType, &e.ResourceID, &e.RequestID, &e.Detail); err != nil {
			return nil, fmt.Errorf("list audit events: %w", err)
		}
		e.Time = fromMicros(at)
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	return events, nil
}

// GetState returns the named state document.
func (t *tx) GetState(ctx context.Context, key string) ([]byte, error) {
	if err := t.check(false); err != nil {
		return nil, fmt.Errorf("get state %s: %w", key, err)
	}
	var v []byte
	err := t.queryRow(ctx, `SELECT value FROM state WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get state %s: %w", key, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get state %s: %w", key, err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// PutState creates or replaces the named state document.
func (t *tx) PutState(ctx context.Context, key string, value []byte) error {
	if err := t.check(true); err != nil {
		return fmt.Errorf("put state %s: %w", key, err)
	}
	if value == nil {
		value = []byte{} // nil would bind as NULL
	}
	if _, err := t.exec(ctx, `INSERT INTO state (key, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		key, value, t.now().UnixMicro()); err != nil {
		return fmt.Errorf("put state %s: %w", key, err)
	}
	return nil
}
