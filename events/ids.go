package events

import (
	"crypto/rand"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// Id prefixes tell a meeting from a visit at a glance and in a path.
const (
	meetingPrefix = "mtg_"
	visitPrefix   = "vis_"
	eventPrefix   = "evt_"
)

// An id is a prefix and a lowercase ULID: sortable by creation time, and made
// only of characters that are safe in a NATS subject token, a URL and SQL:
// ^(mtg|vis|evt)_[0-9a-hjkmnp-tv-z]{26}$ (validID checks it by hand, as
// every command does; FuzzValidID holds it to the expression).
const idExpr = `^(mtg|vis|evt)_[0-9a-hjkmnp-tv-z]{26}$`

// ulidChar marks the characters of a lowercase ULID (Crockford's base 32).
var ulidChar = func() (t [256]bool) {
	for _, c := range "0123456789abcdefghjkmnpqrstvwxyz" {
		t[c] = true
	}
	return t
}()

func validID(id string) bool {
	if len(id) != 30 {
		return false
	}
	switch id[:4] {
	case meetingPrefix, visitPrefix, eventPrefix:
	default:
		return false
	}
	for i := 4; i < len(id); i++ {
		if !ulidChar[id[i]] {
			return false
		}
	}
	return true
}

var (
	entropyMu sync.Mutex
	entropy   = ulid.Monotonic(rand.Reader, 0)
)

func newID(prefix string, now time.Time) string {
	entropyMu.Lock()
	id := ulid.MustNew(ulid.Timestamp(now), entropy)
	entropyMu.Unlock()
	return prefix + strings.ToLower(id.String())
}

// NewMeetingID returns a fresh meeting id.
func NewMeetingID(now time.Time) string { return newID(meetingPrefix, now) }

// NewVisitID returns a fresh visit id.
func NewVisitID(now time.Time) string { return newID(visitPrefix, now) }

// AggregateTypeOf returns the aggregate type an id belongs to, or "" when the
// string is not a well-formed meeting or visit id. Nothing that fails this
// check ever reaches a NATS subject or an SQL statement.
func AggregateTypeOf(id string) string {
	if !validID(id) {
		return ""
	}
	switch id[:4] {
	case meetingPrefix:
		return MeetingAggregate
	case visitPrefix:
		return VisitAggregate
	}
	return ""
}
