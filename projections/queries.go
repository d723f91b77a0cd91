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
	Person   string    // whole words of a person's name, matched without case or diacritics
	Role     string    // restrict Person to this role (participant, visitor)
	Kind     string
	Status   string
	Limit    int
	Cursor   string // from a previous page's Next
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

// List returns one page of engagements matching q, ordered by start.
func (db *DB) List(ctx context.Context, q Query) (Page, error) {
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
		add("(e.country = ? OR EXISTS (SELECT 1 FROM people p WHERE p.engagement_id = e.id AND p.country = ?))", q.Country, q.Country)
	}
	if folded := events.FoldName(q.Person); folded != "" {
		cond := "EXISTS (SELECT 1 FROM people p WHERE p.engagement_id = e.id AND instr(' ' || p.name_folded || ' ', ?) > 0"
		a := []any{" " + folded + " "}
		if q.Role != "" {
			cond += " AND p.role = ?"
			a = append(a, q.Role)
		}
		add(cond+")", a...)
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
			return Page{}, err
		}
		add("(e.start_utc, e.id) > (?, ?)", start, id)
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

// Get returns one engagement's resource and the position it reflects.
func (db *DB) Get(ctx context.Context, typ, id string) (json.RawMessage, uint64, error) {
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, err
	}
	defer tx.Rollback()
	pos, err := position(ctx, tx)
	if err != nil {
		return nil, 0, err
	}
	var doc string
	err = tx.QueryRowContext(ctx, `SELECT doc FROM engagements WHERE id = ? AND type = ?`, id, typ).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, pos, ErrNotFound
	}
	if err != nil {
		return nil, pos, fmt.Errorf("get %s: %w", id, err)
	}
	return json.RawMessage(doc), pos, nil
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
