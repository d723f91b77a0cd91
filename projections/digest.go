package projections

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
)

// tables lists every table of the read model, in the order they are
// compared, with the query that reads all its rows ordered by key and the
// number of leading key columns.
var tables = []struct {
	name  string
	query string
	keys  int
}{
	{"meta", `SELECT key, value FROM meta ORDER BY key`, 1},
	{"engagements", `SELECT id, type, version, kind, status, country, start_utc, end_utc, start_date, end_date, last_seq, doc, people_folded, people_countries FROM engagements ORDER BY id`, 1},
}

// tableRow is one row as text: its key as shown and as sorted (numbers
// zero-padded, so that text order is SQL order), and all its values.
type tableRow struct{ key, sort, text string }

// eachRow calls fn for every row of a table, in key order.
func eachRow(ctx context.Context, q *sql.DB, query string, keys int, fn func(tableRow) error) error {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		parts := make([]string, len(vals))
		sortKey := make([]string, keys)
		for i, v := range vals {
			parts[i] = fmt.Sprintf("%v", v)
			if i < keys {
				sortKey[i] = parts[i]
				if n, ok := v.(int64); ok {
					sortKey[i] = fmt.Sprintf("%020d", n)
				}
			}
		}
		r := tableRow{key: strings.Join(parts[:keys], "/"), sort: strings.Join(sortKey, "\x00"), text: strings.Join(parts, "\x1f")}
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Digest returns a SHA-256 digest of each table's rows. Two read models built
// from the same events have equal digests.
func (db *DB) Digest(ctx context.Context) (map[string]string, error) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	out := map[string]string{}
	for _, t := range tables {
		h := sha256.New()
		err := eachRow(ctx, db.read, t.query, t.keys, func(r tableRow) error {
			h.Write([]byte(r.text))
			h.Write([]byte{'\x1e'})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("digest %s: %w", t.name, err)
		}
		out[t.name] = hex.EncodeToString(h.Sum(nil))
	}
	return out, nil
}

// Difference is a row that two read models disagree on.
type Difference struct {
	Table string
	Key   string // the row's key
	Want  string // the row in the reference model; empty when it has none
	Got   string // the row in the checked model; empty when it has none
}

func (d Difference) String() string {
	show := func(s string) string {
		if s == "" {
			return "(no row)"
		}
		s = strings.ReplaceAll(s, "\x1f", " | ")
		if len(s) > 300 {
			s = s[:300] + "…"
		}
		return s
	}
	return fmt.Sprintf("%s %s:\n  want %s\n  got  %s", d.Table, d.Key, show(d.Want), show(d.Got))
}

// Compare lists up to limit rows on which got differs from want, table by
// table, in key order.
func Compare(ctx context.Context, got, want *DB, limit int) ([]Difference, error) {
	var out []Difference
	for _, t := range tables {
		a, err := readRows(ctx, want, t.query, t.keys)
		if err != nil {
			return nil, fmt.Errorf("compare %s: %w", t.name, err)
		}
		b, err := readRows(ctx, got, t.query, t.keys)
		if err != nil {
			return nil, fmt.Errorf("compare %s: %w", t.name, err)
		}
		i, j := 0, 0
		for (i < len(a) || j < len(b)) && len(out) < limit {
			switch {
			case j >= len(b) || (i < len(a) && a[i].sort < b[j].sort):
				out = append(out, Difference{Table: t.name, Key: a[i].key, Want: a[i].text})
				i++
			case i >= len(a) || b[j].sort < a[i].sort:
				out = append(out, Difference{Table: t.name, Key: b[j].key, Got: b[j].text})
				j++
			default:
				if a[i].text != b[j].text {
					out = append(out, Difference{Table: t.name, Key: a[i].key, Want: a[i].text, Got: b[j].text})
				}
				i++
				j++
			}
		}
	}
	return out, nil
}

func readRows(ctx context.Context, db *DB, query string, keys int) ([]tableRow, error) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	var out []tableRow
	err := eachRow(ctx, db.read, query, keys, func(r tableRow) error {
		out = append(out, r)
		return nil
	})
	return out, err
}
