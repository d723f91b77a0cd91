package projections

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the read model: one writer connection for the projector, a pool of
// readers for queries (WAL lets them read while it writes).
type DB struct {
	path    string
	write   *sql.DB
	read    *sql.DB
	queries atomic.Int64

	rebuilt     bool // Open cleared rows of another projection version
	rebuiltFrom int  // that version (0: unversioned)
}

// Open opens (creating if needed) the SQLite read model at path and applies
// pending migrations.
func Open(ctx context.Context, path string) (*DB, error) {
	dsn := func(extra string) string {
		q := url.Values{}
		for _, p := range []string{"journal_mode(WAL)", "synchronous(NORMAL)", "busy_timeout(10000)", "foreign_keys(1)"} {
			q.Add("_pragma", p)
		}
		return "file:" + path + "?" + q.Encode() + extra
	}
	w, err := sql.Open("sqlite", dsn("&_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	r, err := sql.Open("sqlite", dsn(""))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	r.SetMaxOpenConns(max(4, runtime.GOMAXPROCS(0)*2))
	db := &DB{path: path, write: w, read: r}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.checkVersion(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Version is the version of the projection code: what the rows hold and how
// events fold into them. Raise it whenever a change means rows written by
// the old code differ from what the new code would write; a read model
// stored by another version is then rebuilt from the stream.
const Version = 2

// Rebuilt reports whether Open found rows of another projection version and
// cleared them, so that the projector rebuilds them from the stream.
func (db *DB) Rebuilt() (from int, ok bool) { return db.rebuiltFrom, db.rebuilt }

// checkVersion clears a read model written by another projection version
// (or one that predates versioning) and records the current version.
func (db *DB) checkVersion(ctx context.Context) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("projection version: %w", err)
	}
	defer tx.Rollback()
	var stored string
	err = tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'projection_version'`).Scan(&stored)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("projection version: %w", err)
	}
	if stored == strconv.Itoa(Version) {
		return nil
	}
	pos, err := position(ctx, tx)
	if err != nil {
		return err
	}
	if pos > 0 {
		// Rows of another version: start again from the beginning of the
		// stream. (People go with their engagements, ON DELETE CASCADE.)
		for _, q := range []string{`DELETE FROM engagements`, `DELETE FROM meta WHERE key = 'position'`} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("projection version: %w", err)
			}
		}
		db.rebuilt = true
		db.rebuiltFrom, _ = strconv.Atoi(stored)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('projection_version', ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, strconv.Itoa(Version)); err != nil {
		return fmt.Errorf("projection version: %w", err)
	}
	return tx.Commit()
}

// OpenReadOnly opens an existing read model for reading only: no
// migration, no version check, nothing written (a running service may own
// the file).
func OpenReadOnly(ctx context.Context, path string) (*DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Add("mode", "ro")
	q.Add("_pragma", "busy_timeout(10000)")
	r, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := r.PingContext(ctx); err != nil {
		r.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return &DB{path: path, read: r}, nil
}

// Path returns the file the read model lives in.
func (db *DB) Path() string { return db.path }

// Close closes both pools.
func (db *DB) Close() error {
	if db.write == nil {
		return db.read.Close()
	}
	return errors.Join(db.read.Close(), db.write.Close())
}

// Conn returns the reader pool, for read-only queries of other packages.
func (db *DB) Conn() *sql.DB { return db.read }

func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY) STRICT`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		n, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with its number", base)
		}
		var done int
		if err := db.write.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, n).Scan(&done); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if done > 0 {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		tx, err := db.write.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", base, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version) VALUES (?)`, n); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", base, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %s: %w", base, err)
		}
	}
	return nil
}

// Position returns the stream sequence of the last event applied.
func (db *DB) Position(ctx context.Context) (uint64, error) {
	return position(ctx, db.read)
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func position(ctx context.Context, q queryer) (uint64, error) {
	var v string
	err := q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'position'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read position: %w", err)
	}
	return strconv.ParseUint(v, 10, 64)
}
