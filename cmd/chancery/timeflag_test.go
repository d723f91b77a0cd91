package main

import (
	"testing"
	"time"
)

// --until-time 2022-08-20 takes the date as audit log --since does: a
// whole UTC day, up to its last instant for an end.
func TestTimeFlagsTakeADateOrAnRFC3339Time(t *testing.T) {
	for _, tc := range []struct {
		v        string
		endOfDay bool
		want     time.Time
	}{
		{"2022-08-20", false, time.Date(2022, 8, 20, 0, 0, 0, 0, time.UTC)},
		{"2022-08-20", true, time.Date(2022, 8, 20, 23, 59, 59, 999999999, time.UTC)},
		{"2022-08-20T12:00:00+02:00", true, time.Date(2022, 8, 20, 10, 0, 0, 0, time.UTC)},
	} {
		got, err := parseTimeFlag("--until-time", tc.v, tc.endOfDay)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("%q (end of day %v) = %v, %v; want %v", tc.v, tc.endOfDay, got, err, tc.want)
		}
	}
	if _, err := parseTimeFlag("--until-time", "20 August", true); exitCode(err) != 2 {
		t.Errorf("a bad time: %v; want a usage error", err)
	}
}
