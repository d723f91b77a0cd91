package calendar

import (
	"container/list"
	"sync"
	"time"
)

// rendered is one feed as served: both encodings, ready to write.
type rendered struct {
	key      string
	body     []byte
	gzipped  []byte
	etag     string // strong: a hash of body
	modified time.Time
}

func (r *rendered) size() int { return len(r.body) + len(r.gzipped) + len(r.key) }

// cache keeps rendered feeds by (query, read-model position, day), least
// recently used first out, bounded in bytes. Concurrent misses for one key
// render once: a thousand subscribers polling one feed cost one render.
type cache struct {
	mu       sync.Mutex
	max      int
	used     int
	order    *list.List // of *rendered, most recent at the front
	entries  map[string]*list.Element
	inflight map[string]*call
}

type call struct {
	done chan struct{}
	val  *rendered
	err  error
}

func newCache(maxBytes int) *cache {
	return &cache{max: maxBytes, order: list.New(), entries: map[string]*list.Element{}, inflight: map[string]*call{}}
}

// get returns the cached feed for key, rendering it with fill on a miss.
func (c *cache) get(key string, fill func() (*rendered, error)) (*rendered, bool, error) {
	c.mu.Lock()
	if el, ok := c.entries[key]; ok {
		c.order.MoveToFront(el)
		c.mu.Unlock()
		return el.Value.(*rendered), true, nil
	}
	if cl, ok := c.inflight[key]; ok {
		c.mu.Unlock()
		<-cl.done
		return cl.val, true, cl.err
	}
	cl := &call{done: make(chan struct{})}
	c.inflight[key] = cl
	c.mu.Unlock()

	cl.val, cl.err = fill()
	if cl.err == nil {
		cl.val.key = key
	}
	c.mu.Lock()
	delete(c.inflight, key)
	if cl.err == nil {
		c.add(cl.val)
	}
	c.mu.Unlock()
	close(cl.done)
	return cl.val, false, cl.err
}

func (c *cache) add(r *rendered) {
	if r.size() > c.max {
		return
	}
	c.entries[r.key] = c.order.PushFront(r)
	c.used += r.size()
	for c.used > c.max {
		last := c.order.Back()
		old := last.Value.(*rendered)
		c.order.Remove(last)
		delete(c.entries, old.key)
		c.used -= old.size()
	}
}
