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
	"sync"
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

	// mu is held for reading while a query uses the pools, and for writing
	// while replace swaps the file under them.
	mu            sync.RWMutex
	stale         bool // the rows were written by another projection version
	storedVersion int  // that version (0: unversioned)
}

// Open opens (creating if needed) the SQLite read model at path and applies
// pending migrations. A read model written by another projection version is
// opened as it is, and Stale says so: it keeps answering while Rebuild
// builds its replacement.
func Open(ctx context.Context, path string) (*DB, error) {
	db := &DB{path: path}
	if err := db.openPools(); err != nil {
		return nil, err
	}
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

// openPools opens the writer and the reader pools on db.path.
func (db *DB) openPools() error {
	dsn := func(extra string) string {
		q := url.Values{}
		for _, p := range []string{"journal_mode(WAL)", "synchronous(NORMAL)", "busy_timeout(10000)", "foreign_keys(1)"} {
			q.Add("_pragma", p)
		}
		return "file:" + db.path + "?" + q.Encode() + extra
	}
	w, err := sql.Open("sqlite", dsn("&_txlock=immediate&_pragma=cache_size(-32000)"))
	if err != nil {
		return fmt.Errorf("open %s: %w", db.path, err)
	}
	w.SetMaxOpenConns(1)
	r, err := sql.Open("sqlite", dsn(""))
	if err != nil {
		w.Close()
		return fmt.Errorf("open %s: %w", db.path, err)
	}
	r.SetMaxOpenConns(max(4, runtime.GOMAXPROCS(0)*2))
	db.write, db.read = w, r
	return nil
}

// Version is the version of the projection code: what the rows hold and how
// events fold into them. Raise it whenever a change means rows written by
// the old code differ from what the new code would write; a read model
// stored by another version is then rebuilt from the stream.
const Version = 2

// Stale reports whether the read model was written by another projection
// version (0: one that predates versioning) and must be rebuilt.
func (db *DB) Stale() (version int, stale bool) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	return db.storedVersion, db.stale
}

// checkVersion records the projection version in a new read model, and
// notes a read model written by another version as stale.
func (db *DB) checkVersion(ctx context.Context) error {
	var stored string
	err := db.write.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'projection_version'`).Scan(&stored)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("projection version: %w", err)
	}
	if stored == strconv.Itoa(Version) {
		return nil
	}
	pos, err := position(ctx, db.write)
	if err != nil {
		return err
	}
	if pos > 0 {
		db.stale = true
		db.storedVersion, _ = strconv.Atoi(stored)
		return nil
	}
	if _, err := db.write.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('projection_version', ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, strconv.Itoa(Version)); err != nil {
		return fmt.Errorf("projection version: %w", err)
	}
	return nil
}

// replace swaps fresh in for db's rows: fresh's file takes db's name and
// db's pools reopen on it. Queries wait for the swap (milliseconds) and
// then see the new rows; none sees a half-swapped model. fresh is closed.
func (db *DB) replace(fresh *DB) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if err := fresh.Close(); err != nil {
		return err
	}
	// sql.DB.Close waits for queries in flight; none can start (db.mu).
	if err := errors.Join(db.read.Close(), db.write.Close()); err != nil {
		return err
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		os.Remove(db.path + suffix)
		os.Remove(fresh.path + suffix)
	}
	if err := os.Rename(fresh.path, db.path); err != nil {
		return err
	}
	db.stale, db.storedVersion = false, Version
	return db.openPools()
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
	// It cannot migrate: a file of another schema is refused by name rather
	// than failing later on a missing table or column.
	var stored int
	if err := r.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&stored); err != nil {
		r.Close()
		return nil, fmt.Errorf("open %s: not a Chancery read model: %w", path, err)
	}
	if want, err := latestMigration(); err != nil || stored != want {
		r.Close()
		if err != nil {
			return nil, err
		}
		if stored < want {
			return nil, fmt.Errorf("open %s: read model schema %d, this release uses %d: it was written by an earlier release; start this release's serve once to migrate it, or use the tools of the release running", path, stored, want)
		}
		return nil, fmt.Errorf("open %s: read model schema %d, this release uses %d: it was written by a later release", path, stored, want)
	}
	return &DB{path: path, read: r}, nil
}

// latestMigration returns the number of the last migration this release has.
func latestMigration() (int, error) {
	ms, err := migrationFiles()
	if err != nil || len(ms) == 0 {
		return 0, err
	}
	return ms[len(ms)-1].n, nil
}

type migration struct {
	n    int
	name string // its path in migrations
}

// migrationFiles lists the migrations in the order they apply.
func migrationFiles() ([]migration, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var ms []migration
	for _, name := range names {
		n, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(name, "migrations/"), "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: name must start with its number", strings.TrimPrefix(name, "migrations/"))
		}
		ms = append(ms, migration{n: n, name: name})
	}
	return ms, nil
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
	ms, err := migrationFiles()
	if err != nil {
		return err
	}
	for _, m := range ms {
		n, name, base := m.n, m.name, strings.TrimPrefix(m.name, "migrations/")
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
	db.mu.RLock()
	defer db.mu.RUnlock()
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
