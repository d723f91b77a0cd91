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
	"github.com/chancery/chancery/projections"
)

// create makes the handler of POST /api/v1/{meetings,visits}: a new
// aggregate of et.
func (s *Server) create(et *engagementType) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.write(w, r, et, "", et.create())
	})
}

// command makes the handler of one command on an aggregate of et.
func (s *Server) command(et *engagementType, name string) http.Handler {
	newCmd := et.commands[name]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := et.pathID(r.PathValue("id"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.write(w, r, et, id, newCmd())
	})
}

// DefaultWriteTimeout bounds one command's load, decide and append: long
// enough to wait through a stream leader election (5 to 8 s).
const DefaultWriteTimeout = 10 * time.Second

// staleClaimMargin is how much longer than the write timeout an
// idempotency claim must be before it is taken to belong to a request
// whose process died, and is taken over by a retry: a live request's claim
// is never taken.
const staleClaimMargin = 5 * time.Second

// refusedBeforeAppend reports whether err says for certain that the command
// stored nothing: it was refused by validation, by the aggregate, or by the
// stream's concurrency guard.
func refusedBeforeAppend(err error) bool {
	switch events.ErrorCode(err) {
	case events.EINVALID, events.ENOTFOUND, events.EPRECONDITION, events.ETRANSITION, events.EUNCHANGED, events.ECONFLICT:
		return true
	}
	return false
}

// write decodes a command, executes it and answers with the resource. An
// empty id means the command creates a new aggregate.
func (s *Server) write(w http.ResponseWriter, r *http.Request, et *engagementType, id string, cmd any) {
	ctx, t := r.Context(), s.callerOf(r).token
	if err := s.writable(); err != nil {
		s.writeError(w, r, err)
		return
	}
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
		id = et.newID(time.Now())
	}
	// A create's id was minted here: there is nothing to load. (Not so when
	// an idempotent retry takes over the id of an attempt that died.)
	meta := events.Meta{Actor: t.Name, IfMatch: ifMatch, CorrelationID: requestID(r), Fresh: create}

	key := r.Header.Get("Idempotency-Key")
	var idemKey, fp string
	var claimRev uint64
	var claimRec events.IdempotencyRecord
	if key != "" {
		if len(key) > 255 || strings.IndexFunc(key, func(r rune) bool { return r > unicode.MaxASCII || !unicode.IsPrint(r) }) >= 0 {
			s.writeError(w, r, invalid("Idempotency-Key", "must be 1 to 255 printable ASCII characters"))
			return
		}
		idemKey = events.IdempotencyKey(t.Name, key)
		sum := sha256.Sum256([]byte(r.Method + " " + r.URL.Path + "\n" + r.Header.Get("If-Match") + "\n" + string(body)))
		fp = hex.EncodeToString(sum[:])
		done, ownedID, rev, err := s.claim(ctx, et, idemKey, fp, id, create)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if done != nil {
			s.replay(w, r, et, done)
			return
		}
		meta.Fresh = create && ownedID == id
		id = ownedID
		meta.MsgID = idemKey
		claimRev = rev
		claimRec = events.IdempotencyRecord{Fingerprint: fp, AggregateID: id}
	}

	// A client that hangs up does not stop a write half way: the event may
	// be stored by then, and the idempotency record must say so.
	ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.writeTimeout)
	defer cancel()
	agg, res, err := et.execute(ectx, s.log, id, cmd, meta)
	if err != nil {
		if idemKey != "" {
			// The write's own deadline may be spent: give the bookkeeping
			// a moment of its own.
			bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), events.AppendAttemptTimeout)
			defer cancel()
			if refusedBeforeAppend(err) {
				// Nothing was recorded: free the key so a corrected retry
				// can run.
				if err := s.idem.Release(bctx, idemKey, claimRev); err != nil {
					s.logger.Warn("idempotency key not released", "key", idemKey, "err", err)
				}
			} else if err := s.idem.Abandon(bctx, idemKey, claimRev, claimRec); err != nil {
				// Any other error (an election, a timeout) may have come
				// after the event was stored. The claim says so, and a
				// retry takes it over at once and finds the event by its
				// Nats-Msg-Id. (Not written, the claim is taken over once
				// it is stale.)
				s.logger.Warn("idempotency claim not marked abandoned", "key", idemKey, "err", err)
			}
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
		if err := s.idem.Complete(ectx, idemKey, rec); err != nil {
			// The event is stored: answer it. A retry will find the event
			// by its Nats-Msg-Id in the aggregate's history.
			s.logger.Warn("idempotency record not saved", "key", idemKey, "err", err)
		}
	}
	s.respondWrite(w, et, status, res.Events[0].AggregateID, res.Version, res.Position, agg)
}

