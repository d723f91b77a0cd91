package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"go.yaml.in/yaml/v3"

	"github.com/chancery/chancery/internal/config"
	"github.com/chancery/chancery/projections"
)

func runCLI(t *testing.T, ctx context.Context, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(ctx, args, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errb)
	if err != nil {
		errb.WriteString(err.Error())
	}
	return exitCode(err), out.String(), errb.String()
}

// cliCase is a command line, the exit code it must give and a text its
// output (stdout and stderr together) must contain.
type cliCase struct {
	args []string
	code int
	want string
}

// runCLICases runs each command line of cases and checks its exit and output.
func runCLICases(t *testing.T, cases []cliCase) {
	t.Helper()
	for _, tc := range cases {
		code, out, errOut := runCLI(t, context.Background(), nil, tc.args...)
		if code != tc.code || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("chancery %v: exit %d, want %d; output %q lacks %q", tc.args, code, tc.code, out+errOut, tc.want)
		}
	}
}

func TestCLIExitCodes(t *testing.T) {
	runCLICases(t, []cliCase{
		{[]string{"version"}, 0, "chancery "},
		{[]string{"version", "--help"}, 0, "usage: chancery version"},
		{[]string{"version", "now"}, 2, "no arguments"},
		{[]string{}, 2, "no command"},
		{[]string{"launch"}, 2, `unknown command "launch"`},
		{[]string{"serve", "--help"}, 0, "-data"},
		{[]string{"serve", "--bogus"}, 2, "bogus"},
		{[]string{"serve", "--http", "nonsense"}, 2, "--http"},
		{[]string{"config", "check"}, 2, "usage"},
	})
}

func TestServeRefusesAShortTokenFromTheEnvironment(t *testing.T) {
	env := map[string]string{"CHANCERY_API_TOKEN": "hunter2"}
	code, _, errOut := runCLI(t, context.Background(), env, "serve", "--data", t.TempDir(), "--http", "127.0.0.1:0")
	if code != 2 || !strings.Contains(errOut, "CHANCERY_API_TOKEN") {
		t.Errorf("serve with a 7-character token: exit %d, stderr %q; want exit 2 naming CHANCERY_API_TOKEN", code, errOut)
	}
}

