package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/internal/datalock"
	"github.com/chancery/chancery/internal/embedded"
	"github.com/chancery/chancery/internal/natsconn"
)

// envLookup returns a flag default from the environment.
func envLookup(getenv func(string) string) func(key, def string) string {
	return func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
}

// natsOptions are the flags that say how to reach NATS.
type natsOptions struct {
	url      string // empty: run an embedded server
	creds    string
	user     string
	password string
	caFile   string
	certFile string
	keyFile  string
}

// conn returns the options to connect with; Local is the caller's to set.
func (o natsOptions) conn() natsconn.Options {
	return natsconn.Options{URL: o.url, Creds: o.creds, User: o.user, Password: o.password, CAFile: o.caFile, CertFile: o.certFile, KeyFile: o.keyFile}
}

// register adds the flags that say how to reach NATS.
func (o *natsOptions) register(fs *flag.FlagSet, env func(key, def string) string) {
	fs.StringVar(&o.url, "nats", env("CHANCERY_NATS_URL", ""), "external NATS server or cluster, comma-separated URLs; empty runs an embedded server [CHANCERY_NATS_URL]")
	fs.StringVar(&o.creds, "nats-creds", env("CHANCERY_NATS_CREDS", ""), "NATS credentials file [CHANCERY_NATS_CREDS]")
	fs.StringVar(&o.user, "nats-user", env("CHANCERY_NATS_USER", ""), "NATS user name [CHANCERY_NATS_USER]")
	fs.StringVar(&o.password, "nats-password", env("CHANCERY_NATS_PASSWORD", ""), "NATS password [CHANCERY_NATS_PASSWORD]")
	fs.StringVar(&o.caFile, "nats-ca", env("CHANCERY_NATS_CA", ""), "CA certificate file to verify NATS servers [CHANCERY_NATS_CA]")
	fs.StringVar(&o.certFile, "nats-cert", env("CHANCERY_NATS_CERT", ""), "client certificate file for NATS mutual TLS [CHANCERY_NATS_CERT]")
	fs.StringVar(&o.keyFile, "nats-key", env("CHANCERY_NATS_KEY", ""), "client key file for NATS mutual TLS [CHANCERY_NATS_KEY]")
}

// streamFlags say where a tool finds the event stream: --nats URL, or the
// data directory of a serve (running: through DATA/nats.url; stopped: by
// opening its store in-process, holding the directory's lock).
type streamFlags struct {
	command string // the tool's name, which its lock on a data directory shows
	data    string
	nats    natsOptions
	stream  string
}

func (f *streamFlags) register(fs *flag.FlagSet, getenv func(string) string) {
	env := envLookup(getenv)
	use := "data directory of the service whose stream to read, when --nats is not given [CHANCERY_DATA]"
	if f.command == "import-events" {
		use = "data directory of the service whose stream to write (made if absent), when --nats is not given [CHANCERY_DATA]"
	}
	fs.StringVar(&f.data, "data", env("CHANCERY_DATA", "./data"), use)
	f.nats.register(fs, env)
	f.stream = events.DefaultStream
}

// streamConn is a tool's connection to the event stream.
type streamConn struct {
	nc       *nats.Conn
	js       jetstream.JetStream
	lock     *datalock.Lock // held while the tool runs the store itself
	embedded *embedded.Server
	ctx      context.Context         // ends when the connection is lost for good
	lost     context.CancelCauseFunc // ends ctx
	via      string                  // how it connected, for messages
}

