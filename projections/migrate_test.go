package projections

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chancery/chancery/events"
)

// A read model written before the people moved into the engagement rows is
// migrated in place to the columns the projector now writes, so it needs no
// rebuild and every filter keeps answering.
// oldPeople are the people of the engagements writeVersion1 stores.
func oldPeople() map[string][]events.Participant {
	return map[string][]events.Participant{
		"mtg_talks": {
			{Name: "Sergey Lavrov", Office: "Minister of Foreign Affairs", Country: "RU"},
			{Name: "Aleksandar Vulin", Office: "Minister of Internal Affairs", Country: "RS"},
			{Name: "Đorđe — Jovanović", Office: "Adviser"}, // no country, folded with diacritics and a dash
		},
		"vis_sochi": {{Name: "Aleksandar Vučić", Office: "President", Country: "RS"}},
		"mtg_empty": nil,
	}
}

// writeVersion1 writes a read model as the release before migration 0002
// wrote it: a people table. unfinished leaves it as a replay stopped half
// way leaves a new file: its indexes dropped and their definitions in meta.
func writeVersion1(t *testing.T, path string, people map[string][]events.Participant, unfinished bool) {
	t.Helper()
	ctx := context.Background()
	old, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	schema, err := migrations.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	stmts := []string{string(schema),
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY) STRICT`,
		`INSERT INTO schema_migrations VALUES (1)`,
		`INSERT INTO meta VALUES ('position', '9'), ('projection_version', '2')`}
	if unfinished {
		stmts = append(stmts,
			`INSERT INTO meta SELECT 'replay_indexes', json_group_array(sql ORDER BY name) FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL`,
			`DROP INDEX engagements_by_start`, `DROP INDEX engagements_by_end`,
			`DROP INDEX engagements_by_country`, `DROP INDEX people_by_country`)
	}
	for _, s := range stmts {
		if _, err := old.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	for id, ps := range people {
		typ, role := "meeting", "participant"
		if id == "vis_sochi" {
			typ, role = "visit", "visitor"
		}
		if _, err := old.ExecContext(ctx, `INSERT INTO engagements VALUES (?, ?, 1, 'talks', 'scheduled', 'RU', '', '', '', '', 1, '{}')`, id, typ); err != nil {
			t.Fatal(err)
		}
		// Stored out of order: the migration follows pos, not rowid.
		for i := len(ps) - 1; i >= 0; i-- {
			p := ps[i]
			if _, err := old.ExecContext(ctx, `INSERT INTO people VALUES (?, ?, ?, ?, ?, ?, ?)`,
				id, i, role, p.Name, events.FoldName(p.Name), p.Office, p.Country); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// A replay or rebuild the previous release left unfinished is migrated too,
// and builds, when it resumes and ends, only the indexes that still exist.
func TestPeopleMigrateInAReplayLeftUnfinished(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "chancery.db.rebuild")
	writeVersion1(t, path, oldPeople(), true)
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var saved string
	if err := db.read.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'replay_indexes'`).Scan(&saved); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(saved, "by_country") || !strings.Contains(saved, "engagements_by_start") || !strings.Contains(saved, "engagements_by_end") {
		t.Errorf("index definitions kept for the end of the replay: %s", saved)
	}
	if err := db.restoreIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	var names string
	if err := db.read.QueryRowContext(ctx, `SELECT group_concat(name, ' ' ORDER BY name) FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL`).Scan(&names); err != nil {
		t.Fatal(err)
	}
	if names != "engagements_by_end engagements_by_start" {
		t.Errorf("indexes after the replay ends: %q", names)
	}
	got, err := db.List(ctx, Query{Person: "lavrov", Country: "RS"})
	if err != nil || len(got.Docs) != 1 {
		t.Errorf("lavrov in RS: %d, %v", len(got.Docs), err)
	}
}

func TestPeopleMigrateIntoTheirEngagements(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "chancery.db")
	people := oldPeople()
	writeVersion1(t, path, people, false)

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, stale := db.Stale(); stale {
		t.Fatalf("migrated read model is stale (version %d): it should need no rebuild", v)
	}
	for id, ps := range people {
		var folded, countries string
		if err := db.read.QueryRowContext(ctx, `SELECT people_folded, people_countries FROM engagements WHERE id = ?`, id).Scan(&folded, &countries); err != nil {
			t.Fatal(err)
		}
		wantFolded, wantCountries := peopleColumns(ps...)
		if folded != wantFolded || countries != wantCountries {
			t.Errorf("%s: migrated to (%q, %q), the projector writes (%q, %q)", id, folded, countries, wantFolded, wantCountries)
		}
	}
	if folded, _ := peopleColumns(people["mtg_talks"]...); folded != "| sergey lavrov | aleksandar vulin | dorde jovanovic |" {
		t.Errorf("people_folded = %q", folded)
	}
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name IN ('people', 'people_by_country')`).Scan(&n); err != nil || n != 0 {
		t.Errorf("people table and index left behind: %d, %v", n, err)
	}
	// The filters find them through the new columns.
	for _, tc := range []struct {
		q    Query
		want int
	}{
		{Query{Person: "lavrov"}, 1},
		{Query{Person: "vucic"}, 1},
		{Query{Person: "lavrov vulin"}, 0}, // words of two people are not one name
		{Query{Person: "jovanovic", Type: "meeting"}, 1},
		{Query{Country: "RS"}, 2},
		{Query{Countries: []string{"CN", "RS"}}, 2},
		{Query{People: []string{"dorde", "vucic"}}, 2},
	} {
		got, err := db.List(ctx, tc.q)
		if err != nil {
			t.Fatalf("%+v: %v", tc.q, err)
		}
		if len(got.Docs) != tc.want {
			t.Errorf("%+v: %d engagements, want %d", tc.q, len(got.Docs), tc.want)
		}
	}
}

// The read-only opening that audit verify uses cannot migrate: a file of
// the previous schema is refused by name.
func TestOpenReadOnlyRefusesAnotherSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "chancery.db")
	writeVersion1(t, path, oldPeople(), false)
	if _, err := OpenReadOnly(ctx, path); err == nil || !strings.Contains(err.Error(), "read model schema 1, this release uses 2: it was written by an earlier release") {
		t.Fatalf("OpenReadOnly of a schema 1 file: %v", err)
	}
	db, err := Open(ctx, path) // migrates
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	ro, err := OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatalf("OpenReadOnly after the migration: %v", err)
	}
	ro.Close()
}
