package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/chancery/chancery/api"
	"github.com/chancery/chancery/calendar"
	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/notifier"
	"github.com/chancery/chancery/projections"
)

// serveOptions are the flags of `chancery serve`.
type serveOptions struct {
	data   string
	http   string
	nats   natsOptions
	config string
	stream string
	// logFormat is json or text; empty chooses by whether stderr is a terminal.
	logFormat string

	// Tests only.
	now           func() time.Time
	tweakNotifier func(*notifier.Config, *notifier.ChannelsConfig)
	writeTimeout  time.Duration // 0: api.DefaultWriteTimeout
}

func parseServe(args []string, getenv func(string) string, stderr io.Writer) (serveOptions, error) {
	env := envLookup(getenv)
	var o serveOptions
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.data, "data", env("CHANCERY_DATA", "./data"), "data directory: JetStream store (DIR/nats), SQLite read model (DIR/chancery.db), generated secrets [CHANCERY_DATA]")
	fs.StringVar(&o.http, "http", env("CHANCERY_HTTP", "127.0.0.1:8080"), "HTTP listen address [CHANCERY_HTTP]")
	o.nats.register(fs, env)
	fs.StringVar(&o.config, "config", env("CHANCERY_CONFIG", ""), "config file (YAML) [CHANCERY_CONFIG]")
	fs.StringVar(&o.logFormat, "log-format", env("CHANCERY_LOG_FORMAT", ""), "log format: json or text (default text on a terminal, json otherwise) [CHANCERY_LOG_FORMAT]")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: chancery serve [flags]\n\nRuns the service: NATS JetStream (embedded unless --nats), the SQLite read model and the HTTP API.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := parseQuietly(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, errHelp
		}
		return o, usagef("serve: %v", err)
	}
	if fs.NArg() > 0 {
		return o, usagef("serve: unexpected argument %q", fs.Arg(0))
	}
	if _, _, err := net.SplitHostPort(o.http); err != nil {
		return o, usagef("serve: --http %q: %v", o.http, err)
	}
	if o.logFormat != "" && !slices.Contains(logFormats, o.logFormat) {
		return o, usagef("serve: --log-format %q: not one of %s", o.logFormat, strings.Join(logFormats, ", "))
	}
	return o, nil
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	o, err := parseServe(args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := newLogger(o.logFormat, stderr)
	a, err := start(ctx, o, getenv, logger)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			logger.Info("shut down while starting", "reason", err)
			return nil // a stop asked for while serve waited for NATS or its data directory
		}
		return err
	}
	return a.wait(ctx)
}

// app is a running service.
type app struct {
	opts      serveOptions
	logger    *slog.Logger
	lock      *dataLock
	embedded  *embedded
	nc        *nats.Conn
	log       *events.Log
	db        *projections.DB
	projector *projections.Projector
	notifier  *notifier.Notifier
	snapshots *projections.Snapshots
	server    *http.Server
	listener  net.Listener
	starting  startingHandler // the HTTP handler: a placeholder until the API is built

	cancelProjector context.CancelFunc
	projectorDone   chan error
	serveDone       chan error
}

