package main

import "time"

// parseTimeFlag reads the value of a flag that takes a time: an RFC 3339
// time, or a date (a whole UTC day: its start, or with endOfDay its last
// instant). Every such flag takes the same forms; empty is the zero time.
func parseTimeFlag(name, v string, endOfDay bool) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	d, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, usagef("%s: %q is neither an RFC 3339 time (2022-08-20T12:00:00Z) nor a date (2022-08-20)", name, v)
	}
	if endOfDay {
		d = d.AddDate(0, 0, 1).Add(-time.Nanosecond)
	}
	return d, nil
}
