package calendar

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/internal/problem"
	"github.com/chancery/chancery/internal/query"
	"github.com/chancery/chancery/projections"
)

// Filter selects what a named feed shows. Empty lists do not filter.
type Filter struct {
	Countries    []string
	Participants []string
	Kinds        []string
}

// Feed is a named feed served at /feeds/{name}.ics; with a token it is
// private (/feeds/{name}.ics?token=...).
type Feed struct {
	Name   string
	Filter Filter
	Token  string
}

// ReadModel is what the feeds read: the engagements of a feed, and one
// engagement. *projections.DB is one.
type ReadModel interface {
	FeedChanged(ctx context.Context, q projections.Query, need func(id string, seq uint64) bool) ([]projections.Item, uint64, time.Time, error)
	Engagement(ctx context.Context, typ, id string) (*projections.Engagement, uint64, error)
}

// Config configures the feed handler.
type Config struct {
	DB       ReadModel
	Position func() uint64 // the read model's position, known without a query
	Feeds    []Feed
	// UIDHost names this deployment in UIDs; keep it stable, or clients
	// will see every event as new.
	UIDHost string
	// Window is how far back a feed starts by default (90 days).
	Window time.Duration
	// KeepCancelled is how long a cancelled event stays in feeds after it
	// would have ended (30 days), so that subscribed clients remove it.
	KeepCancelled time.Duration
	Refresh       time.Duration
	CacheBytes    int
	Now           func() time.Time
	// Snapshots answer ?as_of= and ?announced_as_of=; nil refuses them.
	Snapshots Snapshots
	// PublicURL is where clients reach the API, for each event's URL. When
	// empty it is taken from each request's Host header, and every distinct
	// Host is a distinct cached feed.
	PublicURL string
	Logger    *slog.Logger
}

// Handler serves iCalendar feeds.
type Handler struct {
	cfg     Config
	feeds   map[string]Feed
	cache   *cache
	entries entryCache
}

