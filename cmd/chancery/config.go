package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/chancery/chancery/internal/config"
)

// loadConfig reads the config file; whatever is wrong with it is bad
// input (exit code 2).
func loadConfig(path string, getenv func(string) string) (*config.Config, error) {
	cfg, err := config.Load(path, getenv)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return cfg, nil
}

const configUsage = `Usage: chancery config check FILE

Checks a config file without starting: every key, value and ${ENV}
reference, as serve reads it. Prints "FILE: ok" and exits 0, with a
"warning:" line on stderr for what is allowed but likely a mistake; a
problem is one line naming FILE:LINE and the key, and exit code 2.`

func runConfig(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("config check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, configUsage) }
	switch {
	case len(args) > 0 && args[0] == "check":
		args = args[1:]
	case len(args) > 0 && strings.HasPrefix(args[0], "-"):
		// --help, or a flag that parsing names, before the subcommand
	default:
		return usagef("usage: chancery config check FILE")
	}
	path, err := parseOneArg(fs, args, "chancery config check FILE")
	if err != nil {
		return err
	}
	cfg, err := loadConfig(path, getenv)
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintln(stderr, "warning: "+w)
	}
	fmt.Fprintf(stdout, "%s: ok\n", path)
	return nil
}