// start brings the service up: the data directory's lock, the HTTP
// listener (answering /healthz, and /readyz with what start waits for),
// NATS, the event log, the read model and its projector, and the API. It
// returns once the API serves.
func start(ctx context.Context, o serveOptions, getenv func(string) string, logger *slog.Logger) (_ *app, err error) {
	a := &app{opts: o, logger: logger}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	var cfg Config
	if o.config != "" {
		c, err := LoadConfig(o.config, getenv)
		if err != nil {
			return nil, err
		}
		cfg = *c
	}
	if o.nats.url == "" {
		o.nats.url = cfg.NATS.URL
	}
	if err := os.MkdirAll(o.data, 0o750); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if err := writable(o.data, filepath.Join(o.data, "nats")); err != nil {
		return nil, err
	}
	// Another serve here is refused before anything else, its port included.
	lock, h, err := tryLockData(o.data, "serve")
	if err != nil {
		return nil, err
	}
	if lock == nil && h.command == "serve" {
		return nil, servedBy(o.data, h)
	}
	a.lock = lock

	// From here on the process answers /healthz, and /readyz says what it
	// waits for.
	if a.listener, err = net.Listen("tcp", o.http); err != nil {
		return nil, fmt.Errorf("listen on %s: %w", o.http, err)
	}
	a.server = &http.Server{
		Handler:           &a.starting,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	a.serveDone = make(chan error, 1)
	go func() { a.serveDone <- a.server.Serve(a.listener) }()

	if a.lock == nil {
		a.starting.waitingFor("the data directory, which " + h.String() + " has open")
		if a.lock, err = lockForServe(ctx, o.data, logger); err != nil {
			return nil, err
		}
	}
	// Holding the lock, no other serve runs here: a nats.url left by one
	// that crashed points nowhere.
	os.Remove(filepath.Join(o.data, "nats.url"))
	tokens, err := apiTokens(o.data, cfg, getenv, logger)
	if err != nil {
		return nil, err
	}

	if o.nats.url == "" {
		if a.embedded, err = startEmbedded(o.data, logger); err != nil {
			return nil, err
		}
		if err := a.embedded.publish(o.data); err != nil {
			return nil, err
		}
		logger.Info("embedded nats started", "store", filepath.Join(o.data, "nats"), "url_file", filepath.Join(o.data, "nats.url"))
	}
	a.starting.waitingFor("NATS at " + cmp.Or(redact(o.nats.url), "the embedded server"))
	if a.nc, err = connectServe(ctx, o.nats, a.embedded, logger); err != nil {
		return nil, err
	}
	a.starting.waitingFor("JetStream")
	js, err := jetstream.New(a.nc)
	if err != nil {
		return nil, err
	}
	replicas := max(cfg.NATS.Replicas, 1)
	if err := whileJetStreamStarts(ctx, logger, func() (err error) {
		a.log, err = events.OpenLog(ctx, js, events.LogConfig{Stream: o.stream, Replicas: replicas, Now: o.now})
		return err
	}); err != nil {
		return nil, err
	}
	var idem *events.Idempotency
	if err := whileJetStreamStarts(ctx, logger, func() (err error) {
		idem, err = events.OpenIdempotency(ctx, js, replicas)
		return err
	}); err != nil {
		return nil, err
	}
	a.starting.waitingFor("the read model")
	dbPath := filepath.Join(o.data, "chancery.db")
	if a.db, err = projections.Open(ctx, dbPath); err != nil {
		return nil, err
	}
	if a.projector, err = projections.NewProjector(ctx, a.db, js, a.log.Stream(), logger.With("component", "projector")); err != nil {
		return nil, err
	}
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.cancelProjector = cancel
	a.projectorDone = make(chan error, 1)
	go func() {
		a.projector.Keep(pctx, time.Second, 30*time.Second)
		a.projectorDone <- nil
	}()
	clock := o.now
	if clock == nil {
		clock = time.Now
	}
	go a.projector.Watch(pctx, time.Second, clock)
	if from, stale := a.db.Stale(); stale {
		// The old rows keep answering (and following the stream) while the
		// new ones are built beside them; /readyz shows the progress.
		logger.Warn("read model was written by another projection version: rebuilding it in the background",
			"read_model", dbPath, "found_version", from, "version", projections.Version)
		go a.projector.Rebuild(pctx, a.log)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "chancery_read_model_position", Help: "Stream sequence of the last event the read model applied.",
		}, func() float64 { return float64(a.projector.Position()) }))

	ncfg, ccfg, err := cfg.notifierConfig("http://" + a.listener.Addr().String())
	if err != nil {
		return nil, err
	}
	if o.tweakNotifier != nil {
		o.tweakNotifier(&ncfg, &ccfg)
	}
	ccfg.Now = o.now
	metrics := notifier.NewMetrics(reg)
	if err := whileJetStreamStarts(ctx, logger, func() (err error) {
		a.notifier, err = notifier.New(ctx, ncfg, notifier.Deps{
			DB: a.db, Log: a.log, JS: js, Channel: notifier.NewChannels(ccfg), Now: o.now,
			Logger: logger.With("component", "notifier"), Metrics: metrics,
		})
		return err
	}); err != nil {
		return nil, err
	}
	if err := whileJetStreamStarts(ctx, logger, func() error { return a.notifier.Start(ctx) }); err != nil {
		return nil, err
	}

	// Point-in-time read models for ?as_of=: disposable, rebuilt on demand.
	snapDir := filepath.Join(o.data, "snapshots")
	os.RemoveAll(snapDir)
	if a.snapshots, err = projections.NewSnapshots(snapDir, a.log, cfg.snapshotLimits()); err != nil {
		return nil, err
	}

	feeds := calendar.NewHandler(calendar.Config{
		DB: a.db, Position: a.projector.Position, Feeds: cfg.calendarFeeds(), UIDHost: cfg.Calendar.UIDHost,
		Now: o.now, Snapshots: a.snapshots, PublicURL: cfg.Calendar.PublicURL, Logger: logger.With("component", "calendar"),
	})
	// Decode the feed's engagements before the first subscriber asks.
	go func() {
		wctx, cancel := context.WithTimeout(pctx, 2*time.Minute)
		defer cancel()
		if last, err := a.log.LastSeq(wctx); err == nil && a.projector.WaitFor(wctx, last) == nil {
			if err := feeds.Warm(wctx); err != nil && wctx.Err() == nil {
				logger.Warn("calendar warm-up failed", "err", err)
			}
		}
	}()
	leaders := events.NewLeaderWatch(js, events.LeaderWatchConfig{
		Streams:  []string{a.log.Stream(), "KV_" + events.IdempotencyBucket, notifier.AlertStream, "KV_" + notifier.DeliveryBucket},
		Colocate: cfg.NATS.colocate(), Logger: logger.With("component", "leaders"),
	})
	go leaders.Run(pctx, 2*time.Second)
	handler := api.New(api.Config{
		Log: a.log, Idempotency: idem, DB: a.db, Projector: a.projector, Calendar: feeds, Tokens: tokens, Logger: logger,
		Deliveries: a.notifier.Queue(), Snapshots: a.snapshots, Limits: cfg.Limits.apiLimits(), Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		ReadyMaxLag: cfg.maxLag(), Now: o.now, Writable: a.writable, WriteTimeout: o.writeTimeout, Leaders: leaders.Leaders,
		Ready: func(context.Context) error {
			if s := a.nc.Status(); s != nats.CONNECTED {
				return fmt.Errorf("nats %s", strings.ToLower(s.String()))
			}
			return nil
		},
	})
	if a.embedded != nil {
		go a.embedded.guard.run(pctx, a.embedded, logger)
	}
	a.starting.serve(handler)
	logger.Info("chancery serving", "http", "http://"+a.listener.Addr().String(), "data", o.data, "read_model", dbPath, "position", a.projector.Position())
	return a, nil
}

