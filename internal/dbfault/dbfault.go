// Package dbfault makes a read model's checkpoint fail on demand, for tests
// of what a crash or a full disk between a batch's rows and its checkpoint
// leaves behind. The code under test has no hook for it: the test's own
// connection adds triggers to the SQLite file that, before the checkpoint
// row is written, call a function the test gives; an error from it aborts
// the statement, and with it the batch, as a failed write would.
//
// Importing the package registers the SQL function the triggers call with
// the sqlite driver, for every connection the test process opens after its
// start.
package dbfault

import (
	"database/sql"
	"database/sql/driver"
	"fmt"
	"net/url"
	"sync"
	"testing"

	"modernc.org/sqlite"
)

// sqlFunc is the SQL function the triggers call, with the tag of the test's
// function as its argument.
const sqlFunc = "chancery_dbfault"

var (
	mu    sync.Mutex
	funcs = map[string]func() error{} // by tag
	tags  int
)

func init() {
	sqlite.MustRegisterScalarFunction(sqlFunc, 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		tag, _ := args[0].(string)
		mu.Lock()
		f := funcs[tag]
		mu.Unlock()
		if f == nil {
			return nil, nil // its test has ended
		}
		return nil, f()
	})
}

// BeforeCheckpoint makes every write of the checkpoint (meta's position
// row, written in the same transaction as the batch's rows) to the read
// model at path call f first, until the test ends; when f returns an error,
// the write fails with its text. The file must exist with its schema, as
// projections.Open leaves it.
func BeforeCheckpoint(tb testing.TB, path string, f func() error) {
	tb.Helper()
	mu.Lock()
	tags++
	tag := fmt.Sprintf("t%d", tags)
	funcs[tag] = f
	mu.Unlock()
	tb.Cleanup(func() {
		mu.Lock()
		delete(funcs, tag)
		mu.Unlock()
	})
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	// The checkpoint is an upsert, which fires BEFORE INSERT triggers
	// whether the row is new or not.
	trigger := fmt.Sprintf(`CREATE TRIGGER dbfault_%s BEFORE INSERT ON meta WHEN NEW.key = 'position'
		BEGIN SELECT %s('%s'); END`, tag, sqlFunc, tag)
	if _, err := db.Exec(trigger); err != nil {
		tb.Fatalf("dbfault: %s: %v", path, err)
	}
}
