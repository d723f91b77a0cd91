package main

import (
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
