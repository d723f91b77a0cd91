package projections

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// digestQueries list every table of the read model in a stable order.
var digestQueries = map[string]string{
	"meta":        `SELECT key, value FROM meta ORDER BY key`,
	"engagements": `SELECT id, type, version, kind, status, country, start_utc, end_utc, start_date, end_date, last_seq, doc FROM engagements ORDER BY id`,
	"people":      `SELECT engagement_id, pos, role, name, name_folded, office, country FROM people ORDER BY engagement_id, pos`,
}

// Digest returns a SHA-256 digest of each table's rows. Two read models built
// from the same events have equal digests.
func (db *DB) Digest(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	for table, q := range digestQueries {
		rows, err := db.read.QueryContext(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("digest %s: %w", table, err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		h := sha256.New()
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return nil, err
			}
			for _, v := range vals {
				fmt.Fprintf(h, "%v\x1f", v)
			}
			h.Write([]byte{'\x1e'})
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return nil, err
		}
		rows.Close()
		out[table] = hex.EncodeToString(h.Sum(nil))
	}
	return out, nil
}
