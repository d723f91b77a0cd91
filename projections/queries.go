package projections

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/chancery/chancery/events"
)

// Query selects engagements. Empty fields do not filter.
type Query struct {
	Type     string    // events.MeetingAggregate or events.VisitAggregate; empty for both
	FromDate string    // local date: engagements whose last day is on or after it
	ToDate   string    // local date: engagements whose first day is on or before it
	From     time.Time // instant: engagements that end after it
	To       time.Time // instant: engagements that start before it
	Country  string    // the place's country, or any person's
	Person   string    // whole words of a person's name, matched without case or diacritics (a meeting's participants, a visit's visitor)
	Kind     string
	Status   string
	Limit    int
	Cursor   string // from a previous page's Next

	// Lists match any of their values; they combine with the fields above.
	Countries []string
	People    []string
	Kinds     []string
	Statuses  []string
	// CancelledUntil, when set, drops cancelled engagements that ended
	// before it: a feed keeps a cancellation only for a while.
	CancelledUntil time.Time
}

// Page is one page of results.
type Page struct {
	Docs     []json.RawMessage // the resources, ordered by start
	Next     string            // cursor for the next page, empty on the last
	Position uint64            // the stream position the page reflects
}

// ErrNotFound reports that an engagement is not in the read model.
var ErrNotFound = errors.New("not found")

// DefaultLimit and MaxLimit bound page sizes.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// MaxFilterValues bounds each of a query's lists (Countries, People,
// Kinds, Statuses). Every country and every person is a term of an OR in
// the SQL, and SQLite refuses an expression deeper than 1000 terms; the
// edges refuse a longer list as invalid input before it gets here.
const MaxFilterValues = 100

// List returns one page of engagements matching q, ordered by start.
func (db *DB) List(ctx context.Context, q Query) (Page, error) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	db.queries.Add(1)
	where, args, err := q.where()
	if err != nil {
		return Page{}, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)

	sqlText := "SELECT e.doc, e.start_utc, e.id FROM engagements e"
	if len(where) > 0 {
		sqlText += " WHERE " + strings.Join(where, " AND ")
	}
	sqlText += " ORDER BY e.start_utc, e.id LIMIT ?"
	args = append(args, limit+1)

	// One read transaction, so the rows and the position agree.
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return Page{}, err
	}
	defer tx.Rollback()
	pos, err := position(ctx, tx)
	if err != nil {
		return Page{}, err
	}
	rows, err := tx.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return Page{}, fmt.Errorf("list: %w", err)
	}
	defer rows.Close()
	page := Page{Docs: []json.RawMessage{}, Position: pos}
	var lastStart, lastID string
	for rows.Next() {
		var doc, start, id string
		if err := rows.Scan(&doc, &start, &id); err != nil {
			return Page{}, err
		}
		if len(page.Docs) == limit {
			page.Next = encodeCursor(lastStart, lastID)
			break
		}
		page.Docs = append(page.Docs, json.RawMessage(doc))
		lastStart, lastID = start, id
	}
	return page, rows.Err()
}

