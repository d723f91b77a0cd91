package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/internal/query"
	"github.com/chancery/chancery/projections"
)

// awaitPosition honours ?min_position=N: it waits, for a bounded time, until
// the read model has applied stream sequence N, so a client reads its own
// writes.
func (s *Server) awaitPosition(r *http.Request) error {
	n, ok, err := minPosition(r)
	if err != nil || !ok {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.wait)
	defer cancel()
	if err := s.projector.WaitFor(ctx, n); err != nil {
		if r.Context().Err() != nil {
			return err // the client left
		}
		// Not there in time, or the projector is failing and retrying:
		// either way the client should come back shortly.
		return events.Errorf(events.ENOTCAUGHTUP, "the read model is at position %d and did not reach %d in time; retry shortly", s.projector.Position(), n)
	}
	return nil
}

// minPosition parses ?min_position. Reads answered from the stream itself
// (history, the event log, as_of) check it and have nothing to wait for.
func minPosition(r *http.Request) (n uint64, ok bool, err error) {
	v := r.URL.Query().Get("min_position")
	if v == "" {
		return 0, false, nil
	}
	n, err = strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, false, invalid("min_position", "must be a stream position (a non-negative integer)")
	}
	return n, true, nil
}

// listEngagements makes the handler of GET /api/v1/{meetings,visits}.
func (s *Server) listEngagements(et *engagementType) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := et.parseQuery(r)
		if err == nil {
			err = s.awaitPosition(r)
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		db := s.db
		bound, past, err := pastBound(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if past && s.snapshots == nil {
			given := pastParams[0]
			if !r.URL.Query().Has(given) {
				given = pastParams[1]
			}
			s.writeError(w, r, invalid(given, "point-in-time lists are not served here"))
			return
		}
		if past {
			snap, _, release, err := s.snapshots.Within(r.Context(), bound)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			defer release()
			db = snap
		}
		page, err := db.List(r.Context(), q)
		if errors.Is(err, projections.ErrBadCursor) {
			err = invalid("cursor", err.Error())
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Set("Chancery-Position", strconv.FormatUint(page.Position, 10))
		body := map[string]any{et.plural: page.Docs, "next_cursor": page.Next, "position": page.Position}
		for _, p := range pastParams {
			if r.URL.Query().Has(p) {
				body[p] = r.URL.Query().Get(p)
			}
		}
		writeJSON(w, http.StatusOK, body)
	})
}

// parseQuery validates a list request's filters.
func (et *engagementType) parseQuery(r *http.Request) (projections.Query, error) {
	v := r.URL.Query()
	// A list reads one value of each filter (a feed takes several).
	params := []string{"from", "to", "country", et.person, "kind", "status", "limit", "cursor", "as_of", "announced_as_of", "min_position"}
	if err := checkQuery(r, params...); err != nil {
		return projections.Query{}, err
	}
	q := projections.Query{Type: et.aggType, Cursor: v.Get("cursor"), Person: v.Get(et.person)}
	var f events.Fields
	for _, p := range []struct {
		name string
		date *string
		at   *time.Time
	}{{"from", &q.FromDate, &q.From}, {"to", &q.ToDate, &q.To}} {
		raw := strings.TrimSpace(v.Get(p.name))
		if raw == "" {
			continue
		}
		if d, err := time.Parse(events.DateLayout, raw); err == nil {
			*p.date = d.Format(events.DateLayout)
		} else if t, err := parseInstant(raw); err == nil {
			*p.at = t
		} else {
			f.Add(p.name, "%q is not a date (YYYY-MM-DD) or an RFC 3339 time", raw)
		}
	}
	if c := v.Get("country"); c != "" {
		if !events.ValidCountry(c) {
			f.Add("country", "%s", events.UnknownCountry(c))
		}
		q.Country = c
	}
	if kd := v.Get("kind"); kd != "" {
		if et.aggType != events.MeetingAggregate || !slices.Contains(events.Kinds, kd) {
			f.Add("kind", "%q is not one of %s", kd, strings.Join(events.Kinds, ", "))
		}
		q.Kind = kd
	}
	if st := v.Get("status"); st != "" {
		valid := []string{events.StatusScheduled, events.StatusRescheduled, events.StatusPostponed, events.StatusCancelled, events.StatusHeld}
		if et.aggType == events.VisitAggregate {
			valid = []string{events.StatusScheduled, events.StatusRescheduled, events.StatusCancelled, events.StatusCompleted}
		}
		if !slices.Contains(valid, st) {
			f.Add("status", "%q is not one of %s", st, strings.Join(valid, ", "))
		}
		q.Status = st
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > projections.MaxLimit {
			f.Add("limit", "must be a whole number from 1 to %d", projections.MaxLimit)
		}
		q.Limit = n
	}
	return q, f.Err()
}

