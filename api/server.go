package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// Config holds everything the API needs. All fields but Logger, Now and
// Ready are required.
type Config struct {
	Log         CommandLog
	Idempotency Idempotency
	DB          ReadModel
	Projector   Projector
	Calendar    Feeds        // the iCalendar feeds; nil serves none
	Deliveries  Deliveries   // the notifier's deliveries; nil serves none
	Snapshots   Snapshots    // point-in-time read models for ?as_of= on lists
	Metrics     http.Handler // GET /metrics; nil serves none
	Tokens      []Token
	Logger      *slog.Logger
	// Ready reports whether the NATS connection is up; nil means always.
	Ready func(ctx context.Context) error
	// MinPositionWait bounds how long a read waits for ?min_position.
	MinPositionWait time.Duration
	// ReadyMaxLag is how long the read model may leave a known event
	// unapplied and still answer /readyz 200 (DefaultReadyMaxLag when 0).
	ReadyMaxLag time.Duration
	// Writable says why the event store cannot take writes now (a full
	// disk), if it cannot; nil means always writable. Writes then answer
	// 503 at once and /readyz says why.
	Writable func() error
	// WriteTimeout bounds one write (DefaultWriteTimeout when 0); a write
	// that outlasts it answers 503 and its idempotency key is free for a
	// retry at once.
	WriteTimeout time.Duration
	// Leaders, when set, says which node leads each stream and bucket, as
	// last learned; /readyz shows it.
	Leaders func() map[string]string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Limits bound the requests of each token and client address.
	Limits Limits
}

// Server is the HTTP API.
type Server struct {
	log          CommandLog
	idem         Idempotency
	db           ReadModel
	projector    Projector
	calendar     Feeds
	deliveries   Deliveries
	snapshots    Snapshots
	metrics      http.Handler
	tokens       []Token
	logger       *slog.Logger
	ready        func(ctx context.Context) error
	wait         time.Duration
	maxLag       time.Duration
	writable     func() error
	leaders      func() map[string]string
	writeTimeout time.Duration
	now          func() time.Time
	limits       *limiter
	mux          *http.ServeMux
}

// MaxBody is the largest request body accepted.
const MaxBody = 1 << 20

// New returns the API as an http.Handler.
func New(cfg Config) *Server {
	s := &Server{
		log: cfg.Log, idem: cfg.Idempotency, db: cfg.DB, projector: cfg.Projector, calendar: cfg.Calendar,
		deliveries: cfg.Deliveries, metrics: cfg.Metrics, snapshots: cfg.Snapshots,
		tokens: cfg.Tokens, logger: cfg.Logger, ready: cfg.Ready, wait: cfg.MinPositionWait,
		maxLag: cfg.ReadyMaxLag, now: cfg.Now, writable: cfg.Writable, writeTimeout: cfg.WriteTimeout, leaders: cfg.Leaders,
		limits: newLimiter(cfg.Limits), mux: http.NewServeMux(),
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.maxLag <= 0 {
		s.maxLag = DefaultReadyMaxLag
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.writeTimeout <= 0 {
		s.writeTimeout = DefaultWriteTimeout
	}
	if s.writable == nil {
		s.writable = func() error { return nil }
	}
	if s.wait <= 0 {
		s.wait = 5 * time.Second
	}
	s.handle(s.routes())
	return s
}

// ServeHTTP is the one way in: every request gets an id (echoed in
// X-Request-Id), its token resolved once, the rate limits, and one log line.
func (s *Server) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	began := time.Now()
	r, c := s.withCaller(r)
	w := &statusWriter{ResponseWriter: rw}
	w.Header().Set("X-Request-Id", c.id)
	defer s.logRequest(r, c, w, began)
	if ok, wait := s.limits.allow(r, c, began); !ok {
		w.Header().Set("Retry-After", retryAfter(wait))
		writeProblem(w, http.StatusTooManyRequests, "too many requests; retry after "+retryAfter(wait)+" s")
		return
	}
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
	}
	s.mux.ServeHTTP(w, r)
}
