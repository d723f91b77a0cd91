package notifier

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// ParseDaily parses a standard five-field cron spec to run on the wall
// clock of loc. robfig/cron evaluates specs in a zone by itself, but it
// skips a time the clock jumps over (a 02:30 job does not run on the day
// summer time starts) and runs a repeated time twice (on the day it ends).
// This schedule runs a skipped time at the instant the clock jumps, and a
// repeated time once, at its first occurrence.
func ParseDaily(spec string, loc *time.Location) (cron.Schedule, error) {
	if strings.HasPrefix(strings.TrimSpace(spec), "CRON_TZ=") || strings.HasPrefix(strings.TrimSpace(spec), "TZ=") {
		return nil, fmt.Errorf("%q: leave the zone out; it is the subscriber's timezone", spec)
	}
	if strings.HasPrefix(strings.TrimSpace(spec), "@every") {
		return nil, fmt.Errorf("%q: a digest runs at times of day, not @every", spec)
	}
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", spec, err)
	}
	return wallSchedule{spec: s, loc: loc}, nil
}

// wallSchedule evaluates spec on wall-clock readings (as UTC, which has no
// DST), then finds the instant loc's clock shows the reading.
type wallSchedule struct {
	spec cron.Schedule
	loc  *time.Location
}

func (s wallSchedule) Next(t time.Time) time.Time {
	l := t.In(s.loc)
	wall := time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
	for range 1000 { // a reading that falls before t (the second pass of a repeated hour) is passed over
		wall = s.spec.Next(wall)
		if wall.IsZero() {
			return wall
		}
		at := localTime(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), s.loc)
		if at.After(t) {
			return at
		}
	}
	return time.Time{}
}