func TestConfigCheckNamesKeyAndLine(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", `api_tokens:
  - {name: protocol-office, token: "${PROTOCOL_TOKEN}", scope: write}
nats:
  url: ""
  replicas: 1
notifier:
  sweep: "@every 30s"
  reminders: ["24h", "1h"]
subscribers:
  - name: belgrade-desk
    channel: email
    to: desk@example.org
    timezone: Europe/Belgrade
feeds:
  - {name: serbia, filter: {countries: [RS]}, token: ""}
`)
	env := map[string]string{"PROTOCOL_TOKEN": "a-long-enough-secret-token"}
	if code, out, errOut := runCLI(t, context.Background(), env, "config", "check", good); code != 0 {
		t.Fatalf("good config: exit %d: %s %s", code, out, errOut)
	}
	cfg, err := config.Load(write("env.yaml", "nats:\n  replicas: ${REPLICAS}\napi_tokens:\n  - {name: \"${WHO}-desk\", token: \"${T}\", scope: write}\n"),
		func(k string) string {
			return map[string]string{"REPLICAS": "3", "WHO": "rs", "T": "x: y # not a comment"}[k]
		})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NATS.Replicas != 3 || cfg.APITokens[0].Name != "rs-desk" || cfg.APITokens[0].Token != "x: y # not a comment" {
		t.Errorf("expanded config = replicas %d, token %+v", cfg.NATS.Replicas, cfg.APITokens[0])
	}
	// A value from the environment stays one value: it cannot add keys.
	injected := "a-long-enough-secret\n    scope: admin"
	cfg, err = config.Load(write("inject.yaml", "api_tokens:\n  - name: a\n    scope: read\n    token: ${T}\n"),
		func(string) string { return injected })
	if err != nil {
		t.Fatal(err)
	}
	if tok := cfg.APITokens[0]; tok.Scope != "read" || tok.Token != injected {
		t.Errorf("token from env = %+v, want scope read and the whole value as the token", tok)
	}
	for _, tc := range []struct {
		name, body string
		env        map[string]string
		want       string
	}{
		{"unknown key", "nats:\n  url: \"\"\n  replicaz: 3\n", nil, "bad.yaml:3: nats.replicaz: unknown key"},
		{"unknown key in a list", "subscribers:\n  - name: x\n    chanel: email\n", nil, "bad.yaml:3: subscribers[0].chanel: unknown key"},
		{"not a number", "nats:\n  replicas: three\n", nil, "bad.yaml:2: nats.replicas: \"three\" is not a number"},
		{"unset env token", "api_tokens:\n  - {name: a, token: \"${NOPE}\", scope: write}\n", nil, "bad.yaml:2: api_tokens[0].token"},
		{"bad scope", "api_tokens:\n  - name: a\n    token: a-long-enough-secret-token\n    scope: root\n", nil, "bad.yaml:4: api_tokens[0].scope"},
		{"bad zone", "subscribers:\n  - name: x\n    channel: email\n    to: desk@example.org\n    timezone: Mars/Olympus\n", nil, "bad.yaml:5: subscribers[0].timezone"},
		{"unknown channel", "subscribers:\n  - name: x\n    channel: pigeon\n    to: desk@example.org\n", nil, "bad.yaml:3: subscribers[0].channel"},
		{"malformed URL", "subscribers:\n  - name: x\n    channel: slack\n    to: \"hooks.slack.com/services/T0\"\n", nil, "bad.yaml:4: subscribers[0].to"},
		{"bad address", "subscribers:\n  - name: x\n    channel: email\n    to: \"desk at example.org\"\n", nil, "bad.yaml:4: subscribers[0].to"},
		{"telegram without token", "subscribers:\n  - name: x\n    channel: telegram\n    to: \"https://api.telegram.org?chat_id=42\"\n", nil, "subscribers[0].secret"},
		{"duplicate subscriber", "subscribers:\n  - {name: x, channel: email, to: a@example.org}\n  - {name: x, channel: email, to: b@example.org}\n", nil, "bad.yaml:3: subscribers[1].name"},
		{"bad quiet hours", "subscribers:\n  - name: x\n    channel: email\n    to: a@example.org\n    quiet_hours: \"10pm-7am\"\n", nil, "bad.yaml:5: subscribers[0].quiet_hours"},
		{"unknown alert", "subscribers:\n  - name: x\n    channel: email\n    to: a@example.org\n    alerts: [reminder, gossip]\n", nil, "bad.yaml:5: subscribers[0].alerts[1]"},
		{"invalid sweep spec", "notifier:\n  sweep: \"every 30 seconds\"\n", nil, "bad.yaml:2: notifier.sweep"},
		{"invalid digest spec", "notifier:\n  digest: \"0 7 * *\"\n", nil, "bad.yaml:2: notifier.digest"},
		{"bad reminder", "notifier:\n  reminders: [24h, soon]\n", nil, "bad.yaml:2: notifier.reminders[1]"},
		{"bad smtp tls", "notifier:\n  smtp: {host: mail, tls: ssl}\n", nil, "notifier.smtp.tls"},
		{"relative public URL", "notifier:\n  public_url: chancery.example.org\n", nil, "bad.yaml:2: notifier.public_url"},
		{"readiness lag not a duration", "readiness:\n  max_lag: soon\n", nil, "bad.yaml:2: readiness.max_lag"},
		{"feed filter over the cap", "feeds:\n  - name: big\n    filter:\n      countries: [" + strings.TrimSuffix(strings.Repeat("RS, ", projections.MaxFilterValues+1), ", ") + "]\n", nil, "bad.yaml:4: feeds[0].filter.countries"},
		{"not yaml", "nats: [\n", nil, "bad.yaml"},
		{"number from env", "nats:\n  replicas: ${REPLICAS}\n", map[string]string{"REPLICAS": "three"}, "bad.yaml:2: nats.replicas: \"three\" is not a number"},
	} {
		p := write("bad.yaml", tc.body)
		code, _, errOut := runCLI(t, context.Background(), tc.env, "config", "check", p)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 naming %q", tc.name, code, errOut, tc.want)
		}
	}
}

func TestServeStartsWithNoSetupAndShutsDownGracefully(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	serve := serveInBackground(t, nil, "--data", dir, "--http", addr)
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := checkedClient(t, 0).Get("http://" + addr + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("service not ready: %v\n%s", err, serve.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// First start: a token for writes, private to the owner, and the NATS URL.
	info, err := os.Stat(filepath.Join(dir, "api-token"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("api-token: %v %v", info, err)
	}
	token, _ := os.ReadFile(filepath.Join(dir, "api-token"))
	if u, err := os.ReadFile(filepath.Join(dir, "nats.url")); err != nil || !strings.HasPrefix(string(u), "nats://chancery:") || !strings.Contains(string(u), "@127.0.0.1:") {
		t.Fatalf("nats.url = %q, %v", u, err)
	}
	postCall(t, "http://"+addr, strings.TrimSpace(string(token)), "with the generated token")

	serve.stop(t)
	if _, err := os.Stat(filepath.Join(dir, "nats.url")); !os.IsNotExist(err) {
		t.Errorf("nats.url left behind after shutdown")
	}
	if _, err := os.Stat(filepath.Join(dir, "nats", "jetstream")); err != nil {
		t.Errorf("no JetStream store under DATA/nats: %v", err)
	}
}

// TestComposeConfigIsValid checks the config that compose.yaml hands to
// Chancery, since compose itself cannot run here.
func TestComposeConfigIsValid(t *testing.T) {
	raw, err := os.ReadFile("../../compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Build       any               `yaml:"build"`
			Command     []string          `yaml:"command"`
			Environment map[string]string `yaml:"environment"`
			Healthcheck struct {
				Test []string `yaml:"test"`
			} `yaml:"healthcheck"`
			DependsOn dependsOn `yaml:"depends_on"`
		} `yaml:"services"`
		Configs map[string]struct {
			Content string `yaml:"content"`
		} `yaml:"configs"`
	}
	if err := yaml.Unmarshal(raw, &compose); err != nil {
		t.Fatal(err)
	}
	content := compose.Configs["chancery"].Content
	if content == "" {
		t.Fatal("compose.yaml has no configs.chancery.content")
	}
	p := writeConfig(t, t.TempDir(), content)
	cfg, err := config.Load(p, func(string) string { return "" })
	if err != nil {
		t.Fatalf("compose's Chancery config: %v", err)
	}
	if len(cfg.Subscribers) == 0 || cfg.Notifier.SMTP.Host != "mail" {
		t.Errorf("compose's config lost its subscriber or SMTP host: %+v", cfg)
	}
	if cfg.NATS.Replicas != 3 {
		t.Errorf("compose's config has nats.replicas %d, want 3 on its three nodes", cfg.NATS.Replicas)
	}

	// Three NATS nodes, each command one that nats-server accepts: one
	// cluster, JetStream on, distinct names, routes to all three.
	names := map[string]bool{}
	for _, svc := range []string{"nats1", "nats2", "nats3"} {
		cmd := compose.Services[svc].Command
		opts, err := server.ConfigureOptions(flag.NewFlagSet(svc, flag.ContinueOnError), cmd, nil, nil, nil)
		if err != nil {
			t.Fatalf("%s: nats-server refuses %q: %v", svc, cmd, err)
		}
		if !opts.JetStream || opts.StoreDir != "/data" || opts.Cluster.Name != "chancery" || opts.ServerName != svc {
			t.Errorf("%s: jetstream %v, store %q, cluster %q, name %q", svc, opts.JetStream, opts.StoreDir, opts.Cluster.Name, opts.ServerName)
		}
		names[opts.ServerName] = true
		routes := server.RoutesFromStr(opts.RoutesStr)
		if len(routes) != 3 {
			t.Errorf("%s routes to %d nodes, want 3", svc, len(routes))
		}
		// A health check on the monitoring port the node opens, which a
		// replica's depends_on waits for.
		hc := strings.Join(compose.Services[svc].Healthcheck.Test, " ")
		if opts.HTTPPort == 0 || !strings.Contains(hc, fmt.Sprintf(":%d/healthz", opts.HTTPPort)) {
			t.Errorf("%s: monitoring port %d, health check %q; want a check of /healthz on that port", svc, opts.HTTPPort, hc)
		}
		// The image is the nats-server release the tests run.
		if img, v := compose.Services[svc].Image, strings.TrimPrefix(natsServerVersion(t), "v"); !strings.HasPrefix(img, "nats:"+v+"-") {
			t.Errorf("%s: image %q, want nats:%s-… (the nats-server in go.mod)", svc, img, v)
		}
	}
	if len(names) != 3 {
		t.Errorf("node names %v, want three distinct", names)
	}
	// Two Chancery replicas of one image, each given every node, started
	// once every node is healthy.
	images := map[string]bool{}
	for _, svc := range []string{"chancery-a", "chancery-b"} {
		s := compose.Services[svc]
		u := s.Environment["CHANCERY_NATS_URL"]
		for _, node := range []string{"nats1", "nats2", "nats3"} {
			if !strings.Contains(u, "nats://"+node+":4222") {
				t.Errorf("%s: CHANCERY_NATS_URL %q lacks %s", svc, u, node)
			}
			if c := s.DependsOn[node].Condition; c != "service_healthy" {
				t.Errorf("%s: depends on %s with condition %q, want service_healthy", svc, node, c)
			}
		}
		if s.Image == "" || s.Build == nil {
			t.Errorf("%s: image %q, build %v; want both, so that the replicas share one built image", svc, s.Image, s.Build)
		}
		images[s.Image] = true
	}
	if len(images) != 1 {
		t.Errorf("the replicas run images %v, want one", images)
	}
	// No default password: every use of NATS_PASSWORD makes compose refuse
	// to start without it.
	uses := regexp.MustCompile(`\$\{NATS_PASSWORD([^}]*)\}`).FindAllStringSubmatch(string(raw), -1)
	if len(uses) < 4 {
		t.Errorf("NATS_PASSWORD used %d times, want in each node and the replicas", len(uses))
	}
	for _, u := range uses {
		if !strings.HasPrefix(u[1], ":?") {
			t.Errorf("${NATS_PASSWORD%s} does not require the variable (want ${NATS_PASSWORD:?...})", u[1])
		}
	}
	if strings.Contains(string(raw), "change-me") {
		t.Error("compose.yaml still names a default password")
	}
}

// dependsOn is a service's depends_on, long form (service: {condition: …})
// or short (a list of services, which waits for nothing but their start).
type dependsOn map[string]struct {
	Condition string `yaml:"condition"`
}

func (d *dependsOn) UnmarshalYAML(n *yaml.Node) error {
	var short []string
	if n.Decode(&short) == nil {
		*d = dependsOn{}
		for _, s := range short {
			(*d)[s] = struct {
				Condition string `yaml:"condition"`
			}{"service_started"}
		}
		return nil
	}
	return n.Decode((*map[string]struct {
		Condition string `yaml:"condition"`
	})(d))
}

// natsServerVersion is the nats-server version in go.mod, the one the tests run.
func natsServerVersion(t *testing.T) string {
	t.Helper()
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*github\.com/nats-io/nats-server/v2 (v\S+)`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod does not require nats-server")
	}
	return string(m[1])
}