// writable says why the event store cannot take writes now, if it cannot.
func (a *app) writable() error {
	if a.embedded == nil {
		return nil
	}
	return a.embedded.guard.Err()
}

// addr is where the HTTP server listens.
func (a *app) addr() string { return a.listener.Addr().String() }

// wait serves until ctx ends (a failed projector does not end it: writes go
// on and /readyz reports the failure), then shuts down in order: stop accepting and
// finish in-flight requests, let the projector commit its batch, drain NATS,
// stop the embedded server, close the read model.
func (a *app) wait(ctx context.Context) error {
	var err error
	select {
	case <-ctx.Done():
		a.logger.Info("shutting down")
	case err = <-a.serveDone:
		err = fmt.Errorf("http server: %w", err)
	}
	return errors.Join(err, a.close())
}

func (a *app) close() error {
	var errs []error
	if a.server != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		errs = append(errs, a.server.Shutdown(sctx))
		cancel()
	}
	if a.notifier != nil {
		a.notifier.Stop()
	}
	if a.snapshots != nil {
		a.snapshots.Close()
	}
	if a.cancelProjector != nil {
		a.cancelProjector()
		if err := <-a.projectorDone; err != nil {
			errs = append(errs, fmt.Errorf("projector: %w", err))
		}
	}
	if a.nc != nil {
		a.nc.Drain()
		for a.nc.IsDraining() {
			time.Sleep(10 * time.Millisecond)
		}
		a.nc.Close()
	}
	if a.embedded != nil {
		a.embedded.shutdown()
	}
	if a.db != nil {
		errs = append(errs, a.db.Close())
	}
	a.lock.release()
	a.lock = nil
	return errors.Join(errs...)
}

// writable checks that each of dirs that exists takes a new file. A data
// directory on a read-only filesystem (or one the process may not write)
// otherwise surfaces as an embedded NATS server that never becomes ready,
// after a 30 s wait, and a message that does not say why. Permissions are
// not asked, but a file made: they say nothing of a read-only mount, nor
// to root.
func writable(dirs ...string) error {
	for _, dir := range dirs {
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			continue
		}
		f, err := os.CreateTemp(dir, ".write-check-*")
		if err != nil {
			return fmt.Errorf("data directory %s is not writable: %w", dir, err)
		}
		f.Close()
		os.Remove(f.Name())
	}
	return nil
}

// apiTokens gathers the bearer tokens: CHANCERY_API_TOKEN, the config's
// api_tokens, or else one generated into DATA/api-token on first start.
func apiTokens(dataDir string, cfg Config, getenv func(string) string, logger *slog.Logger) ([]api.Token, error) {
	tokens := cfg.tokens()
	if t := strings.TrimSpace(getenv("CHANCERY_API_TOKEN")); t != "" {
		if len(t) < 16 {
			return nil, usagef("CHANCERY_API_TOKEN is shorter than 16 characters")
		}
		tokens = append(tokens, api.Token{Name: "env", Token: t, Scope: api.ScopeAdmin})
	}
	if len(tokens) > 0 {
		return tokens, nil
	}
	path := filepath.Join(dataDir, "api-token")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		logger.Info("using the API token in " + path)
		return []api.Token{{Name: "local", Token: strings.TrimSpace(string(b)), Scope: api.ScopeAdmin}}, nil
	}
	buf := make([]byte, 32)
	rand.Read(buf)
	t := base64.RawURLEncoding.EncodeToString(buf)
	if err := os.WriteFile(path, []byte(t+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write api token: %w", err)
	}
	logger.Info("generated an API token for writes; it is in " + path)
	return []api.Token{{Name: "local", Token: t, Scope: api.ScopeAdmin}}, nil
}
