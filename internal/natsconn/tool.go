package natsconn

import (
	"cmp"
	"context"
	"errors"
	"fmt"
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
)

// ToolOptions say where a tool (export, replay, audit, import-events)
// finds the event stream: at Conn.URL, or in the data directory of a serve
// (running: through DATA/nats.url; stopped: by opening its store
// in-process, holding the directory's lock).
type ToolOptions struct {
	Command string // the tool's name, which its lock on a data directory shows
	Data    string // the data directory, when Conn.URL is empty
	Conn    Options
	// GiveUpAfter is how long the tool waits for NATS to come back after
	// losing it mid-run before it gives up. A service waits as long as it
	// takes; a tool has someone waiting for its answer.
	GiveUpAfter time.Duration
}

// Tool is a tool's connection to the event stream.
type Tool struct {
	Conn *nats.Conn
	JS   jetstream.JetStream
	Via  string // how it connected, for messages

	lock     *datalock.Lock // held while the tool runs the store itself
	embedded *embedded.Server
	ctx      context.Context         // ends when the connection is lost for good
	lost     context.CancelCauseFunc // ends ctx
}

// ErrNoStore is the error of a data directory that holds no event store.
var ErrNoStore = errors.New("no event store")

// errLost is the cause of a tool's context ending because its NATS did
// not come back within ToolOptions.GiveUpAfter.
var errLost = errors.New("lost the connection to NATS")

// OpenTool connects to NATS the way o says. Given a data directory, it
// takes the directory's lock and opens the store itself when nothing runs
// there; when a serve holds it, it attaches to that serve's server through
// DATA/nats.url; any other holder (a tool that opened the store) is refused,
// since one store has one server.
//
// The context it returns ends when the connection is lost for good (see
// ToolOptions.GiveUpAfter); the tool does its work under it, so that it
// stops instead of waiting forever, and Tool.Explain says why it stopped.
func OpenTool(ctx context.Context, o ToolOptions, logger *slog.Logger) (*Tool, context.Context, error) {
	t := &Tool{}
	conn := o.Conn
	if conn.URL != "" {
		t.Via = "nats " + Redact(conn.URL)
	} else {
		if _, err := os.Stat(filepath.Join(o.Data, "nats")); err != nil {
			return nil, nil, fmt.Errorf("%w in %s", ErrNoStore, o.Data)
		}
		lock, h, err := datalock.Try(o.Data, cmp.Or(o.Command, "tool"))
		if err != nil {
			return nil, nil, err
		}
		if lock != nil {
			t.lock = lock
			if t.embedded, err = embedded.Start(o.Data, logger); err != nil {
				t.Close()
				return nil, nil, err
			}
			conn.Local = t.embedded
			t.Via = "the store in " + filepath.Join(o.Data, "nats")
		} else {
			urlFile := filepath.Join(o.Data, embedded.URLFile)
			raw, err := os.ReadFile(urlFile)
			switch {
			case h.Command != datalock.Serve:
				return nil, nil, fmt.Errorf("%s is in use by %s, which has the event store open and does not share it; run this again when it has finished, or give --nats URL", o.Data, h)
			case err != nil:
				return nil, nil, fmt.Errorf("%s is in use by %s, which publishes no %s (it is starting, or runs with --nats); try again, or give --nats URL", o.Data, h, urlFile)
			}
			conn.URL = strings.TrimSpace(string(raw))
			t.Via = "the running service's NATS (" + urlFile + ")"
		}
	}
	ctx, t.lost = context.WithCancelCause(ctx)
	t.ctx = ctx
	nc, err := Connect(conn, logger, boundedReconnect(t.Via, o.GiveUpAfter, logger, t.lost)...)
	if err != nil {
		t.Close()
		return nil, nil, err
	}
	t.Conn = nc
	if t.JS, err = jetstream.New(nc); err != nil {
		t.Close()
		return nil, nil, err
	}
	return t, ctx, nil
}

// boundedReconnect makes a tool's connection give up giveUpAfter after it
// was lost: lost is called with the reason and the connection closes.
func boundedReconnect(via string, giveUpAfter time.Duration, logger *slog.Logger, lost context.CancelCauseFunc) []nats.Option {
	var mu sync.Mutex
	var giveUp *time.Timer
	return []nats.Option{
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			mu.Lock()
			defer mu.Unlock()
			if giveUp != nil || nc.IsClosed() {
				return
			}
			logger.Warn("lost NATS; reconnecting", "via", via, "err", err, "giving_up_after", giveUpAfter)
			giveUp = time.AfterFunc(giveUpAfter, func() {
				lost(fmt.Errorf("%w (%s): not back within %s (last error: %v)", errLost, via, giveUpAfter, nc.LastError()))
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
func (t *Tool) Explain(err error) error {
	if cause := context.Cause(t.ctx); err != nil && errors.Is(cause, errLost) && !errors.Is(err, errLost) {
		return cause
	}
	return err
}

// Log opens the event log of stream, which must exist.
func (t *Tool) Log(ctx context.Context, stream string) (*events.Log, error) {
	if _, err := t.JS.Stream(ctx, stream); errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("no stream %s in %s", stream, t.Via)
	} else if err != nil {
		return nil, fmt.Errorf("stream %s in %s: %w", stream, t.Via, err)
	}
	return events.OpenLog(ctx, t.JS, events.LogConfig{Stream: stream})
}

// Close disconnects, stops the embedded server if the tool started one,
// and lets the data directory go.
func (t *Tool) Close() {
	if t.lost != nil {
		t.lost(nil)
	}
	if t.Conn != nil {
		t.Conn.Close()
	}
	if t.embedded != nil {
		t.embedded.Shutdown()
	}
	t.lock.Release()
	t.lock = nil
}
