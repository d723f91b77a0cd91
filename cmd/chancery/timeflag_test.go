package main

import (
	"flag"
	"strings"
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

// export and replay read --until-seq and --until-time alike: one or the
// other, a date up to its last instant, and the tool named in the errors.
func TestUntilFlagsTakeASequenceOrATimeNotBoth(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		seq     uint64
		at      time.Time
		wantErr string
	}{
		{nil, 0, time.Time{}, ""},
		{[]string{"--until-seq", "7"}, 7, time.Time{}, ""},
		{[]string{"--until-time", "2022-08-20"}, 0, time.Date(2022, 8, 20, 23, 59, 59, 999999999, time.UTC), ""},
		{[]string{"--until-seq", "7", "--until-time", "2022-08-20"}, 0, time.Time{}, "replay: give --until-seq or --until-time, not both"},
		{[]string{"--until-time", "yesterday"}, 0, time.Time{}, `replay: --until-time: "yesterday" is neither`},
	} {
		fs := flag.NewFlagSet("replay", flag.ContinueOnError)
		until := untilFlags(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		seq, at, err := until()
		if seq != tc.seq || !at.Equal(tc.at) || (err == nil) != (tc.wantErr == "") ||
			err != nil && (exitCode(err) != 2 || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%v: %d, %v, %v; want %d, %v, a usage error %q", tc.args, seq, at, err, tc.seq, tc.at, tc.wantErr)
		}
	}
}