// getEngagement makes the handler of GET /api/v1/{meetings,visits}/{id}: the
// resource now, as it stood ?as_of a time and/or ?announced_as_of a day, or
// as a calendar file ({id}.ics).
func (s *Server) getEngagement(et *engagementType) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if raw, ok := strings.CutSuffix(r.PathValue("id"), ".ics"); ok && s.calendar != nil {
			id, err := et.pathID(raw)
			if err == nil {
				err = checkQuery(r, "min_position")
			}
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			if err := s.awaitPosition(r); err != nil {
				s.writeError(w, r, err)
				return
			}
			s.calendar.ServeOne(w, r, et.aggType, id)
			return
		}
		id, err := et.pathID(r.PathValue("id"))
		if err == nil {
			err = checkQuery(r, "as_of", "announced_as_of", "min_position")
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if bound, past, err := pastBound(r); err != nil || past {
			if err == nil {
				_, _, err = minPosition(r)
			}
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			s.getAsOf(w, r, et, id, bound)
			return
		}
		if err := s.awaitPosition(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		res, pos, err := s.db.Get(r.Context(), et.aggType, id)
		if errors.Is(err, projections.ErrNotFound) {
			err = notFoundf("%s %s not found", et.aggType, id)
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		etag := strconv.Quote(strconv.Itoa(res.Version))
		w.Header().Set("ETag", etag)
		w.Header().Set("Chancery-Position", strconv.FormatUint(pos, 10))
		if inm := r.Header.Get("If-None-Match"); inm != "" && (inm == etag || inm == "W/"+etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write(res.Doc)
		w.Write([]byte("\n"))
	})
}

// getAsOf answers with the aggregate as it stood within a past bound (what
// was recorded by a time, announced by a day, or both), folded from the
// stream: what was known then, not what the read model says now.
func (s *Server) getAsOf(w http.ResponseWriter, r *http.Request, et *engagementType, id string, bound events.Bound) {
	agg, version, err := et.fold(r.Context(), s.log, id, bound.Holds)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if version == 0 {
		s.writeError(w, r, notFoundf("%s %s was not %s", et.aggType, id, describeBound(bound)))
		return
	}
	w.Header().Set("ETag", strconv.Quote(strconv.Itoa(version)))
	writeJSON(w, http.StatusOK, agg)
}

// pastParams ask for the record as it stood in the past: as_of by record
// time, announced_as_of by the day the world was told (source.published).
var pastParams = []string{"as_of", "announced_as_of"}

// pastBound parses ?as_of and ?announced_as_of; past is false when neither
// is given.
func pastBound(r *http.Request) (b events.Bound, past bool, err error) {
	v := r.URL.Query()
	var f events.Fields
	if raw := v.Get("as_of"); v.Has("as_of") {
		if b.Recorded, err = parseInstant(raw); err != nil {
			f.Add("as_of", "%q is not an RFC 3339 time such as 2022-08-20T00:00:00Z", raw)
		}
	}
	if raw := v.Get("announced_as_of"); v.Has("announced_as_of") {
		if b.Announced, err = time.Parse(events.DateLayout, strings.TrimSpace(raw)); err != nil {
			f.Add("announced_as_of", "%q is not a date (YYYY-MM-DD) such as 2022-08-20", raw)
		}
	}
	return b, v.Has("as_of") || v.Has("announced_as_of"), f.Err()
}

// describeBound says what a bound asks for, in a sentence's end.
func describeBound(b events.Bound) string {
	var parts []string
	if !b.Recorded.IsZero() {
		parts = append(parts, "recorded as of "+b.Recorded.Format(time.RFC3339))
	}
	if !b.Announced.IsZero() {
		parts = append(parts, "announced as of "+b.Announced.Format(events.DateLayout))
	}
	return strings.Join(parts, " and ")
}

// history makes the handler of GET /api/v1/{meetings,visits}/{id}/history:
// the aggregate's events.
func (s *Server) history(et *engagementType) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := et.pathID(r.PathValue("id"))
		if err == nil {
			err = checkQuery(r, "min_position")
		}
		if err == nil {
			_, _, err = minPosition(r)
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		hist, err := s.log.Load(r.Context(), et.aggType, id)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if len(hist) == 0 {
			s.writeError(w, r, notFoundf("%s %s not found", et.aggType, id))
			return
		}
		out := make([]events.Envelope, len(hist))
		for i, st := range hist {
			out[i] = st.Envelope
		}
		writeJSON(w, http.StatusOK, map[string]any{"events": out})
	})
}

