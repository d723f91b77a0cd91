package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/projections"
)

// talksStory records the seed's talks, reschedules them, then cancels
// them, each at its own moment on the service's clock; it returns the
// meeting's id and the three moments.
func talksStory(t *testing.T, s *service, clk *clock) (id string, moments [3]time.Time) {
	t.Helper()
	moments = [3]time.Time{
		time.Date(2022, 8, 19, 10, 0, 0, 0, time.UTC),
		time.Date(2022, 8, 20, 10, 0, 0, 0, time.UTC),
		time.Date(2022, 8, 21, 10, 0, 0, 0, time.UTC),
	}
	clk.Set(moments[0])
	id = s.Do("POST", "/api/v1/meetings", seedTalks()).Must(t, 201).Str("id")
	clk.Set(moments[1])
	s.Do("POST", "/api/v1/meetings/"+id+"/reschedule", map[string]any{"start": "2022-08-23"}).Must(t, 200)
	clk.Set(moments[2])
	s.Do("POST", "/api/v1/meetings/"+id+"/cancel", map[string]any{"reason": "called off"}).Must(t, 200)
	return id, moments
}

// meetingIn reads one meeting from a replayed file.
func meetingIn(t *testing.T, path, id string) events.Meeting {
	t.Helper()
	doc := readReplayed(t, path, func(db *projections.DB) (projections.Resource, error) {
		doc, _, err := db.Get(context.Background(), events.MeetingAggregate, id)
		if err != nil {
			return doc, fmt.Errorf("%s in %s: %w", id, path, err)
		}
		return doc, nil
	})
	var m events.Meeting
	json.Unmarshal(doc.Doc, &m)
	return m
}

// readReplayed opens the replayed file at path read-only, reads it with
// read and closes it; an error of either fails the test.
func readReplayed[T any](t *testing.T, path string, read func(*projections.DB) (T, error)) T {
	t.Helper()
	db, err := projections.OpenReadOnly(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	v, err := read(db)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestReplayUntilTimeShowsTheScheduleAsItStood(t *testing.T) {
	dir := t.TempDir()
	clk := newClock(time.Now())
	s := startService(t, dir, func(o *testServe) { o.now = clk.Now })
	id, moments := talksStory(t, s, clk)

	want := []struct{ status, start string }{
		{"scheduled", "2022-08-22"}, {"rescheduled", "2022-08-23"}, {"cancelled", "2022-08-23"},
	}
	for i, at := range moments {
		out := filepath.Join(t.TempDir(), "asof.db")
		// Halfway to the next moment: what was known then.
		code, stdout, stderr := runCLI(t, context.Background(), nil, "replay", "--data", dir, "--out", out, "--until-time", at.Add(time.Hour).Format(time.RFC3339))
		if code != 0 {
			t.Fatalf("replay until %s: exit %d: %s", at, code, stderr)
		}
		if !strings.Contains(stdout, fmt.Sprintf("position %d", i+1)) {
			t.Errorf("replay summary %q does not give position %d", stdout, i+1)
		}
		if m := meetingIn(t, out, id); m.Status != want[i].status || m.Start != want[i].start {
			t.Errorf("as of %s: %s on %s, want %s on %s", at, m.Status, m.Start, want[i].status, want[i].start)
		}
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"replay", "--data", dir}, 2, "--out is required"},
		{[]string{"replay", "--data", dir, "--out", filepath.Join(t.TempDir(), "x.db"), "--until-time", "yesterday"}, 2, "--until-time"},
		{[]string{"replay", "--data", dir, "--out", filepath.Join(t.TempDir(), "x.db"), "--until-seq", "1", "--until-time", moments[0].Format(time.RFC3339)}, 2, "not both"},
		{[]string{"replay", "--data", dir, "--out", filepath.Join(t.TempDir(), "x.db"), "--until-time", "2000-01-01T00:00:00Z"}, 1, "no event was recorded"},
		// A plain date is read as audit log --until reads it (its whole day), not refused.
		{[]string{"replay", "--data", dir, "--out", filepath.Join(t.TempDir(), "x.db"), "--until-time", "2000-01-01"}, 1, "no event was recorded at or before 2000-01-01T23:59:59"},
		{[]string{"replay", "--data", filepath.Join(dir, "nope"), "--out", filepath.Join(t.TempDir(), "x.db")}, 2, "no event store"},
	} {
		code, _, stderr := runCLI(t, context.Background(), nil, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d naming %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
}

// TestReplayHelperProcess is not a test: TestReplayKilled... runs the test
// binary as a replay that a kill -9 interrupts.
func TestReplayHelperProcess(t *testing.T) {
	args := os.Getenv("CHANCERY_REPLAY_ARGS")
	if args == "" {
		t.Skip("helper process only")
	}
	replayAfterBatch = func() { time.Sleep(200 * time.Millisecond) }
	projections.ReplayBatch = 500 // several batches, to be killed between
	var out, errb strings.Builder
	if err := run(context.Background(), strings.Split(args, "\x1f"), os.Getenv, strings.NewReader(""), &out, &errb); err != nil {
		fmt.Fprintln(os.Stderr, err, errb.String())
		os.Exit(1)
	}
	os.Exit(0)
}

// recordRounds records n rounds of talks, a quarter of them postponed
// afterwards, and returns the position of the last event.
func recordRounds(t *testing.T, s *service, n int) (last uint64) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		id := events.NewMeetingID(time.Now())
		_, res, err := events.Execute[events.Meeting](ctx, s.app.log, id, talksCommand(i), events.Meta{Actor: "test", Fresh: true})
		if err != nil {
			t.Fatal(err)
		}
		if i%4 == 0 {
			if _, res, err = events.Execute[events.Meeting](ctx, s.app.log, id, &events.PostponeMeeting{Reason: "weather"}, events.Meta{Actor: "test"}); err != nil {
				t.Fatal(err)
			}
		}
		last = res.Position
	}
	return last
}