// NewHandler returns the feed handler.
func NewHandler(cfg Config) *Handler {
	if cfg.Window <= 0 {
		cfg.Window = 90 * 24 * time.Hour
	}
	if cfg.KeepCancelled <= 0 {
		cfg.KeepCancelled = 30 * 24 * time.Hour
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = DefaultRefresh
	}
	if cfg.CacheBytes <= 0 {
		cfg.CacheBytes = 64 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{cfg: cfg, feeds: map[string]Feed{}, cache: newCache(cfg.CacheBytes)}
	for _, f := range cfg.Feeds {
		h.feeds[f.Name] = f
	}
	return h
}

// request is a parsed feed request.
type request struct {
	name   string // file name and calendar name
	query  projections.Query
	alarms []Alarm
	past   events.Bound // the schedule as it stood then; zero for now
	day    time.Time    // the day the window and cancellations count from
	key    string       // canonical form of everything that shapes the output
}

// Snapshots give the read model as it stood within a past bound: recorded
// by a time, announced by a day, or both.
type Snapshots interface {
	Within(ctx context.Context, b events.Bound) (db *projections.DB, at events.Moment, release func(), err error)
}

// ServeAll serves /calendar.ics: the whole schedule, filtered by the query.
func (h *Handler) ServeAll(w http.ResponseWriter, r *http.Request) {
	req, err := h.parse(r, "chancery", nil)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.serve(w, r, req, "Chancery", false)
}

// ServeNamed serves /feeds/{name}.ics from the config's feeds. A wrong or
// missing token on a private feed is a 404, like an unknown name, so that
// feed names do not leak.
func (h *Handler) ServeNamed(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	name, ok := strings.CutSuffix(file, ".ics")
	f, known := h.feeds[name]
	if !ok || !known {
		problem.Write(w, http.StatusNotFound, "no such feed")
		return
	}
	if f.Token != "" {
		given := sha256.Sum256([]byte(r.URL.Query().Get("token")))
		want := sha256.Sum256([]byte(f.Token))
		if subtle.ConstantTimeCompare(given[:], want[:]) != 1 {
			problem.Write(w, http.StatusNotFound, "no such feed")
			return
		}
	}
	req, err := h.parse(r, name, &f.Filter)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.serve(w, r, req, "Chancery: "+name, f.Token != "")
}

// parse reads a feed request's filters. A named feed's own filter replaces
// the query's country, participant and kind.
func (h *Handler) parse(r *http.Request, name string, fixed *Filter) (request, error) {
	v := r.URL.Query()
	// A misspelt parameter would leave a filter unapplied without a word.
	// A named feed knows its token, and takes the filters its own replace
	// without complaint, so a link built for /calendar.ics still works.
	known := []string{"country", "participant", "kind", "status", "from", "to", "alarm", "as_of", "announced_as_of", "min_position"}
	if fixed != nil {
		known = append(known, "token")
	}
	if err := query.Check(v, known...); err != nil {
		return request{}, err
	}
	if err := query.Single(v, "from", "to", "as_of", "announced_as_of", "min_position"); err != nil {
		return request{}, err
	}
	var f events.Fields
	for _, name := range []string{"country", "participant", "kind", "status"} {
		if len(v[name]) > projections.MaxFilterValues {
			f.Add(name, "is given %d times; a feed takes at most %d values of each filter", len(v[name]), projections.MaxFilterValues)
			delete(v, name)
		}
	}
	req := request{name: name}
	q := &req.query
	if fixed != nil {
		q.Countries, q.People, q.Kinds = fixed.Countries, fixed.Participants, fixed.Kinds
	} else {
		for _, c := range v["country"] {
			if !events.ValidCountry(c) {
				f.Add("country", "%s", events.UnknownCountry(c))
			}
			q.Countries = append(q.Countries, c)
		}
		q.People = v["participant"]
		for _, k := range v["kind"] {
			if !slices.Contains(events.Kinds, k) && k != projections.VisitKind {
				f.Add("kind", "%q is not one of %s", k, strings.Join(events.Kinds, ", ")+", "+projections.VisitKind)
			}
			q.Kinds = append(q.Kinds, k)
		}
	}
	for _, s := range v["status"] {
		switch s {
		case events.StatusScheduled, events.StatusRescheduled, events.StatusPostponed, events.StatusCancelled, events.StatusHeld, events.StatusCompleted:
		default:
			f.Add("status", "%q is not a status", s)
		}
		q.Statuses = append(q.Statuses, s)
	}
	now := h.cfg.Now()
	if raw := v.Get("as_of"); raw != "" {
		t, err := time.Parse(time.RFC3339, strings.Replace(raw, " ", "+", 1))
		if err != nil || h.cfg.Snapshots == nil {
			f.Add("as_of", "%q is not an RFC 3339 time such as 2022-08-20T00:00:00Z", raw)
		}
		// The feed as it was then: its window and cancellations too.
		req.past.Recorded, now = t, t
	}
	if raw := v.Get("announced_as_of"); raw != "" {
		d, err := time.Parse(events.DateLayout, raw)
		if err != nil || h.cfg.Snapshots == nil {
			f.Add("announced_as_of", "%q is not a date (YYYY-MM-DD) such as 2022-08-20", raw)
		}
		// As the feed would have shown it that day, had it been recorded
		// as it was told.
		req.past.Announced = d
		if req.past.Recorded.IsZero() || d.Before(now) {
			now = d
		}
	}
	today := now.UTC().Truncate(24 * time.Hour)
	req.day = today
	q.FromDate = today.Add(-h.cfg.Window).Format(events.DateLayout)
	if raw := v.Get("from"); raw != "" {
		if !parseBound(raw, &q.FromDate, &q.From) {
			f.Add("from", "%q is not a date (YYYY-MM-DD) or an RFC 3339 time", raw)
		}
	}
	if raw := v.Get("to"); raw != "" {
		if !parseBound(raw, &q.ToDate, &q.To) {
			f.Add("to", "%q is not a date (YYYY-MM-DD) or an RFC 3339 time", raw)
		}
	}
	q.CancelledUntil = today.Add(-h.cfg.KeepCancelled)
	if len(v["alarm"]) > MaxAlarms {
		f.Add("alarm", "at most %d alarms", MaxAlarms)
	}
	for _, a := range v["alarm"] {
		al, err := ParseAlarm(strings.Replace(a, " ", "+", 1))
		if err != nil {
			f.Add("alarm", "%v", err)
		}
		req.alarms = append(req.alarms, al)
	}
	if err := f.Err(); err != nil {
		return req, err
	}
	// The key: every input that shapes the bytes, in a canonical order.
	parts := []string{"name=" + name, "day=" + today.Format(events.DateLayout)}
	add := func(k string, vals []string) {
		vals = slices.Clone(vals)
		sort.Strings(vals)
		for _, x := range vals {
			parts = append(parts, k+"="+url.QueryEscape(x))
		}
	}
	add("country", q.Countries)
	add("participant", q.People)
	add("kind", q.Kinds)
	add("status", q.Statuses)
	parts = append(parts, "from="+q.FromDate+q.From.String(), "to="+q.ToDate+q.To.String())
	for _, a := range req.alarms {
		parts = append(parts, "alarm="+a.Trigger)
	}
	if !req.past.Recorded.IsZero() {
		parts = append(parts, "as_of="+req.past.Recorded.UTC().Format(time.RFC3339))
	}
	if !req.past.Announced.IsZero() {
		parts = append(parts, "announced_as_of="+req.past.Announced.Format(events.DateLayout))
	}
	req.key = strings.Join(parts, "&")
	return req, nil
}

func parseBound(raw string, date *string, at *time.Time) bool {
	if d, err := time.Parse(events.DateLayout, raw); err == nil {
		*date = d.Format(events.DateLayout)
		*at = time.Time{}
		return true
	}
	t, err := time.Parse(time.RFC3339, strings.Replace(raw, " ", "+", 1))
	if err != nil {
		return false
	}
	*date, *at = "", t
	return true
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, req request, title string, private bool) {
	base := h.baseURL(r)
	db, holds := h.cfg.DB, strconv.FormatUint(h.cfg.Position(), 10)
	if req.past != (events.Bound{}) {
		snap, at, release, err := h.cfg.Snapshots.Within(r.Context(), req.past)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		defer release()
		// The events recorded by then, which are not a prefix of the
		// stream when writers raced: a position alone would not name them.
		db, holds = snap, "at-"+at.Key()
	}
	key := fmt.Sprintf("%s|pos=%s|base=%s", req.key, holds, base)
	feed, hit, err := h.cache.get(key, func() (*rendered, error) {
		// Others may wait on this render: it must not end with this client.
		items, pos, changed, err := db.FeedChanged(context.WithoutCancel(r.Context()), req.query, h.entries.lacks)
		if err != nil {
			return nil, err
		}
		h.cfg.Logger.Debug("feed rendered", "feed", req.name, "events", len(items), "position", pos)
		opts := Options{Name: title, BaseURL: base, Alarms: req.alarms}
		f, err := h.render(items, opts)
		if errors.Is(err, errEvicted) { // rare: read every document this time
			if items, _, changed, err = db.FeedChanged(context.WithoutCancel(r.Context()), req.query, nil); err == nil {
				f, err = h.render(items, opts)
			}
		}
		if err != nil {
			return nil, err
		}
		// Last-Modified must rise with every change to the feed's bytes,
		// including those no item of it records: an engagement leaving it
		// (its change is then the read model's latest), or the window and
		// the cancellations' 30 days moving on at midnight.
		f.modified = maxTime(changed, req.day)
		return f, nil
	})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	hdr := w.Header()
	hdr.Set("X-Cache", map[bool]string{true: "hit", false: "miss"}[hit])
	if private {
		hdr.Set("Cache-Control", "private, max-age=300")
	} else {
		hdr.Set("Cache-Control", "public, max-age=300")
	}
	writeCalendar(w, r, req.name+".ics", feed)
}

// Warm decodes every engagement of the default feed into the entry cache,
// so that the first subscriber after a start does not pay for decoding
// thousands of documents. Call it once the read model has caught up.
func (h *Handler) Warm(ctx context.Context) error {
	today := h.cfg.Now().UTC().Truncate(24 * time.Hour)
	q := projections.Query{
		FromDate:       today.Add(-h.cfg.Window).Format(events.DateLayout),
		CancelledUntil: today.Add(-h.cfg.KeepCancelled),
	}
	items, _, _, err := h.cfg.DB.FeedChanged(ctx, q, h.entries.lacks)
	if err != nil {
		return err
	}
	_, err = h.entries.render(items, Options{UIDHost: h.cfg.UIDHost, BaseURL: h.cfg.PublicURL})
	return err
}

// WarmAfter warms the cache (Warm) in the background once caughtUp says
// the read model has caught up, giving up after two minutes or when ctx
// ends. A failure is logged: the first subscriber then decodes instead.
func (h *Handler) WarmAfter(ctx context.Context, caughtUp func(context.Context) error) {
	go func() {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		if caughtUp(ctx) != nil {
			return
		}
		if err := h.Warm(ctx); err != nil && ctx.Err() == nil {
			h.cfg.Logger.Warn("calendar warm-up failed", "err", err)
		}
	}()
}

// render renders items once in both encodings.
func (h *Handler) render(items []projections.Item, opts Options) (*rendered, error) {
	opts.UIDHost, opts.Refresh = h.cfg.UIDHost, h.cfg.Refresh
	b, err := h.entries.render(items, opts)
	if err != nil {
		return nil, err
	}
	body := bytes.NewBuffer(b)
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.DefaultCompression)
	zw.Write(body.Bytes())
	zw.Close()
	sum := sha256.Sum256(body.Bytes())
	return &rendered{
		body: body.Bytes(), gzipped: gz.Bytes(),
		etag: `"` + hex.EncodeToString(sum[:16]) + `"`,
	}, nil
}

