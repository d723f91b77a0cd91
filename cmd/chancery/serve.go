package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
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
	"github.com/chancery/chancery/internal/config"
	"github.com/chancery/chancery/internal/datalock"
	"github.com/chancery/chancery/internal/embedded"
	"github.com/chancery/chancery/internal/logging"
	"github.com/chancery/chancery/internal/natsconn"
	"github.com/chancery/chancery/internal/startup"
	"github.com/chancery/chancery/notifier"
	"github.com/chancery/chancery/projections"
)

// serveOptions are the flags of `chancery serve`.
type serveOptions struct {
	data   string
	http   string
	nats   natsOptions
	config string
	// logFormat is json or text; empty chooses by whether stderr is a terminal.
	logFormat string
}

// serveEnv is what serve takes from the process around it.
type serveEnv struct {
	getenv func(string) string
	logger *slog.Logger
	now    func() time.Time // the clock events are recorded and alerts are due by
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
		fmt.Fprintln(stderr, "\nEnvironment:\n  CHANCERY_API_TOKEN\n    \tbearer token for writes (admin scope, 16 characters or more). With neither it nor\n    \tapi_tokens in the config, the first start writes a random one to DIR/api-token;\n    \twith either, DIR/api-token is not read.")
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
	if o.logFormat != "" && !slices.Contains(logging.Formats, o.logFormat) {
		return o, usagef("serve: --log-format %q: not one of %s", o.logFormat, strings.Join(logging.Formats, ", "))
	}
	return o, nil
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	o, err := parseServe(args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := logging.New(o.logFormat, stderr)
	a, err := start(ctx, o, serveEnv{getenv: getenv, logger: logger, now: time.Now})
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
	opts     serveOptions
	env      serveEnv
	logger   *slog.Logger
	cfg      config.Config
	conn     natsconn.Options
	tokens   []api.Token
	claim    *datalock.Claim
	embedded *embedded.Server
	nc       *nats.Conn
	js       jetstream.JetStream
	log      *events.Log
	idem     *events.Idempotency
	db       *projections.DB
	// background is the context of the goroutines that follow the stream;
	// it ends when the projector stops.
	background context.Context
	projector  *projections.Projector
	metrics    *prometheus.Registry
	notifier   *notifier.Notifier
	snapshots  *projections.Snapshots
	http       *startup.Server
	starting   startup.Handler // the HTTP handler: a placeholder until the API is built
	steps      startup.Steps
}

// start brings the service up, step by step, and returns once the API
// serves. From its listener on, the process answers /healthz, and /readyz
// says what start waits for.
func start(ctx context.Context, o serveOptions, env serveEnv) (*app, error) {
	a := &app{opts: o, env: env, logger: env.logger, metrics: prometheus.NewRegistry()}
	if err := a.steps.Run(ctx,
		a.loadConfig,
		a.claimDataDirectory,
		a.listen,
		a.takeDataDirectory,
		a.readTokens,
		a.startEmbeddedNATS,
		a.connectNATS,
		a.openEventLog,
		a.openReadModel,
		a.startProjector,
		a.startNotifier,
		a.openSnapshots,
		a.serveAPI,
	); err != nil {
		a.close() // what went wrong is err; undoing the steps that ran is tidying up
		return nil, err
	}
	return a, nil
}

// loadConfig reads the config file, if one is given.
func (a *app) loadConfig(context.Context) (func() error, error) {
	if a.opts.config != "" {
		c, err := loadConfig(a.opts.config, a.env.getenv)
		if err != nil {
			return nil, err
		}
		a.cfg = *c
	}
	for _, w := range a.cfg.Warnings() {
		a.logger.Warn(w)
	}
	if a.opts.nats.url == "" {
		a.opts.nats.url = a.cfg.NATS.URL
	}
	a.conn = a.opts.nats.conn()
	return nil, nil
}

// claimDataDirectory refuses a data directory that another serve owns, or
// that cannot be written, before anything else, the port included.
func (a *app) claimDataDirectory(context.Context) (_ func() error, err error) {
	if a.claim, err = datalock.ClaimForServe(a.opts.data, filepath.Join(a.opts.data, "nats")); err != nil {
		return nil, err
	}
	return func() error { a.claim.Release(); return nil }, nil
}

// listen opens the HTTP port and answers on it from now on: /healthz,
// and /readyz with what start waits for, until the API takes over. The
// server is shut down first of all, in close.
func (a *app) listen(context.Context) (_ func() error, err error) {
	a.http, err = startup.Listen(a.opts.http, &a.starting, a.logger)
	return nil, err
}

// takeDataDirectory makes the data directory if need be and holds its
// lock, waiting for a tool that has the store open to finish.
func (a *app) takeDataDirectory(ctx context.Context) (func() error, error) {
	return nil, a.claim.Take(ctx, a.logger, func(h datalock.Holder) {
		a.starting.WaitingFor("the data directory, which " + h.String() + " has open")
	}, embedded.URLFile)
}

// readTokens gathers the bearer tokens for writes (config.Config.GatherTokens)
// with CHANCERY_API_TOKEN from the environment; a short one is bad input.
func (a *app) readTokens(context.Context) (_ func() error, err error) {
	a.tokens, err = a.cfg.GatherTokens(a.opts.data, a.env.getenv("CHANCERY_API_TOKEN"), a.logger)
	if errors.Is(err, config.ErrShortToken) {
		return nil, usagef("%v", err)
	}
	return nil, err
}

// startEmbeddedNATS runs nats-server in the process, unless serve joins an
// external NATS.
func (a *app) startEmbeddedNATS(context.Context) (func() error, error) {
	if a.conn.URL != "" {
		return nil, nil
	}
	var err error
	if a.embedded, err = embedded.Serve(a.opts.data, a.logger); err != nil {
		return nil, err
	}
	a.conn.Local = a.embedded
	return func() error { a.embedded.Shutdown(); return nil }, nil
}

// connectNATS connects, waiting for NATS as long as it takes.
func (a *app) connectNATS(ctx context.Context) (func() error, error) {
	a.starting.WaitingFor("NATS at " + cmp.Or(natsconn.Redact(a.conn.URL), "the embedded server"))
	var err error
	if a.nc, err = natsconn.Wait(ctx, a.conn, a.logger); err != nil {
		return nil, err
	}
	if a.js, err = jetstream.New(a.nc); err != nil {
		a.nc.Close()
		return nil, err
	}
	return func() error { natsconn.Drain(a.nc); return nil }, nil
}

// openEventLog opens (or creates) the event stream and the idempotency
// bucket, waiting for JetStream to be up.
func (a *app) openEventLog(ctx context.Context) (func() error, error) {
	a.starting.WaitingFor("JetStream")
	replicas := max(a.cfg.NATS.Replicas, 1)
	if err := natsconn.WhileJetStreamStarts(ctx, a.logger, func() (err error) {
		a.log, err = events.OpenLog(ctx, a.js, events.LogConfig{Replicas: replicas, Now: a.env.now})
		return err
	}); err != nil {
		return nil, err
	}
	return nil, natsconn.WhileJetStreamStarts(ctx, a.logger, func() (err error) {
		a.idem, err = events.OpenIdempotency(ctx, a.js, replicas)
		return err
	})
}

// openReadModel opens the SQLite read model.
func (a *app) openReadModel(ctx context.Context) (func() error, error) {
	a.starting.WaitingFor("the read model")
	var err error
	if a.db, err = projections.Open(ctx, a.readModelPath()); err != nil {
		return nil, err
	}
	return a.db.Close, nil
}

func (a *app) readModelPath() string { return filepath.Join(a.opts.data, "chancery.db") }

// startProjector follows the stream into the read model, rebuilding it
// beside the old rows when it was written by another projection version.
func (a *app) startProjector(ctx context.Context) (func() error, error) {
	var err error
	if a.projector, err = projections.NewProjector(ctx, a.db, a.js, a.log.Stream(), a.logger.With("component", "projector")); err != nil {
		return nil, err
	}
	// What runs in the background until close: the projector, and what
	// later steps start (the leader watch, the warm-up, the disk guard).
	background, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.background = background
	stop := a.projector.Follow(background, a.log, a.env.now)
	a.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "chancery_read_model_position", Help: "Stream sequence of the last event the read model applied.",
		}, func() float64 { return float64(a.projector.Position()) }))
	return func() error { cancel(); stop(); return nil }, nil
}

