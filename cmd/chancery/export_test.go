package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/chancery/chancery/audit"
	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/internal/natstest"
	"github.com/chancery/chancery/projections"
)

// exportOf runs `chancery export` with args and returns the trail.
func exportOf(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := runCLI(t, context.Background(), nil, append([]string{"export"}, args...)...)
	if code != 0 {
		t.Fatalf("export %v: exit %d: %s", args, code, errOut)
	}
	return out
}

func writeTrail(t *testing.T, trail string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "trail.ndjson")
	if err := os.WriteFile(p, []byte(trail), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// recordTalksStory records the seed, then reschedules the talks (with an
// Idempotency-Key, so one event carries a Nats-Msg-Id) and cancels them.
func recordTalksStory(t *testing.T, s *service) (talksID string, last uint64) {
	t.Helper()
	talksID, _ = recordSeed(t, s)
	s.Do("POST", "/api/v1/meetings/"+talksID+"/reschedule", map[string]any{"start": "2022-08-23", "reason": "schedules"},
		"Idempotency-Key", "reschedule-talks-1").Must(t, 200)
	last = s.Do("POST", "/api/v1/meetings/"+talksID+"/cancel", map[string]any{"reason": "called off"}).Must(t, 200).Position(t)
	return talksID, last
}

func TestExportChainChecksOutAndAFlippedByteFailsAtItsLine(t *testing.T) {
	s := startService(t, t.TempDir())
	_, last := recordTalksStory(t, s)
	trail := exportOf(t, "--data", s.dir) // through the running service's nats.url

	lines := strings.SplitAfter(trail, "\n")
	lines = lines[:len(lines)-1] // after the final "\n"
	if n := uint64(len(lines)); n != last+2 {
		t.Fatalf("trail has %d lines, want a header, %d events and an end line:\n%s", n, last, trail)
	}
	if !strings.HasPrefix(lines[0], `{"format":"chancery-export","version":2,"stream":"CHANCERY_EVENTS","exported_at":"`) ||
		!strings.HasPrefix(lines[1], `{"seq":1,"subject":"chancery.events.meeting.`) ||
		!strings.Contains(trail, `"msg_id":"`) || strings.Count(trail, `"msg_id":""`) != int(last)-1 {
		t.Errorf("trail does not look as documented:\n%s", trail)
	}
	head := trail[strings.LastIndex(trail, `"head":"`)+8 : len(trail)-3]

	path := writeTrail(t, trail)
	code, out, errOut := runCLI(t, context.Background(), nil, "audit", "check-export", path)
	if want := "ok: 9 events, seq 1..9, head " + head + "\n"; code != 0 || out != want {
		t.Fatalf("check-export: exit %d, stdout %q, stderr %q; want %q", code, out, errOut, want)
	}

	// Every byte of the header, of an event and of the end line, flipped
	// two ways (0x20 also changes a key's case, which encoding/json alone
	// would not notice).
	start := 0
	for i, line := range lines {
		if i != 0 && i != 3 && i != len(lines)-1 {
			start += len(line)
			continue
		}
		for off := range len(line) {
			for _, mask := range []byte{0x01, 0x20} {
				b := []byte(trail)
				b[start+off] ^= mask
				_, err := audit.CheckTrail("t", bytes.NewReader(b), nil)
				var te *audit.TrailError
				if !errors.As(err, &te) || te.Line != i+1 {
					t.Errorf("byte %d of line %d (%q) ^ %#x: %v; want a failure at line %d", off, i+1, line[off], mask, err, i+1)
				}
			}
		}
		start += len(line)
	}

	// Through the command: exit 1, naming the line.
	flipped := []byte(trail)
	flipped[len(lines[0])+len(lines[1])+40] ^= 0x01
	code, _, errOut = runCLI(t, context.Background(), nil, "audit", "check-export", writeTrail(t, string(flipped)))
	if code != 1 || !strings.Contains(errOut, "line 3: hash mismatch") {
		t.Errorf("check-export of a flipped event: exit %d, %q; want exit 1 naming line 3", code, errOut)
	}

	// Lines removed, cut short, or reordered.
	for _, tc := range []struct {
		name, trail, want string
	}{
		{"event removed", lines[0] + lines[1] + strings.Join(lines[3:], ""), "line 3: seq gap: seq 3 follows seq 1"},
		{"events swapped", lines[0] + lines[2] + lines[1] + strings.Join(lines[3:], ""), "line 2: the first event is seq 2"},
		{"end line missing", strings.Join(lines[:len(lines)-1], ""), "missing end line"},
		{"cut mid-line", trail[:len(trail)-10], "no newline"},
		{"empty", "", "line 1: empty file"},
		{"not a trail", "{\"hello\":1}\n", "line 1: not a chancery-export header"},
		{"extra line", trail + lines[1], "data after the end line"},
	} {
		_, err := audit.CheckTrail("t", strings.NewReader(tc.trail), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}

	// A trail up to a point is a prefix with its own end line.
	partial := strings.SplitAfter(exportOf(t, "--data", s.dir, "--until-seq", "3"), "\n")
	if len(partial) != 6 || strings.Join(partial[1:4], "") != strings.Join(lines[1:4], "") ||
		partial[4] != `{"end":true,"count":3,"last_seq":3,"head":"`+chainHead(lines[3])+"\"}\n" {
		t.Errorf("export --until-seq 3 =\n%s", strings.Join(partial, ""))
	}
	genesis := sha256.Sum256([]byte("chancery-export\n2\nCHANCERY_EVENTS"))
	if partial := exportOf(t, "--data", s.dir, "--until-time", "2000-01-01T00:00:00Z"); !strings.HasSuffix(partial, `{"end":true,"count":0,"last_seq":0,"head":"`+hex.EncodeToString(genesis[:])+"\"}\n") {
		t.Errorf("export before the first event =\n%s", partial)
	}

	// The chain starts from the stream's name: a header relabelled as
	// another stream's, with a header hash to match, breaks it at the
	// first event.
	var h audit.TrailHeader
	if err := json.Unmarshal([]byte(lines[0]), &h); err != nil {
		t.Fatal(err)
	}
	h.Stream = "OTHER_EVENTS"
	h.Hash = h.Digest()
	relabelled := string(h.Line()) + strings.Join(lines[1:], "")
	if _, err := audit.CheckTrail("t", strings.NewReader(relabelled), nil); err == nil || !strings.Contains(err.Error(), "line 2: hash mismatch at seq 1") {
		t.Errorf("relabelled trail: %v; want a hash mismatch at line 2", err)
	}

	// A version 1 trail (chain from 64 "0") of the same events still checks.
	v1 := toVersion1(t, lines)
	sum, err := audit.CheckTrail("t", strings.NewReader(v1), nil)
	if err != nil || sum.End.Count != last || sum.End.Head == head {
		t.Errorf("version 1 trail: %+v, %v; want %d events and a head other than version 2's", sum.End, err, last)
	}
}

// toVersion1 rewrites a trail in format version 1: the same events, the
// chain started from 64 "0".
func toVersion1(t *testing.T, lines []string) string {
	t.Helper()
	var h audit.TrailHeader
	if err := json.Unmarshal([]byte(lines[0]), &h); err != nil {
		t.Fatal(err)
	}
	h.Version = 1
	h.Hash = h.Digest()
	out := string(h.Line())
	prev := audit.ZeroHash
	for _, line := range lines[1 : len(lines)-1] {
		var ev audit.TrailEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatal(err)
		}
		ev.Event = []byte(line[strings.Index(line, `"event":`)+8 : strings.LastIndex(line, `,"hash":`)])
		ev.Hash = ev.Digest(prev)
		prev = ev.Hash
		out += string(ev.Line())
	}
	return out + fmt.Sprintf(`{"end":true,"count":%d,"last_seq":%d,"head":"%s"}`+"\n", len(lines)-2, len(lines)-2, prev)
}

// chainHead returns the hash of an event line.
func chainHead(line string) string {
	i := strings.LastIndex(line, `"hash":"`)
	return line[i+8 : i+8+64]
}

func TestImportEventsReproducesTheStreamAndTheReadModel(t *testing.T) {
	ctx := context.Background()
	s := startService(t, t.TempDir())
	_, last := recordTalksStory(t, s)
	trail := exportOf(t, "--data", s.dir)

	dst := natstest.Start(t, "")
	url := dst.Srv.ClientURL()
	var out, errb bytes.Buffer
	err := run(ctx, []string{"import-events", "-", "--nats", url}, func(string) string { return "" }, strings.NewReader(trail), &out, &errb)
	if err != nil {
		t.Fatalf("import-events: %v\n%s", err, errb.String())
	}
	if !strings.HasPrefix(out.String(), "imported 9 events, seq 1..9, head ") {
		t.Errorf("import summary = %q", out.String())
	}

	// The same sequences, subjects, headers that matter, and bytes.
	srcJS, err := jetstream.New(s.app.nc)
	if err != nil {
		t.Fatal(err)
	}
	src, err := srcJS.Stream(ctx, events.DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	got, err := dst.JS.Stream(ctx, events.DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := got.Info(ctx); info.State.Msgs != last || info.State.LastSeq != last || !info.Config.DenyDelete || !info.Config.DenyPurge {
		t.Errorf("imported stream: %+v %+v", info.State, info.Config)
	}
	msgIDs := 0
	for seq := uint64(1); seq <= last; seq++ {
		a, err := src.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		b, err := got.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range []string{jetstream.MsgIDHeader, "Chancery-Event-Type"} {
			if a.Header.Get(h) != b.Header.Get(h) {
				t.Errorf("seq %d %s: %q, imported %q", seq, h, a.Header.Get(h), b.Header.Get(h))
			}
		}
		if a.Header.Get(jetstream.MsgIDHeader) != "" {
			msgIDs++
		}
		if a.Subject != b.Subject || !bytes.Equal(a.Data, b.Data) {
			t.Errorf("seq %d: %s %s, imported %s %s", seq, a.Subject, a.Data, b.Subject, b.Data)
		}
	}
	if msgIDs != 1 {
		t.Errorf("%d events carry a Nats-Msg-Id, want the idempotent reschedule's", msgIDs)
	}

	// A read model projected from the import equals the service's own.
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.app.projector.WaitFor(wctx, last); err != nil {
		t.Fatal(err)
	}
	want, err := s.app.db.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := projectedDigest(t, dst.JS, last); !maps.Equal(got, want) {
		t.Errorf("read model from the import: %v\nservice's read model: %v", got, want)
	}

	// Into a new data directory, whose store the tool opens itself.
	path := writeTrail(t, trail)
	fresh := filepath.Join(t.TempDir(), "data")
	if code, out, errOut := runCLI(t, ctx, nil, "import-events", path, "--data", fresh); code != 0 || !strings.Contains(out, "imported 9 events") {
		t.Fatalf("import-events --data of a new directory: exit %d: %s%s", code, out, errOut)
	}
	if again := exportOf(t, "--data", fresh); again[strings.Index(again, "\n"):] != trail[strings.Index(trail, "\n"):] {
		t.Errorf("export of the imported store differs from the original below the header:\n%s\n%s", again, trail)
	}

	// A second import would append after the first: refused.
	code, _, errOut := runCLI(t, ctx, nil, "import-events", path, "--nats", url)
	if code != 1 || !strings.Contains(errOut, "already holds 9 events") {
		t.Errorf("import into a non-empty stream: exit %d, %q", code, errOut)
	}
	if info, _ := got.Info(ctx); info.State.LastSeq != last {
		t.Errorf("refused import stored events: last seq %d", info.State.LastSeq)
	}
}

func TestImportEventsRefusesABrokenChainAndStoresNothing(t *testing.T) {
	s := startService(t, t.TempDir())
	recordTalksStory(t, s)
	trail := []byte(exportOf(t, "--data", s.dir))
	i := bytes.Index(trail, []byte("Sochi"))
	trail[i] = 'T' // a visit moved to another city
	dst := natstest.Start(t, "")
	code, _, errOut := runCLI(t, context.Background(), nil, "import-events", "--nats", dst.Srv.ClientURL(), writeTrail(t, string(trail)))
	if code != 1 || !strings.Contains(errOut, "hash mismatch") || !strings.Contains(errOut, "nothing imported") {
		t.Errorf("import of a broken trail: exit %d, %q", code, errOut)
	}
	if _, err := dst.JS.Stream(context.Background(), events.DefaultStream); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("refused import left a stream behind: %v", err)
	}
}

// projectedDigest projects a stream's first n events into a fresh read model
// and returns its digest.
func projectedDigest(t *testing.T, js jetstream.JetStream, n uint64) map[string]string {
	t.Helper()
	ctx := context.Background()
	db, err := projections.Open(ctx, filepath.Join(t.TempDir(), "imported.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := projections.NewProjector(ctx, db, js, events.DefaultStream, nil)
	if err != nil {
		t.Fatal(err)
	}
	pctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(pctx) }()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err = p.WaitFor(wctx, n)
	stop()
	if rerr := <-done; rerr != nil || err != nil {
		t.Fatalf("project the import: %v %v", err, rerr)
	}
	d, err := db.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
