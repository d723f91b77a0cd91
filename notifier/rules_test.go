package notifier

import (
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chancery/chancery/events"
)

func TestClockTimeOnDSTEdges(t *testing.T) {
	t.Parallel()
	bg := belgrade(t)
	tests := []struct {
		name  string
		clock string
		day   time.Time
		want  time.Time
	}{
		{"ordinary day", "09:00", time.Date(2026, 8, 21, 0, 0, 0, 0, time.UTC), time.Date(2026, 8, 21, 7, 0, 0, 0, time.UTC)},
		{"winter", "09:00", time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 15, 8, 0, 0, 0, time.UTC)},
		// 29 March 2026: clocks jump from 02:00 to 03:00 CEST; 02:30 does
		// not exist and is the instant of the jump, 01:00 UTC.
		{"spring-forward gap", "02:30", time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)},
		{"just after the gap", "03:00", time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)},
		// 25 October 2026: 02:00–03:00 happens twice; the first is CEST.
		{"fall-back repeat", "02:30", time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC)},
		{"after the repeat", "03:30", time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 25, 2, 30, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseClock(tt.clock)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.On(tt.day.Year(), tt.day.Month(), tt.day.Day(), bg); !got.Equal(tt.want) {
				t.Errorf("%s on %s = %s, want %s", tt.clock, tt.day.Format("2006-01-02"), got.UTC(), tt.want)
			}
		})
	}
}

func TestDigestScheduleRunsOnceADayAcrossDST(t *testing.T) {
	t.Parallel()
	bg := belgrade(t)
	sched, err := ParseDaily("30 2 * * *", bg)
	if err != nil {
		t.Fatal(err)
	}
	runs := func(from time.Time, n int) []time.Time {
		var out []time.Time
		at := from
		for range n {
			at = sched.Next(at)
			out = append(out, at.UTC())
		}
		return out
	}
	// robfig/cron alone skips 29 March and runs twice on 25 October.
	spring := runs(time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC), 3)
	wantSpring := []time.Time{
		time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC), // the jump, 03:00 CEST
		time.Date(2026, 3, 30, 0, 30, 0, 0, time.UTC),
		time.Date(2026, 3, 31, 0, 30, 0, 0, time.UTC),
	}
	fall := runs(time.Date(2026, 10, 24, 12, 0, 0, 0, time.UTC), 3)
	wantFall := []time.Time{
		time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), // 02:30 CEST, once
		time.Date(2026, 10, 26, 1, 30, 0, 0, time.UTC),
		time.Date(2026, 10, 27, 1, 30, 0, 0, time.UTC),
	}
	for i := range 3 {
		if !spring[i].Equal(wantSpring[i]) {
			t.Errorf("spring run %d = %s, want %s", i, spring[i], wantSpring[i])
		}
		if !fall[i].Equal(wantFall[i]) {
			t.Errorf("fall run %d = %s, want %s", i, fall[i], wantFall[i])
		}
	}
	// Asked during the second 02:30 (CET), it does not run again that day.
	if got := sched.Next(time.Date(2026, 10, 25, 1, 15, 0, 0, time.UTC)); !got.Equal(wantFall[1]) {
		t.Errorf("Next during the repeated hour = %s, want %s", got.UTC(), wantFall[1])
	}
	for _, bad := range []string{"CRON_TZ=Europe/Paris 0 7 * * *", "@every 1h", "0 25 * * *", "every morning"} {
		if _, err := ParseDaily(bad, bg); err == nil {
			t.Errorf("ParseDaily(%q) = nil error", bad)
		}
	}
}

func TestQuietHoursHoldUntilTheyEnd(t *testing.T) {
	t.Parallel()
	bg := belgrade(t)
	q, err := ParseQuietHours("22:00-07:00")
	if err != nil {
		t.Fatal(err)
	}
	local := func(d, h, m int) time.Time { return time.Date(2026, 12, d, h, m, 0, 0, bg) }
	tests := []struct {
		at, want time.Time
	}{
		{local(10, 21, 59), local(10, 21, 59)},
		{local(10, 22, 0), local(11, 7, 0)},
		{local(10, 23, 30), local(11, 7, 0)},
		{local(11, 3, 0), local(11, 7, 0)},
		{local(11, 7, 0), local(11, 7, 0)},
		{local(11, 12, 0), local(11, 12, 0)},
	}
	for _, tt := range tests {
		if got := q.Release(tt.at, bg); !got.Equal(tt.want) {
			t.Errorf("Release(%s) = %s, want %s", tt.at, got, tt.want)
		}
	}
	day, _ := ParseQuietHours("12:00-14:00")
	if got := day.Release(local(10, 13, 0), bg); !got.Equal(local(10, 14, 0)) {
		t.Errorf("daytime quiet hours: Release(13:00) = %s, want 14:00", got)
	}
	var none *QuietHours
	if got := none.Release(local(10, 23, 0), bg); !got.Equal(local(10, 23, 0)) {
		t.Errorf("no quiet hours held %s", got)
	}
	for _, bad := range []string{"22:00", "22:00-22:00", "25:00-07:00", "10pm-7am"} {
		if _, err := ParseQuietHours(bad); err == nil {
			t.Errorf("ParseQuietHours(%q) = nil error", bad)
		}
	}
}