// caughtUp waits until the read model has applied every event stored now.
func (a *app) caughtUp(ctx context.Context) error {
	last, err := a.log.LastSeq(ctx)
	if err != nil {
		return err
	}
	return a.projector.WaitFor(ctx, last)
}

// startNotifier starts the alerts: the sweep, the digests and the
// delivery queue.
func (a *app) startNotifier(ctx context.Context) (func() error, error) {
	ncfg, ccfg, err := a.cfg.NotifierConfig("http://" + a.addr())
	if err != nil {
		return nil, err
	}
	ccfg.Now = a.env.now
	metrics := notifier.NewMetrics(a.metrics)
	if err := natsconn.WhileJetStreamStarts(ctx, a.logger, func() (err error) {
		a.notifier, err = notifier.New(ctx, ncfg, notifier.Deps{
			DB: a.db, Log: a.log, JS: a.js, Channel: notifier.NewChannels(ccfg), Now: a.env.now,
			Logger: a.logger.With("component", "notifier"), Metrics: metrics,
		})
		return err
	}); err != nil {
		return nil, err
	}
	stop := func() error { a.notifier.Stop(); return nil }
	return stop, natsconn.WhileJetStreamStarts(ctx, a.logger, func() error { return a.notifier.Start(ctx) })
}

// openSnapshots makes room for the point-in-time read models of ?as_of=:
// disposable, rebuilt on demand.
func (a *app) openSnapshots(context.Context) (func() error, error) {
	dir := filepath.Join(a.opts.data, "snapshots")
	os.RemoveAll(dir)
	var err error
	if a.snapshots, err = projections.NewSnapshots(dir, a.log, a.cfg.SnapshotLimits()); err != nil {
		return nil, err
	}
	return func() error { a.snapshots.Close(); return nil }, nil
}