func TestReplayKilledAndRestartedEqualsAnUninterruptedReplay(t *testing.T) {
	dir := t.TempDir()
	s := startService(t, dir)
	ctx := context.Background()
	last := recordRounds(t, s, 1200) // three batches of up to 1,000, with changes in the second

	out := filepath.Join(t.TempDir(), "replay.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestReplayHelperProcess$")
	cmd.Env = append(os.Environ(), "CHANCERY_REPLAY_ARGS="+strings.Join([]string{"replay", "--data", dir, "--out", out}, "\x1f"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill -9 once the first batch is committed and before the last.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if pos := positionOf(t, out+".partial"); pos > 0 && pos < last {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the replay never committed a first batch")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if _, err := os.Stat(out); err == nil {
		t.Fatal("a killed replay left a finished file")
	}
	killedAt := positionOf(t, out+".partial")

	code, stdout, stderr := runCLI(t, ctx, nil, "replay", "--data", dir, "--out", out)
	if code != 0 || !strings.Contains(stdout, fmt.Sprintf("resumed an interrupted replay at %d", killedAt)) {
		t.Fatalf("resumed replay: exit %d: %s %s", code, stdout, stderr)
	}
	whole := filepath.Join(t.TempDir(), "whole.db")
	if code, _, stderr := runCLI(t, ctx, nil, "replay", "--data", dir, "--out", whole); code != 0 {
		t.Fatalf("uninterrupted replay: exit %d: %s", code, stderr)
	}
	if a, b := digestOf(t, out), digestOf(t, whole); !maps.Equal(a, b) {
		t.Errorf("killed-and-resumed replay differs from an uninterrupted one:\n%v\n%v", a, b)
	}
	if a, b := digestOf(t, out), digestAt(t, s, last); !maps.Equal(a, b) {
		t.Errorf("replay differs from the live read model:\n%v\n%v", a, b)
	}
}

func talksCommand(i int) *events.ScheduleMeeting {
	c := &events.ScheduleMeeting{
		Kind: "talks", Title: fmt.Sprintf("Consultations, round %d", i), Start: fmt.Sprintf("2026-%02d-%02dT10:00", 1+i%12, 1+i%28),
		Timezone: "Europe/Belgrade", Location: events.Location{City: "Belgrade", Country: "RS"},
		Participants: []events.Participant{{Name: "Ivica Dačić", Office: "Minister of Foreign Affairs", Country: "RS"}},
	}
	return c
}

// positionOf reads the checkpoint of a read model file; 0 when it has none.
func positionOf(t *testing.T, path string) uint64 {
	if _, err := os.Stat(path); err != nil {
		return 0
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return 0
	}
	defer db.Close()
	var v string
	if err := db.QueryRow(`SELECT value FROM meta WHERE key = 'position'`).Scan(&v); err != nil {
		return 0
	}
	var n uint64
	fmt.Sscan(v, &n)
	return n
}

func digestOf(t *testing.T, path string) map[string]string {
	t.Helper()
	return readReplayed(t, path, func(db *projections.DB) (map[string]string, error) {
		return db.Digest(context.Background())
	})
}

func TestAuditVerifyPassesOnAHealthyStoreAndNamesATamperedRow(t *testing.T) {
	dir := t.TempDir()
	s := startService(t, dir)
	talksID, pos := recordSeed(t, s)
	s.Do("GET", fmt.Sprintf("/api/v1/meetings?min_position=%d", pos), nil).Must(t, 200)

	code, stdout, stderr := runCLI(t, context.Background(), nil, "audit", "verify", "--data", dir)
	if code != 0 || !strings.HasPrefix(stdout, "ok: ") {
		t.Fatalf("verify on a healthy store: exit %d: %s %s", code, stdout, stderr)
	}

	// Somebody edits the live read model by hand.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "chancery.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE engagements SET status = 'held' WHERE id = ?`, talksID); err != nil {
		t.Fatal(err)
	}
	db.Close()
	code, stdout, stderr = runCLI(t, context.Background(), nil, "audit", "verify", "--data", dir)
	if code != 1 || !strings.Contains(stdout, "engagements "+talksID) || !strings.Contains(stderr, talksID) {
		t.Fatalf("verify after tampering: exit %d\nstdout %s\nstderr %s\nwant exit 1 naming engagements %s", code, stdout, stderr, talksID)
	}

	// Stopped service: verify opens the store itself.
	s.stop()
	code, _, stderr = runCLI(t, context.Background(), nil, "audit", "verify", "--data", dir)
	if code != 1 {
		t.Errorf("verify with the service stopped: exit %d (%s), want 1", code, stderr)
	}
}

func TestServeRebuildsAStaleReadModelInTheBackground(t *testing.T) {
	dir := t.TempDir()
	s := startService(t, dir)
	talksID, pos := recordSeed(t, s)
	digestAt(t, s, pos)
	s.stop()

	// As if the file had been written by an older release.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "chancery.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`UPDATE meta SET value = '1' WHERE key = 'projection_version'`, `UPDATE engagements SET status = 'held'`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s = startService(t, dir)
	deadline := time.Now().Add(20 * time.Second)
	for {
		// Reads answer throughout: the old rows until the swap.
		r := s.Do("GET", "/api/v1/meetings/"+talksID, nil).Must(t, 200)
		if rb := s.app.projector.RebuildStatus(); rb != nil && !rb.Running {
			if rb.Error != "" || rb.FromVersion != 1 {
				t.Fatalf("rebuild = %+v", rb)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no rebuild finished; last read %s", r.Raw)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := s.Do("GET", "/api/v1/meetings/"+talksID, nil).Must(t, 200).Str("status"); got != "scheduled" {
		t.Errorf("after the rebuild the talks are %q, want scheduled", got)
	}
	s.Do("GET", "/readyz", nil).Must(t, 200)
	assertEqualsRebuild(t, s)
}

// A replay attached to a running service whose server goes away mid-way
// fails once NATS has stayed away for toolReconnectFor, saying so, instead
// of waiting forever; run again against the restarted service, it resumes
// and ends with the same read model.
func TestReplayThroughAServiceThatDiesFailsAndARerunResumes(t *testing.T) {
	dir := t.TempDir()
	s := startService(t, dir)
	last := recordRounds(t, s, 1200)

	defer func(d time.Duration, b int) { toolReconnectFor, projections.ReplayBatch, replayAfterBatch = d, b, nil }(toolReconnectFor, projections.ReplayBatch)
	toolReconnectFor = time.Second
	projections.ReplayBatch = 50 // many batches, more than the scan reads ahead, to stop the service between
	replayAfterBatch = func() { time.Sleep(100 * time.Millisecond) }
	out := filepath.Join(t.TempDir(), "replay.db")
	type result struct {
		code           int
		stdout, stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, stdout, stderr := runCLI(t, context.Background(), nil, "replay", "--data", dir, "--out", out)
		done <- result{code, stdout, stderr}
	}()
	waitUntil(30*time.Second, func() bool { return positionOf(t, out+".partial") > 0 })
	s.stop()

	select {
	case r := <-done:
		if r.code != 1 || !strings.Contains(r.stderr, "lost the connection to NATS") || !strings.Contains(r.stderr, "run the same command again to resume") {
			t.Fatalf("replay through a service that stopped: exit %d, stderr %q; want exit 1 saying NATS was lost and a rerun resumes", r.code, r.stderr)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("replay through a service that stopped did not end")
	}
	stoppedAt := positionOf(t, out+".partial")
	if stoppedAt == 0 || stoppedAt >= last {
		t.Fatalf("the failed replay's checkpoint is %d, want between 0 and %d", stoppedAt, last)
	}

	replayAfterBatch = nil
	s = startService(t, dir)
	code, stdout, stderr := runCLI(t, context.Background(), nil, "replay", "--data", dir, "--out", out)
	if code != 0 || !strings.Contains(stdout, fmt.Sprintf("resumed an interrupted replay at %d", stoppedAt)) {
		t.Fatalf("rerun: exit %d: %s %s", code, stdout, stderr)
	}
	if a, b := digestOf(t, out), digestAt(t, s, last); !maps.Equal(a, b) {
		t.Errorf("resumed replay differs from the live read model:\n%v\n%v", a, b)
	}
}