// where turns a query into SQL conditions and their arguments. Every value
// is a bound parameter; no input is ever part of the SQL text.
func (q Query) where() ([]string, []any, error) {
	var where []string
	var args []any
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	if q.Type != "" {
		add("e.type = ?", q.Type)
	}
	if q.FromDate != "" {
		add("e.end_date >= ?", q.FromDate)
	}
	if q.ToDate != "" {
		add("e.start_date <= ?", q.ToDate)
	}
	if !q.From.IsZero() {
		add("e.end_utc > ?", q.From.UTC().Format(utcLayout))
	}
	if !q.To.IsZero() {
		add("e.start_utc < ?", q.To.UTC().Format(utcLayout))
	}
	if q.Country != "" {
		add("(e.country = ? OR instr(e.people_countries, ?) > 0)", q.Country, " "+q.Country+" ")
	}
	if folded := events.FoldName(q.Person); folded != "" {
		add("instr(e.people_folded, ?) > 0", " "+folded+" ")
	} else if strings.TrimSpace(q.Person) != "" {
		add("0")
	}
	if q.Kind != "" {
		add("e.kind = ?", q.Kind)
	}
	if q.Status != "" {
		add("e.status = ?", q.Status)
	}
	if q.Cursor != "" {
		start, id, err := decodeCursor(q.Cursor)
		if err != nil {
			return nil, nil, err
		}
		add("(e.start_utc, e.id) > (?, ?)", start, id)
	}
	inList := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		ph := strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ")
		a := make([]any, len(vals))
		for i, v := range vals {
			a[i] = v
		}
		add(col+" IN ("+ph+")", a...)
	}
	inList("e.kind", q.Kinds)
	inList("e.status", q.Statuses)
	if len(q.Countries) > 0 {
		ph := strings.TrimSuffix(strings.Repeat("?, ", len(q.Countries)), ", ")
		var a []any
		for _, c := range q.Countries {
			a = append(a, c)
		}
		cond := "e.country IN (" + ph + ")"
		for _, c := range q.Countries {
			cond += " OR instr(e.people_countries, ?) > 0"
			a = append(a, " "+c+" ")
		}
		add("("+cond+")", a...)
	}
	var people []string
	var pargs []any
	for _, person := range q.People {
		if folded := FoldPerson(person); folded != "" {
			people = append(people, "instr(e.people_folded, ?) > 0")
			pargs = append(pargs, folded)
		}
	}
	if len(people) > 0 {
		add("("+strings.Join(people, " OR ")+")", pargs...)
	}
	if !q.CancelledUntil.IsZero() {
		add("NOT (e.status = 'cancelled' AND e.end_utc < ?)", q.CancelledUntil.UTC().Format(utcLayout))
	}
	return where, args, nil
}

// FoldPerson returns the search form of a person's name: its folded words
// between spaces, found with instr in people_folded.
func FoldPerson(name string) string {
	if f := events.FoldName(name); f != "" {
		return " " + f + " "
	}
	return ""
}

// Resource is one engagement as the API serves it: its JSON document, and
// its version (the document's "version", read from its own column).
type Resource struct {
	Doc     json.RawMessage
	Version int
}

// Get returns one engagement's resource and the position it reflects.
func (db *DB) Get(ctx context.Context, typ, id string) (Resource, uint64, error) {
	doc, version, pos, err := db.get(ctx, typ, id)
	return Resource{Doc: doc, Version: version}, pos, err
}

// Engagement returns the view of one engagement and the position it
// reflects.
func (db *DB) Engagement(ctx context.Context, typ, id string) (*Engagement, uint64, error) {
	doc, _, pos, err := db.get(ctx, typ, id)
	if err != nil {
		return nil, pos, err
	}
	e, err := decodeEngagement(typ, doc)
	if err != nil {
		return nil, pos, fmt.Errorf("get %s: %w", id, err)
	}
	return e, pos, nil
}

// get reads one engagement's document and version and the position, in one
// read.
func (db *DB) get(ctx context.Context, typ, id string) ([]byte, int, uint64, error) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	db.queries.Add(1)
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, 0, err
	}
	defer tx.Rollback()
	pos, err := position(ctx, tx)
	if err != nil {
		return nil, 0, 0, err
	}
	var doc []byte
	var version int
	err = tx.QueryRowContext(ctx, `SELECT doc, version FROM engagements WHERE id = ? AND type = ?`, id, typ).Scan(&doc, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, pos, ErrNotFound
	}
	if err != nil {
		return nil, 0, pos, fmt.Errorf("get %s: %w", id, err)
	}
	return doc, version, pos, nil
}

func encodeCursor(start, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(start + "|" + id))
}

// ErrBadCursor reports a cursor this service did not issue.
var ErrBadCursor = errors.New("cursor is not one this service issued")

func decodeCursor(c string) (start, id string, err error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", "", ErrBadCursor
	}
	start, id, ok := strings.Cut(string(b), "|")
	if !ok || len(start) != len(utcLayout) || events.AggregateTypeOf(id) == "" {
		return "", "", ErrBadCursor
	}
	return start, id, nil
}

// Item is one engagement of a feed, as of the stream sequence of the event
// that last changed it: a caller that keeps what it built from a view can
// tell by (ID, Seq) whether it still holds.
type Item struct {
	ID         string
	Seq        uint64
	Engagement *Engagement // nil when the caller's need said it has it
}

// FeedLimit bounds how many engagements one feed holds: calendar clients
// struggle with feeds of many megabytes.
const FeedLimit = 20000

