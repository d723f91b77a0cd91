package audit

import (
	"bytes"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chancery/chancery/projections"
)

// liveModel replays the whole record into a read model file and opens it
// as verify does, read-only.
func liveModel(t *testing.T, r *record) (*projections.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "chancery.db")
	if _, err := Replay(r.ctx, path, r.log, ReplayOptions{}); err != nil {
		t.Fatal(err)
	}
	db := r.readModel(t, path)
	t.Cleanup(func() { db.Close() })
	return db, path
}

func TestVerifyReportsARowThatDiffersFromARebuild(t *testing.T) {
	r := newRecord(t)
	talks, _ := talksStory(t, r)
	live, path := liveModel(t, r)

	v, err := Verify(r.ctx, live, r.log)
	var out bytes.Buffer
	if err == nil {
		err = v.Report(&out)
	}
	if err != nil || v.Position != 6 || len(v.Diffs) != 0 || out.String() != "ok: "+path+" equals a rebuild from the stream at position 6\n" {
		t.Fatalf("verify of a faithful read model: %+v, %v, %q", v, err, out.String())
	}

	// Somebody edits the read model by hand.
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE engagements SET status = 'held' WHERE id = ?`, talks); err != nil {
		t.Fatal(err)
	}
	db.Close()

	v, err = Verify(r.ctx, live, r.log)
	if err != nil || len(v.Diffs) != 1 || v.Diffs[0].Table != "engagements" || v.Diffs[0].Key != talks {
		t.Fatalf("verify of an edited read model: %+v, %v; want one difference, engagements %s", v, err, talks)
	}
	out.Reset()
	err = v.Report(&out)
	if err == nil || !strings.Contains(err.Error(), "engagements "+talks) ||
		!strings.HasPrefix(out.String(), path+" differs from a rebuild from the stream at position 6") || !strings.Contains(out.String(), "engagements "+talks+":") {
		t.Errorf("report of an edited read model: %v\n%s", err, out.String())
	}
}

func TestVerifyRefusesAReadModelWithNoEvents(t *testing.T) {
	r := newRecord(t)
	path := filepath.Join(t.TempDir(), "empty.db")
	db, err := projections.Open(r.ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	live := r.readModel(t, path)
	defer live.Close()
	if _, err := Verify(r.ctx, live, r.log); err == nil || !strings.Contains(err.Error(), "has applied no events") {
		t.Errorf("verify of an empty read model: %v", err)
	}
}
