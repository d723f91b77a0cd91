package notifier

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/chancery/chancery/events"
)

//go:embed templates/*.txt templates/*.html
var defaultTemplates embed.FS

// Each alert category has a text template (with a "subject" block) and an
// HTML one, named for it.
var templateCategories = []string{CategoryReminder, CategoryChange, CategoryDigest}

// Templates render alerts: text/template for subject and text, and
// html/template (which escapes every value) for HTML.
type Templates struct {
	text map[string]*texttemplate.Template
	html map[string]*htmltemplate.Template
}

// LoadTemplates returns the built-in templates, each replaced by the file
// of the same name (reminder.txt, change.html, ...) in dir when dir has one.
func LoadTemplates(dir string) (*Templates, error) {
	t := &Templates{text: map[string]*texttemplate.Template{}, html: map[string]*htmltemplate.Template{}}
	read := func(name string) (string, []byte, error) {
		if dir != "" {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err == nil {
				return filepath.Join(dir, name), b, nil
			}
			if !os.IsNotExist(err) {
				return "", nil, err
			}
		}
		b, err := fs.ReadFile(defaultTemplates, "templates/"+name)
		return "built-in " + name, b, err
	}
	for _, category := range templateCategories {
		src, body, err := read(category + ".txt")
		if err != nil {
			return nil, err
		}
		tt, err := texttemplate.New(category).Option("missingkey=error").Parse(string(body))
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", src, err)
		}
		if tt.Lookup("subject") == nil {
			return nil, fmt.Errorf("template %s: no {{define \"subject\"}} block", src)
		}
		t.text[category] = tt
		src, body, err = read(category + ".html")
		if err != nil {
			return nil, err
		}
		ht, err := htmltemplate.New(category).Option("missingkey=error").Parse(string(body))
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", src, err)
		}
		t.html[category] = ht
	}
	return t, nil
}

// view is what templates see.
type view struct {
	Category    string
	Late        bool
	Title       string
	Status      string // empty when it goes ahead as planned
	Lead        string // reminders: "in 24 hours", "tomorrow"
	DueLocal    string // reminders: when it fell due, in the subscriber's zone
	WhenLocal   string // in the subscriber's zone
	WhenVenue   string // in the venue's zone, when that differs
	Place       string
	People      []string
	Link        string
	ChangeLabel string // changes: "rescheduled", "cancelled", ...
	Changes     []Change
	Period      string // digests
	Items       []digestItem
}

// Kind is the category under the name templates have always used for it:
// operators' own templates may say {{.Kind}}.
func (v view) Kind() string { return v.Category }

type digestItem struct {
	When, Title, Status, Place, Link string
}

// render runs category's templates on v.
func (t *Templates) render(category string, v view) (subject, text, html string, err error) {
	var b bytes.Buffer
	if err := t.text[category].ExecuteTemplate(&b, "subject", v); err != nil {
		return "", "", "", fmt.Errorf("%s subject: %w", category, err)
	}
	subject = strings.Join(strings.Fields(b.String()), " ") // one line, always
	b.Reset()
	if err := t.text[category].Execute(&b, v); err != nil {
		return "", "", "", fmt.Errorf("%s text: %w", category, err)
	}
	text = b.String()
	b.Reset()
	if err := t.html[category].Execute(&b, v); err != nil {
		return "", "", "", fmt.Errorf("%s html: %w", category, err)
	}
	return subject, text, b.String(), nil
}

// engagementView fills the parts of a view that describe e for sub.
func engagementView(e *Engagement, sub *Subscriber, baseURL string) view {
	v := view{Title: e.Title, Place: e.Place, WhenLocal: when(e, sub.Zone)}
	if e.Status != events.StatusScheduled {
		v.Status = e.Status
	}
	if !e.AllDay && e.Zone().String() != sub.Zone.String() {
		v.WhenVenue = when(e, e.Zone())
	}
	for _, p := range e.People {
		v.People = append(v.People, events.PersonLabel(p))
	}
	if baseURL != "" {
		v.Link = strings.TrimSuffix(baseURL, "/") + e.Path()
	}
	return v
}

// leadPhrase says how long before the start a reminder comes.
func leadPhrase(rule string, start, now time.Time) string {
	if rule == "day-before" {
		return "tomorrow"
	}
	d := start.Sub(now).Round(time.Minute)
	switch {
	case d <= 0:
		return "now"
	case d%(24*time.Hour) == 0:
		n := int(d / (24 * time.Hour))
		return fmt.Sprintf("in %d day%s", n, plural(n))
	case d%time.Hour == 0:
		n := int(d / time.Hour)
		return fmt.Sprintf("in %d hour%s", n, plural(n))
	case d < time.Hour:
		n := int(d / time.Minute)
		return fmt.Sprintf("in %d minute%s", n, plural(n))
	}
	return "in " + strings.TrimSuffix(d.String(), "0s")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// alertData is the machine-readable alert (the webhook's data).
type alertData struct {
	Category    string      `json:"kind"` // the wire name is historical
	Rule        string      `json:"rule"`
	Subscriber  string      `json:"subscriber"`
	Late        bool        `json:"late,omitempty"`
	DueAt       time.Time   `json:"due_at"`
	Engagement  *Engagement `json:"engagement,omitempty"`
	Changes     []Change    `json:"changes,omitempty"`
	Engagements []string    `json:"engagements,omitempty"` // digests: ids
	URL         string      `json:"url,omitempty"`
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs of ours
	}
	return b
}
