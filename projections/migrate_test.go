package projections

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/chancery/chancery/events"
)

// A read model written before the people moved into the engagement rows is
// migrated in place to the columns the projector now writes, so it needs no
// rebuild and every filter keeps answering.
func TestPeopleMigrateIntoTheirEngagements(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "chancery.db")
	old, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	schema, err := migrations.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	people := map[string][]events.Participant{
		"mtg_talks": {
			{Name: "Sergey Lavrov", Office: "Minister of Foreign Affairs", Country: "RU"},
			{Name: "Aleksandar Vulin", Office: "Minister of Internal Affairs", Country: "RS"},
			{Name: "Đorđe — Jovanović", Office: "Adviser"}, // no country, folded with diacritics and a dash
		},
		"vis_sochi": {{Name: "Aleksandar Vučić", Office: "President", Country: "RS"}},
		"mtg_empty": nil,
	}
	stmts := []string{string(schema),
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY) STRICT`,
		`INSERT INTO schema_migrations VALUES (1)`,
		`INSERT INTO meta VALUES ('position', '9'), ('projection_version', '2')`}
	for _, s := range stmts {
		if _, err := old.ExecContext(ctx, s); err != nil {
			t.Fatal(err)
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
	old.Close()

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
