package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/internal/logging"
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

// toolReconnectFor is how long a tool waits for NATS to come back after
// losing it mid-run before it gives up and says so.
var toolReconnectFor = 30 * time.Second

// open connects to the stream the way f says (natsconn.OpenTool). The
// context it returns ends when NATS is lost for good.
func (f streamFlags) open(ctx context.Context, stderr io.Writer) (*natsconn.Tool, context.Context, error) {
	t, ctx, err := natsconn.OpenTool(ctx, natsconn.ToolOptions{
		Command: f.command, Data: f.data, Conn: f.nats.conn(), GiveUpAfter: toolReconnectFor,
	}, logging.Quiet(stderr))
	if errors.Is(err, natsconn.ErrNoStore) {
		return nil, nil, usagef("%v (give --data DIR of a Chancery service, or --nats URL)", err)
	}
	return t, ctx, err
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
