package main

import (
	"flag"
	"time"

	"github.com/chancery/chancery/audit"
)

// parseTimeFlag reads the value of a flag that takes a time: an RFC 3339
// time, or a date (a whole UTC day: its start, or with endOfDay its last
// instant), as audit.ParseTime reads them; empty is the zero time.
func parseTimeFlag(name, v string, endOfDay bool) (time.Time, error) {
	t, ok := audit.ParseTime(v, endOfDay)
	if !ok {
		return time.Time{}, usagef("%s: %q is neither an RFC 3339 time (2022-08-20T12:00:00Z) nor a date (2022-08-20)", name, v)
	}
	return t, nil
}

// untilFlags adds --until-seq and --until-time to the flags of a tool named
// for what it does with the events (export, replay). What it returns reads
// them once parsed: a stream sequence, or a time (a date's last instant),
// or neither (zero); both at once is a usage error.
func untilFlags(fs *flag.FlagSet) func() (uint64, time.Time, error) {
	seq := fs.Uint64("until-seq", 0, fs.Name()+" the events up to and including this stream sequence (default: all)")
	at := fs.String("until-time", "", fs.Name()+" the events recorded at or before this time: RFC 3339, or a date (its whole UTC day)")
	return func() (uint64, time.Time, error) {
		if *at == "" {
			return *seq, time.Time{}, nil
		}
		if *seq > 0 {
			return 0, time.Time{}, usagef("%s: give --until-seq or --until-time, not both", fs.Name())
		}
		t, err := parseTimeFlag(fs.Name()+": --until-time", *at, true)
		return 0, t, err
	}
}