// The build context leaves out the history and a local data directory,
// which holds the API token and the event store.
func TestDockerignoreKeepsSecretsOutOfTheImage(t *testing.T) {
	raw, err := os.ReadFile("../../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(string(raw), "\n") {
		lines[strings.TrimSpace(l)] = true
	}
	for _, want := range []string{".git", "data"} {
		if !lines[want] {
			t.Errorf(".dockerignore lacks %q", want)
		}
	}
}

// A bad flag, a missing argument or an unknown command is one line naming
// it (main prints the error), with nothing else on stderr; --help prints
// the usage.
func TestCLIErrorsAreOneLine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--bogus"}, "-bogus"},
		{[]string{"replay", "--out", "x.db", "--bogus"}, "-bogus"},
		{[]string{"audit", "log", "--bogus"}, "-bogus"},
		{[]string{"audit", "verify", "--bogus"}, "-bogus"},
		{[]string{"audit", "check-export"}, "check-export FILE"},
		{[]string{"export", "--bogus"}, "-bogus"},
		{[]string{"import-events", "trail.ndjson", "--bogus"}, "-bogus"},
		{[]string{"config", "check"}, "config check FILE"},
		{[]string{"config", "--bogus"}, "-bogus"},
		{[]string{"launch"}, `"launch"`},
	} {
		var out, errb bytes.Buffer
		err := run(context.Background(), tc.args, func(string) string { return "" }, strings.NewReader(""), &out, &errb)
		if exitCode(err) != 2 || err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("chancery %v: exit %d, error %q; want exit 2 and one line naming %s", tc.args, exitCode(err), err, tc.want)
		}
		if errb.Len() > 0 || out.Len() > 0 {
			t.Errorf("chancery %v also printed %q and %q; want only the error line", tc.args, out.String(), errb.String())
		}
	}
	var errb bytes.Buffer
	if err := run(context.Background(), []string{"serve", "--help"}, func(string) string { return "" }, nil, &bytes.Buffer{}, &errb); exitCode(err) != 0 || !strings.Contains(errb.String(), "Usage: chancery serve") {
		t.Errorf("serve --help: exit %d, stderr %q; want the usage", exitCode(err), errb.String())
	}
}