// openStream connects to NATS the way f says. Given a data directory, it
// takes the directory's lock and opens the store itself when nothing runs
// there; when a serve holds it, it attaches to that serve's server through
// DATA/nats.url; any other holder (a tool that opened the store) is refused,
// since one store has one server.
//
// The context it returns ends when the connection is lost for good (see
// toolReconnectFor); the tool does its work under it, so that it stops
// instead of waiting forever, and c.Explain says why it stopped.
func openStream(ctx context.Context, f streamFlags, logger *slog.Logger) (*streamConn, context.Context, error) {
	c := &streamConn{}
	o := f.nats.conn()
	if o.URL != "" {
		c.via = "nats " + natsconn.Redact(o.URL)
	} else {
		if _, err := os.Stat(filepath.Join(f.data, "nats")); err != nil {
			return nil, nil, usagef("no event store in %s (give --data DIR of a Chancery service, or --nats URL)", f.data)
		}
		lock, h, err := datalock.Try(f.data, cmp.Or(f.command, "tool"))
		if err != nil {
			return nil, nil, err
		}
		if lock != nil {
			c.lock = lock
			if c.embedded, err = embedded.Start(f.data, logger); err != nil {
				c.Close()
				return nil, nil, err
			}
			o.Local = c.embedded
			c.via = "the store in " + filepath.Join(f.data, "nats")
		} else {
			urlFile := filepath.Join(f.data, embedded.URLFile)
			raw, err := os.ReadFile(urlFile)
			switch {
			case h.Command != datalock.Serve:
				return nil, nil, fmt.Errorf("%s is in use by %s, which has the event store open and does not share it; run this again when it has finished, or give --nats URL", f.data, h)
			case err != nil:
				return nil, nil, fmt.Errorf("%s is in use by %s, which publishes no %s (it is starting, or runs with --nats); try again, or give --nats URL", f.data, h, urlFile)
			}
			o.URL = strings.TrimSpace(string(raw))
			c.via = "the running service's NATS (" + urlFile + ")"
		}
	}
	ctx, c.lost = context.WithCancelCause(ctx)
	c.ctx = ctx
	nc, err := natsconn.Connect(o, logger, boundedReconnect(c.via, logger, c.lost)...)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	c.nc = nc
	js, err := jetstream.New(c.nc)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	c.js = js
	return c, ctx, nil
}

// toolReconnectFor is how long a tool waits for NATS to come back after
// losing it mid-run before it gives up and says so. Serve waits as long as
// it takes; a tool has someone waiting for its answer.
var toolReconnectFor = 30 * time.Second

// errNATSLost is the cause of a tool's context ending because its NATS
// did not come back within toolReconnectFor.
var errNATSLost = errors.New("lost the connection to NATS")

// boundedReconnect makes a tool's connection give up toolReconnectFor
// after it was lost: lost is called with the reason and the connection
// closes.
func boundedReconnect(via string, logger *slog.Logger, lost context.CancelCauseFunc) []nats.Option {
	var mu sync.Mutex
	var giveUp *time.Timer
	return []nats.Option{
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			mu.Lock()
			defer mu.Unlock()
			if giveUp != nil || nc.IsClosed() {
				return
			}
			logger.Warn("lost NATS; reconnecting", "via", via, "err", err, "giving_up_after", toolReconnectFor)
			giveUp = time.AfterFunc(toolReconnectFor, func() {
				lost(fmt.Errorf("%w (%s): not back within %s (last error: %v)", errNATSLost, via, toolReconnectFor, nc.LastError()))
				nc.Close()
			})
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			mu.Lock()
			defer mu.Unlock()
			if giveUp != nil {
				giveUp.Stop()
				giveUp = nil
			}
			logger.Warn("NATS is back", "url", nc.ConnectedUrlRedacted())
		}),
	}
}

// Explain returns err, or why the tool's context ended when that is what
// err comes from: NATS lost for good.
func (c *streamConn) Explain(err error) error {
	if cause := context.Cause(c.ctx); err != nil && errors.Is(cause, errNATSLost) && !errors.Is(err, errNATSLost) {
		return cause
	}
	return err
}

// Log opens the event log; it must exist unless create is set.
func (c *streamConn) Log(ctx context.Context, stream string, create bool) (*events.Log, error) {
	if !create {
		if _, err := c.js.Stream(ctx, stream); errors.Is(err, jetstream.ErrStreamNotFound) {
			return nil, fmt.Errorf("no stream %s in %s", stream, c.via)
		} else if err != nil {
			return nil, fmt.Errorf("stream %s in %s: %w", stream, c.via, err)
		}
	}
	return events.OpenLog(ctx, c.js, events.LogConfig{Stream: stream})
}

// Close disconnects, stops the embedded server if the tool started one,
// and lets the data directory go.
func (c *streamConn) Close() {
	if c.lost != nil {
		c.lost(nil)
	}
	if c.nc != nil {
		c.nc.Close()
	}
	if c.embedded != nil {
		c.embedded.Shutdown()
	}
	c.lock.Release()
	c.lock = nil
}

// quietLogger is the logger of tools: warnings and errors only, on stderr.
func quietLogger(stderr io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// toolFlags starts the flag set of a tool that reads the stream: the stream
// flags, and a usage text followed by the flags.
func toolFlags(name, usage string, getenv func(string) string, stderr io.Writer) (*flag.FlagSet, *streamFlags) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := &streamFlags{command: name}
	f.register(fs, getenv)
	fs.Usage = func() {
		fmt.Fprintln(stderr, usage+"\n\nFlags:")
		fs.PrintDefaults()
	}
	return fs, f
}
