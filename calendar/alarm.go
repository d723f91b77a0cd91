package calendar

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// Alarm is a VALARM trigger relative to an event's start, as an RFC 5545
// DURATION such as -PT1H (an hour before) or -P1D.
type Alarm struct {
	Trigger string
}

var durationPattern = regexp.MustCompile(`^([+-]?)P(?:(\d{1,3})W|(?:(\d{1,3})D)?(?:T(?:(\d{1,4})H)?(?:(\d{1,5})M)?(?:(\d{1,6})S)?)?)$`)

// MaxAlarms bounds the alarms one feed URL may ask for.
const MaxAlarms = 5

// ParseAlarm validates a trigger duration of at most four weeks either way.
func ParseAlarm(s string) (Alarm, error) {
	m := durationPattern.FindStringSubmatch(s)
	if m == nil || s == "P" || s == "-P" || s == "+P" || (len(s) > 0 && s[len(s)-1] == 'T') {
		return Alarm{}, fmt.Errorf("%q is not an RFC 5545 duration such as -PT1H or -P1D", s)
	}
	var d time.Duration
	units := []time.Duration{7 * 24 * time.Hour, 24 * time.Hour, time.Hour, time.Minute, time.Second}
	for i, u := range units {
		if m[i+2] != "" {
			n, _ := strconv.Atoi(m[i+2])
			d += time.Duration(n) * u
		}
	}
	if d > 28*24*time.Hour {
		return Alarm{}, fmt.Errorf("%q is more than four weeks", s)
	}
	return Alarm{Trigger: s}, nil
}