// listEvents makes the handler of GET /api/v1/events: the raw event log
// in stream order, as a JSON page or, for Accept: application/x-ndjson, as
// a stream of lines.
func (s *Server) listEvents() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := r.URL.Query()
		if err := checkQuery(r, "after", "limit", "type", "aggregate", "min_position"); err != nil {
			s.writeError(w, r, err)
			return
		}
		var f events.Fields
		if _, _, err := minPosition(r); err != nil {
			f.Add("min_position", "must be a stream position (a non-negative integer)")
		}
		var after uint64
		if a := v.Get("after"); a != "" {
			n, err := strconv.ParseUint(a, 10, 64)
			if err != nil {
				f.Add("after", "must be a stream sequence (a non-negative integer)")
			}
			after = n
		}
		ndjson := strings.Contains(r.Header.Get("Accept"), "application/x-ndjson")
		limit := 100
		if ndjson {
			limit = 0 // no limit unless asked
		}
		if l := v.Get("limit"); l != "" {
			n, err := strconv.Atoi(l)
			if err != nil || n < 1 || (!ndjson && n > 1000) {
				f.Add("limit", "must be a whole number from 1 to 1000")
			}
			limit = n
		}
		filter := events.ReadFilter{Type: v.Get("type"), AggregateID: v.Get("aggregate")}
		if _, err := filter.Subject(); err != nil {
			var de *events.Error
			if errors.As(err, &de) {
				f = append(f, de.Fields...)
			}
		}
		if err := f.Err(); err != nil {
			s.writeError(w, r, err)
			return
		}

		if ndjson {
			w.Header().Set("Content-Type", "application/x-ndjson")
			enc := json.NewEncoder(w)
			enc.SetEscapeHTML(false)
			flusher, _ := w.(http.Flusher)
			n := 0 // events sent, or being sent
			err := s.log.Scan(r.Context(), after, filter, func(st events.Stored) error {
				n++
				if err := enc.Encode(st.Envelope); err != nil {
					return err
				}
				if flusher != nil && n%256 == 0 {
					flusher.Flush()
				}
				if limit > 0 && n >= limit {
					return events.ErrStopScan
				}
				return nil
			})
			switch {
			case err != nil && n == 0:
				// Nothing is sent yet: the status can still say what went
				// wrong (an overloaded store is a 503, not an empty 200).
				w.Header().Del("Content-Type")
				s.writeError(w, r, err)
			case err != nil:
				s.logger.Warn("event stream ended early", "err", err, "sent", n)
			}
			return
		}
		out := []events.Envelope{}
		next := after
		err := s.log.Scan(r.Context(), after, filter, func(st events.Stored) error {
			out = append(out, st.Envelope)
			next = st.Seq
			if len(out) >= limit {
				return events.ErrStopScan
			}
			return nil
		})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"events": out, "next_after": next})
	})
}

// parseInstant parses an RFC 3339 time. A "+" offset that arrived unescaped
// in a query string has become a space; it is read as the "+" it was.
func parseInstant(raw string) (time.Time, error) {
	return time.Parse(time.RFC3339, strings.Replace(raw, " ", "+", 1))
}

// checkQuery refuses a query parameter the endpoint does not read, and a
// second value of one it reads once: either would otherwise be dropped
// without a word, and the answer would look like the one asked for.
func checkQuery(r *http.Request, params ...string) error {
	v := r.URL.Query()
	if err := query.Check(v, params...); err != nil {
		return err
	}
	return query.Single(v, params...)
}
