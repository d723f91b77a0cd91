package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

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

func runConfig(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, "Usage: chancery config check FILE") }
	if err := parseQuietly(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return usagef("%v", err)
	}
	if fs.NArg() != 2 || fs.Arg(0) != "check" {
		return usagef("usage: chancery config check FILE")
	}
	if _, err := loadConfig(fs.Arg(1), getenv); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok\n", fs.Arg(1))
	return nil
}