// Feed returns every engagement matching q (q.Limit and q.Cursor are
// ignored), ordered by start, and the position they reflect.
func (db *DB) Feed(ctx context.Context, q Query) ([]Engagement, uint64, error) {
	items, pos, _, err := db.feed(ctx, q, false, nil)
	if err != nil {
		return nil, 0, err
	}
	out := make([]Engagement, len(items))
	for i, it := range items {
		out[i] = *it.Engagement
	}
	return out, pos, nil
}

// FeedChanged is Feed, and also when the read model last changed, in the
// same read: the updated_at of the engagement changed last. Rows are never
// deleted and every change stamps its row, so it never goes back as the
// position moves on. When need is set, only the items it wants get their
// Engagement: a caller that keeps what it built by (ID, Seq) reads and
// decodes only what changed.
func (db *DB) FeedChanged(ctx context.Context, q Query, need func(id string, seq uint64) bool) ([]Item, uint64, time.Time, error) {
	return db.feed(ctx, q, true, need)
}

func (db *DB) feed(ctx context.Context, q Query, withChange bool, need func(string, uint64) bool) ([]Item, uint64, time.Time, error) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	db.queries.Add(1)
	var changed time.Time
	where, args, err := q.where()
	if err != nil {
		return nil, 0, changed, err
	}
	cols := "e.type, e.doc, e.id, e.last_seq"
	if need != nil {
		cols = "e.type, '', e.id, e.last_seq" // documents come after, for what is needed
	}
	sqlText := "SELECT " + cols + " FROM engagements e"
	if len(where) > 0 {
		sqlText += " WHERE " + strings.Join(where, " AND ")
	}
	sqlText += " ORDER BY e.start_utc, e.id LIMIT ?"
	args = append(args, FeedLimit)
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, changed, err
	}
	defer tx.Rollback()
	pos, err := position(ctx, tx)
	if err != nil {
		return nil, 0, changed, err
	}
	if withChange {
		var typ string
		var doc []byte
		err := tx.QueryRowContext(ctx, `SELECT type, doc FROM engagements ORDER BY last_seq DESC LIMIT 1`).Scan(&typ, &doc)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, 0, changed, fmt.Errorf("feed: last change: %w", err)
		}
		if err == nil {
			last, err := decodeEngagement(typ, doc)
			if err != nil {
				return nil, 0, changed, fmt.Errorf("feed: last change: %w", err)
			}
			changed = last.UpdatedAt
		}
	}
	rows, err := tx.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return nil, 0, changed, fmt.Errorf("feed: %w", err)
	}
	defer rows.Close()
	var items []Item
	for rows.Next() {
		var typ, id string
		var doc []byte
		var seq int64
		if err := rows.Scan(&typ, &doc, &id, &seq); err != nil {
			return nil, 0, changed, err
		}
		it := Item{ID: id, Seq: uint64(seq)}
		if need == nil {
			if it.Engagement, err = decodeEngagement(typ, doc); err != nil {
				return nil, 0, changed, fmt.Errorf("feed: %s: %w", id, err)
			}
		}
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, changed, err
	}
	rows.Close()
	if need != nil {
		if err := fillViews(ctx, tx, items, need); err != nil {
			return nil, 0, changed, err
		}
	}
	return items, pos, changed, nil
}

// fillViews reads and decodes the documents of the items need wants, in the
// same read.
func fillViews(ctx context.Context, tx *sql.Tx, items []Item, need func(string, uint64) bool) error {
	at := map[string]int{}
	var ids []any
	for i, it := range items {
		if need(it.ID, it.Seq) {
			at[it.ID] = i
			ids = append(ids, it.ID)
		}
	}
	const chunk = 500
	for len(ids) > 0 {
		n := min(chunk, len(ids))
		rows, err := tx.QueryContext(ctx, `SELECT id, type, doc FROM engagements WHERE id IN (?`+strings.Repeat(",?", n-1)+`)`, ids[:n]...)
		if err != nil {
			return fmt.Errorf("feed: documents: %w", err)
		}
		for rows.Next() {
			var id, typ string
			var doc []byte
			if err := rows.Scan(&id, &typ, &doc); err != nil {
				rows.Close()
				return err
			}
			e, err := decodeEngagement(typ, doc)
			if err != nil {
				rows.Close()
				return fmt.Errorf("feed: %s: %w", id, err)
			}
			items[at[id]].Engagement = e
		}
		if err := rows.Close(); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// Queries counts the read queries served, so tests can show that a cached
// answer touched no SQL.
func (db *DB) Queries() int64 { return db.queries.Load() }
