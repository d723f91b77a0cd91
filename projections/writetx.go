package projections

import (
	"context"
	"database/sql"
	"fmt"
)

// inWriteTx runs fn in one transaction on the write pool and commits it when
// fn succeeds. It holds mu for reading throughout, so that a rebuild cannot
// swap the file while the transaction is open.
func (db *DB) inWriteTx(ctx context.Context, what string, fn func(*sql.Tx) error) error {
	db.mu.RLock()
	defer db.mu.RUnlock()
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", what, err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", what, err)
	}
	return nil
}
