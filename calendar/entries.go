package calendar

import (
	"errors"
	"strings"
	"sync"

	"github.com/chancery/chancery/projections"
)

// entryCache keeps each engagement's decoded entry and rendered VEVENT
// between renders, keyed by the engagement's id and the stream sequence of
// its last change: after a write, re-rendering a feed of thousands of
// events decodes and encodes only what changed.
type entryCache struct {
	mu      sync.Mutex
	entries map[string]*cachedEntry
	gen     uint64 // renders so far
}

type cachedEntry struct {
	seq    uint64
	e      entry
	events map[string][]byte // VEVENT bytes by the options that shape them
	used   uint64            // the render that last used it
}

// maxEntryRenders is how many option sets (base URL, alarms) one entry
// keeps rendered.
const maxEntryRenders = 4

// entryIdle is how many renders an entry may go unused before it is
// dropped, once the cache holds more than entryKeep entries.
const (
	entryIdle = 64
	entryKeep = 50000
)

// lacks reports whether the cache does not hold the engagement as of seq,
// so its document must be read.
func (c *entryCache) lacks(id string, seq uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ce, ok := c.entries[id]
	return !ok || ce.seq != seq || seq == 0
}

// render encodes items, reusing what earlier renders decoded and encoded.
func (c *entryCache) render(items []projections.Item, opts Options) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]*cachedEntry{}
	}
	c.gen++
	// Which items the cache lacks; those are decoded, on every core.
	ces := make([]*cachedEntry, len(items))
	var misses []int
	for i, it := range items {
		ce := c.entries[it.ID]
		if ce == nil || ce.seq != it.Seq || it.ID == "" || it.Seq == 0 {
			if it.Engagement == nil {
				// Dropped from the cache since the read: read it again.
				return nil, errEvicted
			}
			misses = append(misses, i)
			continue
		}
		ces[i] = ce
	}
	parallel(len(misses), func(k int) {
		it := items[misses[k]]
		ces[misses[k]] = &cachedEntry{seq: it.Seq, e: entryOf(it.Engagement), events: map[string][]byte{}}
	})
	for _, i := range misses {
		if it := items[i]; it.ID != "" && it.Seq != 0 {
			c.entries[it.ID] = ces[i]
		}
	}
	entries := make([]entry, len(items))
	for i, ce := range ces {
		ce.used = c.gen
		entries[i] = ce.e
	}
	opts = withDefaults(opts)
	key := eventKey(opts)
	// VEVENTs not rendered with these options before, also on every core.
	evs := make([][]byte, len(items))
	parallel(len(items), func(i int) {
		if ev, ok := ces[i].events[key]; ok {
			evs[i] = ev
			return
		}
		evs[i] = appendEvent(nil, entries[i], opts)
	})
	for i, ce := range ces {
		if _, ok := ce.events[key]; !ok {
			if len(ce.events) >= maxEntryRenders {
				clear(ce.events)
			}
			ce.events[key] = evs[i]
		}
	}
	b := encode(entries, opts, func(i int) []byte { return evs[i] })
	if len(c.entries) > entryKeep {
		for id, ce := range c.entries {
			if c.gen-ce.used > entryIdle {
				delete(c.entries, id)
			}
		}
	}
	return b, nil
}

// eventKey is every option that shapes a VEVENT's bytes.
func eventKey(opts Options) string {
	var b strings.Builder
	b.WriteString(opts.UIDHost + "\\x00" + opts.BaseURL + "\\x00" + opts.Organizer + "\\x00" + opts.Attendee)
	for _, a := range opts.Alarms {
		b.WriteString("\\x00" + a.Trigger)
	}
	return b.String()
}

// errEvicted reports an item read without its document because the cache
// had it, which the cache dropped before the render.
var errEvicted = errors.New("calendar: entry evicted during a render")