// claimWait is how long a retry waits for an earlier request with the same
// key that is still running, before it answers 409 with Retry-After.
const claimWait = 2 * time.Second

// claim takes an idempotency key for this request. It returns the record of
// an earlier request that finished (to replay), or the aggregate id this
// request must use: its own, or that of an earlier attempt that died.
// The revision returned is that of this request's claim.
func (s *Server) claim(ctx context.Context, et *engagementType, key, fp, id string, create bool) (*events.IdempotencyRecord, string, uint64, error) {
	deadline := time.Now().Add(claimWait)
	for {
		prev, rev, err := s.idem.Claim(ctx, key, events.IdempotencyRecord{Fingerprint: fp, AggregateID: id, StartedAt: time.Now()})
		switch {
		case err != nil:
			return nil, "", 0, err
		case prev == nil:
			return nil, id, rev, nil
		case prev.Fingerprint != fp:
			return nil, "", 0, events.Errorf(events.EIDEMPOTENCY, "Idempotency-Key was already used for a different request")
		case prev.Status != 0:
			return prev, "", 0, nil
		case prev.Unknown || time.Since(prev.StartedAt) > s.writeTimeout+staleClaimMargin:
			rec := *prev
			rec.StartedAt, rec.Unknown = time.Now(), false
			if newRev, err := s.idem.TakeOver(ctx, key, rev, rec); err == nil {
				return nil, rec.AggregateID, newRev, nil
			}
			continue
		case time.Now().After(deadline):
			// The earlier request may have stored its event and be about
			// to answer: if so, this one answers the same.
			if done, err := s.storedWithKey(ctx, et, key, prev.AggregateID, create); err != nil || done != nil {
				return done, "", 0, err
			}
			return nil, "", 0, events.Errorf(events.ECONFLICT, "a request with this Idempotency-Key is still in progress; retry later")
		}
		select {
		case <-ctx.Done():
			return nil, "", 0, ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// storedWithKey looks for the event that a request with key stored on
// aggregate id, and returns the record that request would have written.
func (s *Server) storedWithKey(ctx context.Context, et *engagementType, key, id string, create bool) (*events.IdempotencyRecord, error) {
	last, ok, err := s.log.FindMsgID(ctx, et.aggType, id, key)
	if err != nil || !ok {
		return nil, err
	}
	status := http.StatusOK
	if create {
		status = http.StatusCreated
	}
	return &events.IdempotencyRecord{AggregateID: id, Status: status, Version: last.Version, Position: last.Seq}, nil
}

// replay answers a retried request with what the first one answered: the
// resource as it stood at the version that request produced.
func (s *Server) replay(w http.ResponseWriter, r *http.Request, et *engagementType, rec *events.IdempotencyRecord) {
	agg, err := et.foldVersion(r.Context(), s.log, rec.AggregateID, rec.Version)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Idempotent-Replayed", "true")
	s.respondWrite(w, et, rec.Status, rec.AggregateID, rec.Version, rec.Position, agg)
}

func (s *Server) respondWrite(w http.ResponseWriter, et *engagementType, status int, id string, version int, pos uint64, body any) {
	h := w.Header()
	h.Set("Chancery-Position", strconv.FormatUint(pos, 10))
	h.Set("ETag", strconv.Quote(strconv.Itoa(version)))
	h.Set("Cache-Control", "no-store")
	if status == http.StatusCreated {
		h.Set("Location", projections.Path(et.aggType, id))
	}
	writeJSON(w, status, body)
}