// serveAPI builds the calendar feeds and the API, and hands them every
// request from now on.
func (a *app) serveAPI(context.Context) (func() error, error) {
	cfg, logger := a.cfg, a.logger
	feeds := calendar.NewHandler(calendar.Config{
		DB: a.db, Position: a.projector.Position, Feeds: cfg.CalendarFeeds(), UIDHost: cfg.Calendar.UIDHost,
		Now: a.env.now, Snapshots: a.snapshots, PublicURL: cfg.Calendar.PublicURL, Logger: logger.With("component", "calendar"),
	})
	// Decode the feed's engagements before the first subscriber asks.
	feeds.WarmAfter(a.background, a.caughtUp)
	leaders := events.NewLeaderWatch(a.js, events.LeaderWatchConfig{
		Streams:  []string{a.log.Stream(), "KV_" + events.IdempotencyBucket, notifier.AlertStream, "KV_" + notifier.DeliveryBucket, "KV_" + notifier.SubscriptionBucket},
		Colocate: cfg.NATS.Colocate(), Logger: logger.With("component", "leaders"),
	})
	go leaders.Run(a.background, 2*time.Second)
	handler := api.New(api.Config{
		Log: a.log, Idempotency: a.idem, DB: a.db, Projector: a.projector, Calendar: feeds, Tokens: a.tokens, Logger: logger,
		Deliveries: a.notifier.Queue(), Snapshots: a.snapshots, Limits: cfg.Limits.APILimits(), Metrics: promhttp.HandlerFor(a.metrics, promhttp.HandlerOpts{}),
		ReadyMaxLag: cfg.MaxLag(), Now: a.env.now, Writable: a.writable, WriteTimeout: cfg.WriteTimeout(), Leaders: leaders.Leaders,
		Ready: func(context.Context) error { return natsconn.Connected(a.nc) },
	})
	if a.embedded != nil {
		go a.embedded.Guard().Run(a.background, logger)
	}
	a.starting.Serve(handler)
	logger.Info("chancery serving", "http", "http://"+a.addr(), "data", a.opts.data, "read_model", a.readModelPath(), "position", a.projector.Position())
	return nil, nil
}

// writable says why the event store cannot take writes now, if it cannot.
func (a *app) writable() error {
	if a.embedded == nil {
		return nil
	}
	return a.embedded.Guard().Err()
}

// addr is where the HTTP server listens.
func (a *app) addr() string { return a.http.Addr() }

// wait serves until ctx ends (a failed projector does not end it: writes go
// on and /readyz reports the failure), then shuts down.
func (a *app) wait(ctx context.Context) error {
	var err error
	select {
	case <-ctx.Done():
		a.logger.Info("shutting down")
	case err = <-a.http.Done():
		err = fmt.Errorf("http server: %w", err)
	}
	return errors.Join(err, a.close())
}

// close shuts down in order: stop accepting and finish in-flight requests
// while everything they use is still open, then undo each step that
// started, the last first (the projector commits its batch, NATS drains,
// the embedded server stops, the read model closes, the lock goes).
func (a *app) close() error {
	var err error
	if a.http != nil {
		err = a.http.Shutdown(15 * time.Second)
	}
	return errors.Join(err, a.steps.Undo())
}