func TestFilterMatches(t *testing.T) {
	t.Parallel()
	talks := &Engagement{Kind: "talks", Country: "RU", People: []events.Participant{
		{Name: "Sergey Lavrov", Country: "RU"}, {Name: "Ivica Dačić", Country: "RS"},
	}}
	visit := &Engagement{Kind: "visit", Country: "RU", People: []events.Participant{{Name: "Ana Brnabić", Country: "RS"}}}
	tests := []struct {
		name   string
		filter Filter
		talks  bool
		visit  bool
	}{
		{"empty follows everything", Filter{}, true, true},
		{"the place's country", Filter{Countries: []string{"RU"}}, true, true},
		{"a person's country", Filter{Countries: []string{"RS"}}, true, true},
		{"another country", Filter{Countries: []string{"FR"}}, false, false},
		{"a surname without diacritics", Filter{Participants: []string{"dacic"}}, true, false},
		{"not part of a word", Filter{Participants: []string{"Dači"}}, false, false},
		{"a full name", Filter{Participants: []string{"Ana Brnabic"}}, false, true},
		{"a kind", Filter{Kinds: []string{"visit"}}, false, true},
		{"lists combine with AND", Filter{Kinds: []string{"talks"}, Participants: []string{"Brnabić"}}, false, false},
	}
	for _, tt := range tests {
		if got := tt.filter.Matches(talks); got != tt.talks {
			t.Errorf("%s: talks = %v, want %v", tt.name, got, tt.talks)
		}
		if got := tt.filter.Matches(visit); got != tt.visit {
			t.Errorf("%s: visit = %v, want %v", tt.name, got, tt.visit)
		}
	}
}

func TestTemplatesRenderAndEscape(t *testing.T) {
	t.Parallel()
	tpl, err := LoadTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	e := &Engagement{
		Type: events.MeetingAggregate, ID: "mtg_1", Title: "Talks <b>&</b>\r\nBcc: x@example.org", Status: events.StatusScheduled,
		Start: "2026-12-10T11:00:00", End: "2026-12-10T13:00:00", Timezone: "Europe/Moscow",
		StartUTC: time.Date(2026, 12, 10, 8, 0, 0, 0, time.UTC), EndUTC: time.Date(2026, 12, 10, 10, 0, 0, 0, time.UTC),
		Place: "Moscow, Russia", People: []events.Participant{{Name: "Sergey Lavrov", Office: "Minister of Foreign Affairs", Country: "RU"}},
	}
	sub := &Subscriber{Zone: belgrade(t)}
	v := engagementView(e, sub, "https://chancery.example.org/")
	v.Category, v.Lead = CategoryReminder, leadPhrase("24h", e.StartUTC, e.StartUTC.Add(-24*time.Hour))
	subject, text, html, err := tpl.render(CategoryReminder, v)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Reminder: Talks <b>&</b> Bcc: x@example.org, in 1 day"; subject != want {
		t.Errorf("subject = %q, want %q (one line)", subject, want)
	}
	for _, want := range []string{
		"Thu 10 Dec 2026 09:00–11:00 (Europe/Belgrade, CET)", // the subscriber's time
		"Thu 10 Dec 2026 11:00–13:00 (Europe/Moscow, MSK)",   // the venue's
		"Sergey Lavrov, Minister of Foreign Affairs (Russian Federation)",
		"https://chancery.example.org/api/v1/meetings/mtg_1",
	} {
		if !contains(text, want) || !contains(html, want) {
			t.Errorf("text or HTML lacks %q:\n%s\n%s", want, text, html)
		}
	}
	if contains(html, "<b>&</b>") || !contains(html, "&lt;b&gt;&amp;&lt;/b&gt;") {
		t.Errorf("HTML does not escape the title:\n%s", html)
	}

	dir := t.TempDir()
	writeFile(t, dir+"/reminder.txt", `{{define "subject"}}R: {{.Title}}{{end}}{{.WhenLocal}}`)
	custom, err := LoadTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	if subject, text, _, err := custom.render(CategoryReminder, v); err != nil || subject != "R: Talks <b>&</b> Bcc: x@example.org" || text != v.WhenLocal {
		t.Errorf("operator template = %q, %q, %v", subject, text, err)
	}
	writeFile(t, dir+"/change.txt", `no subject block`)
	if _, err := LoadTemplates(dir); err == nil || !contains(err.Error(), "change.txt") {
		t.Errorf("template without a subject block: %v, want an error naming the file", err)
	}
}

// Operators' templates written before alert kinds became categories read
// the category as .Kind; they must render as they did.
func TestOperatorTemplatesReadTheCategoryAsKind(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/change.txt", `{{define "subject"}}[{{.Kind}}] {{.Title}}{{end}}{{.Kind}}`)
	writeFile(t, dir+"/change.html", `<p>{{.Kind}}</p>`)
	tpl, err := LoadTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	subject, text, html, err := tpl.render(CategoryChange, view{Category: CategoryChange, Title: "Talks"})
	if err != nil {
		t.Fatal(err)
	}
	if subject != "[change] Talks" || text != "change" || html != "<p>change</p>" {
		t.Errorf("render = %q, %q, %q; want the category where the template says .Kind", subject, text, html)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestAPanickingJobIsLoggedAndTheScheduleGoesOn(t *testing.T) {
	var logs strings.Builder
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, nil))
	c := newCron(logger)
	runs := make(chan int, 10)
	var n atomic.Int32
	c.AddFunc("@every 1s", func() {
		runs <- int(n.Add(1))
		panic("template exploded")
	})
	c.Start()
	defer c.Stop()
	for want := 1; want <= 2; want++ {
		select {
		case got := <-runs:
			if got != want {
				t.Fatalf("run %d, want %d", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("run %d never came: the panic stopped the schedule", want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "template exploded") {
		t.Errorf("the panic was not logged:\n%s", logs.String())
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
