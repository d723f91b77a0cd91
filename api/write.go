package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/chancery/chancery/events"
)

func (s *Server) createMeeting(w http.ResponseWriter, r *http.Request, t Token) {
	s.write(w, r, t, meetings, "", meetings.create())
}

func (s *Server) createVisit(w http.ResponseWriter, r *http.Request, t Token) {
	s.write(w, r, t, visits, "", visits.create())
}

func (s *Server) meetingCommand(w http.ResponseWriter, r *http.Request, t Token) {
	s.command(w, r, t, meetings)
}

func (s *Server) visitCommand(w http.ResponseWriter, r *http.Request, t Token) {
	s.command(w, r, t, visits)
}

func (s *Server) command(w http.ResponseWriter, r *http.Request, t Token, k *kind) {
	id, err := k.pathID(r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	newCmd, ok := k.commands[r.PathValue("command")]
	if !ok {
		writeProblem(w, http.StatusNotFound, "no command "+strconv.Quote(r.PathValue("command"))+" on "+k.plural)
		return
	}
	s.write(w, r, t, k, id, newCmd())
}

// Idempotency claims older than this are taken to belong to a request
// whose process died, and are taken over by the retry.
const staleClaim = 15 * time.Second

// write decodes a command, executes it and answers with the resource. An
// empty id means the command creates a new aggregate.
func (s *Server) write(w http.ResponseWriter, r *http.Request, t Token, k *kind, id string, cmd any) {
	ctx := r.Context()
	create := id == ""
	body, err := readBody(r)
	if err == nil {
		err = decodeStrict(body, cmd)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ifMatch, err := parseIfMatch(r.Header.Get("If-Match"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if create {
		id = k.newID(time.Now())
	}
	// A create's id was minted here: there is nothing to load. (Not so when
	// an idempotent retry takes over the id of an attempt that died.)
	meta := events.Meta{Actor: t.Name, IfMatch: ifMatch, CorrelationID: requestID(r), Fresh: create}

	key := r.Header.Get("Idempotency-Key")
	var idemKey string
	var fp string
	if key != "" {
		if len(key) > 255 || strings.IndexFunc(key, func(r rune) bool { return r > unicode.MaxASCII || !unicode.IsPrint(r) }) >= 0 {
			s.writeError(w, r, invalid("Idempotency-Key", "must be 1 to 255 printable ASCII characters"))
			return
		}
		idemKey = events.IdempotencyKey(t.Name, key)
		sum := sha256.Sum256([]byte(r.Method + " " + r.URL.Path + "\n" + r.Header.Get("If-Match") + "\n" + string(body)))
		fp = hex.EncodeToString(sum[:])
		done, ownedID, err := s.claim(ctx, idemKey, fp, id)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if done != nil {
			s.replay(w, r, k, done)
			return
		}
		meta.Fresh = create && ownedID == id
		id = ownedID
		meta.MsgID = idemKey
	}

	agg, res, err := k.execute(ctx, s.log, id, cmd, meta)
	if err != nil {
		if idemKey != "" {
			// Nothing was recorded: free the key so a corrected retry can run.
			s.idem.Release(context.WithoutCancel(ctx), idemKey)
		}
		s.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if create {
		status = http.StatusCreated
	}
	if idemKey != "" {
		rec := events.IdempotencyRecord{Fingerprint: fp, AggregateID: res.Events[0].AggregateID, Status: status, Version: res.Version, Position: res.Position, StartedAt: time.Now()}
		if err := s.idem.Complete(context.WithoutCancel(ctx), idemKey, rec); err != nil {
			// The event is stored: answer it. A retry will find the event
			// by its Nats-Msg-Id in the aggregate's history.
			s.logger.Warn("idempotency record not saved", "key", idemKey, "err", err)
		}
	}
	s.respondWrite(w, k, status, res.Events[0].AggregateID, res.Version, res.Position, agg)
}

// claim takes an idempotency key for this request. It returns the record of
// an earlier request that finished (to replay), or the aggregate id this
// request must use: its own, or that of an earlier attempt that died.
func (s *Server) claim(ctx context.Context, key, fp, id string) (*events.IdempotencyRecord, string, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		prev, rev, err := s.idem.Claim(ctx, key, events.IdempotencyRecord{Fingerprint: fp, AggregateID: id, StartedAt: time.Now()})
		switch {
		case err != nil:
			return nil, "", err
		case prev == nil:
			return nil, id, nil
		case prev.Fingerprint != fp:
			return nil, "", events.Errorf(events.EIDEMPOTENCY, "Idempotency-Key was already used for a different request")
		case prev.Status != 0:
			return prev, "", nil
		case time.Since(prev.StartedAt) > staleClaim:
			rec := *prev
			rec.StartedAt = time.Now()
			if err := s.idem.TakeOver(ctx, key, rev, rec); err == nil {
				return nil, rec.AggregateID, nil
			}
			continue
		case time.Now().After(deadline):
			return nil, "", events.Errorf(events.ECONFLICT, "a request with this Idempotency-Key is still in progress; retry later")
		}
		select {
		case <-ctx.Done():
			return nil, "", ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// replay answers a retried request with what the first one answered: the
// resource as it stood at the version that request produced.
func (s *Server) replay(w http.ResponseWriter, r *http.Request, k *kind, rec *events.IdempotencyRecord) {
	agg, version, err := k.fold(r.Context(), s.log, rec.AggregateID, func(e events.Envelope) bool { return e.Version <= rec.Version })
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if version == 0 {
		writeProblem(w, http.StatusNotFound, k.aggType+" "+rec.AggregateID+" not found")
		return
	}
	w.Header().Set("Idempotent-Replayed", "true")
	s.respondWrite(w, k, rec.Status, rec.AggregateID, version, rec.Position, agg)
}

func (s *Server) respondWrite(w http.ResponseWriter, k *kind, status int, id string, version int, pos uint64, body any) {
	h := w.Header()
	h.Set("Chancery-Position", strconv.FormatUint(pos, 10))
	h.Set("ETag", strconv.Quote(strconv.Itoa(version)))
	h.Set("Cache-Control", "no-store")
	if status == http.StatusCreated {
		h.Set("Location", "/api/v1/"+k.plural+"/"+id)
	}
	writeJSON(w, status, body)
}

// requestID returns the caller's X-Request-Id if it is a sane token.
func requestID(r *http.Request) string {
	v := r.Header.Get("X-Request-Id")
	if len(v) > 128 || strings.IndexFunc(v, func(r rune) bool { return r > unicode.MaxASCII || !unicode.IsPrint(r) }) >= 0 {
		return ""
	}
	return v
}