// writeCalendar answers with a rendered calendar: gzip when the client takes
// it, 304 on a matching If-None-Match or If-Modified-Since, HEAD and ranges
// by http.ServeContent.
func writeCalendar(w http.ResponseWriter, r *http.Request, filename string, f *rendered) {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/calendar; charset=utf-8")
	hdr.Set("Content-Disposition", `inline; filename="`+filename+`"`)
	hdr.Add("Vary", "Accept-Encoding")
	body, etag := f.body, f.etag
	if acceptsGzip(r) {
		body, etag = f.gzipped, strings.TrimSuffix(f.etag, `"`)+`-gzip"`
		hdr.Set("Content-Encoding", "gzip")
	}
	hdr.Set("ETag", etag)
	http.ServeContent(wholeWriter{w}, r, "", f.modified, bytes.NewReader(body))
}

// wholeWriter hands http.ServeContent's copy of a cached body to the
// connection in one Write. ServeContent copies through an io.LimitedReader,
// which net/http would pass on in 32 KiB pieces; a feed of thousands of
// events is megabytes, and on a cache hit that copy is nearly all the work.
type wholeWriter struct{ http.ResponseWriter }

func (w wholeWriter) ReadFrom(src io.Reader) (int64, error) {
	if lr, ok := src.(*io.LimitedReader); ok {
		if br, ok := lr.R.(*bytes.Reader); ok && lr.N == int64(br.Len()) {
			n, err := br.WriteTo(w.ResponseWriter) // the rest of the body, in one Write
			lr.N -= n
			return n, err
		}
	}
	return io.Copy(w.ResponseWriter, src)
}

