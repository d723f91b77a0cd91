package fleet

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// Receiver is the subscriber's webhook endpoint: it accepts every alert
// and counts deliveries by webhook-id (the alert id, the same on every
// retry), remembering which engagement version each alert was about.
type Receiver struct {
	URL string

	srv *http.Server
	mu  sync.Mutex
	got map[string]*Delivery
}

// Delivery is what the receiver saw of one alert id.
type Delivery struct {
	ID        string
	Aggregate string
	Version   int
	Count     int
	First     time.Time
}

// StartReceiver listens on host (a free port) until the fleet closes.
func (f *Fleet) StartReceiver(host string) (*Receiver, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, err
	}
	r := &Receiver{URL: "http://" + l.Addr().String() + "/alerts", got: map[string]*Delivery{}}
	r.srv = &http.Server{Handler: http.HandlerFunc(r.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = r.srv.Serve(l) }()
	f.onClose(func() { _ = r.srv.Close() })
	return r, nil
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	id := req.Header.Get("webhook-id")
	if err != nil || id == "" {
		http.Error(w, "no webhook-id", http.StatusBadRequest)
		return
	}
	// The Standard Webhooks envelope; a change alert's data carries the
	// engagement as it stood after the change.
	var payload struct {
		Data struct {
			Engagement struct {
				ID      string `json:"id"`
				Version int    `json:"version"`
			} `json:"engagement"`
		} `json:"data"`
	}
	_ = json.Unmarshal(body, &payload)
	r.mu.Lock()
	d := r.got[id]
	if d == nil {
		d = &Delivery{ID: id, Aggregate: payload.Data.Engagement.ID, Version: payload.Data.Engagement.Version, First: time.Now()}
		r.got[id] = d
	}
	d.Count++
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// Deliveries returns a copy of what was received so far.
func (r *Receiver) Deliveries() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Delivery, 0, len(r.got))
	for _, d := range r.got {
		out = append(out, *d)
	}
	return out
}