// Unwrap lets http.ResponseController reach the real writer.
func (w wholeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(enc, "gzip") && !strings.Contains(strings.ReplaceAll(params, " ", ""), "q=0") {
			return true
		}
	}
	return false
}

// baseURL is the API's address as the client reached it, for event URLs.
// Only a well-formed host is taken from the request.
func (h *Handler) baseURL(r *http.Request) string {
	if h.cfg.PublicURL != "" {
		return strings.TrimRight(h.cfg.PublicURL, "/")
	}
	host := r.Host
	if host == "" || strings.ContainsAny(host, "/\\@?#\" ") {
		return ""
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + host
}

// ServeOne serves a single meeting or visit as a calendar file, to add to a
// calendar by hand.
func (h *Handler) ServeOne(w http.ResponseWriter, r *http.Request, typ, id string) {
	e, _, err := h.cfg.DB.Engagement(r.Context(), typ, id)
	if errors.Is(err, projections.ErrNotFound) {
		problem.Write(w, http.StatusNotFound, typ+" "+id+" not found")
		return
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	f, err := h.render([]projections.Item{{Engagement: e}}, Options{Name: "Chancery", BaseURL: h.baseURL(r)})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	f.modified = e.UpdatedAt // one engagement: its own last change
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-cache")
	writeCalendar(w, r, id+".ics", f)
}

// writeError answers with the problem that err describes, mapped as every
// endpoint maps it; a failure that is no domain error is a 500 with its cause
// in the log.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	problem.Error(w, r, h.cfg.Logger, "feed request", err)
}
