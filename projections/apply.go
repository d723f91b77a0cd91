package projections

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/chancery/chancery/events"
)

const utcLayout = "2006-01-02T15:04:05Z"

// state is an aggregate being folded by the projector.
type state interface {
	events.Aggregate
	row(seq uint64) (row, error)
}

type meetingState struct{ events.Meeting }
type visitState struct{ events.Visit }

// row is one engagement as stored in the read model.
type row struct {
	id, typ, kind, status, country string
	version                        int
	startUTC, endUTC               time.Time
	startDate, endDate             string
	seq                            uint64
	doc                            []byte
	peopleFolded                   string // see migrations/0002_people_columns.sql
	peopleCountries                string
}

// encodeDoc encodes an engagement's resource: the bytes of encoding/json
// (FuzzDocEncoding holds it to that), in a fraction of the time, which
// matters to a replay that encodes a document for every engagement it
// writes.
func encodeDoc(v any) ([]byte, error) { return events.MarshalJSON(v) }

// peopleColumns returns the people_folded and people_countries columns of
// an engagement with these people, in order.
func peopleColumns(people ...events.Participant) (folded, countries string) {
	if len(people) == 0 {
		return "", ""
	}
	var f, c strings.Builder
	f.WriteByte('|')
	for _, p := range people {
		f.WriteByte(' ')
		f.WriteString(events.FoldName(p.Name))
		f.WriteString(" |")
		if p.Country != "" {
			if c.Len() == 0 {
				c.WriteByte(' ')
			}
			c.WriteString(p.Country)
			c.WriteByte(' ')
		}
	}
	return f.String(), c.String()
}

func (m *meetingState) row(seq uint64) (row, error) {
	doc, err := encodeDoc(&m.Meeting)
	if err != nil {
		return row{}, err
	}
	first, last := m.Span().Dates()
	r := row{
		id: m.ID, typ: events.MeetingAggregate, version: m.Version, kind: m.Kind, status: m.Status,
		country: m.Location.Country, startUTC: m.StartUTC, endUTC: m.EndUTC,
		startDate: first, endDate: last, seq: seq, doc: doc,
	}
	r.peopleFolded, r.peopleCountries = peopleColumns(m.Participants...)
	return r, nil
}

func (v *visitState) row(seq uint64) (row, error) {
	doc, err := encodeDoc(&v.Visit)
	if err != nil {
		return row{}, err
	}
	first, last := v.Span().Dates()
	r := row{
		id: v.ID, typ: events.VisitAggregate, version: v.Version, kind: VisitKind, status: v.Status,
		country: v.Destination.Country, startUTC: v.StartUTC, endUTC: v.EndUTC,
		startDate: first, endDate: last, seq: seq, doc: doc,
	}
	r.peopleFolded, r.peopleCountries = peopleColumns(v.Visitor)
	return r, nil
}

// batch applies events to the read model inside one transaction: the rows
// they change and the new position commit together or not at all.
type batch struct {
	tx     *sql.Tx
	states map[string]state
	seqs   map[string]uint64
}

func newBatch(tx *sql.Tx) *batch {
	return &batch{tx: tx, states: map[string]state{}, seqs: map[string]uint64{}}
}

// stateFor returns the state env applies to: empty for a first event,
// else as the read model holds it.
func stateFor(ctx context.Context, q queryer, env events.Envelope) (state, error) {
	var st state
	switch env.AggregateType {
	case events.MeetingAggregate:
		st = &meetingState{}
	case events.VisitAggregate:
		st = &visitState{}
	default:
		return nil, fmt.Errorf("event %s (seq %d): unknown aggregate type %q", env.ID, env.Seq, env.AggregateType)
	}
	if env.Version > 1 {
		var doc string
		err := q.QueryRowContext(ctx, `SELECT doc FROM engagements WHERE id = ?`, env.AggregateID).Scan(&doc)
		if err != nil {
			return nil, fmt.Errorf("event %s (seq %d): load %s %s: %w", env.ID, env.Seq, env.AggregateType, env.AggregateID, err)
		}
		if err := events.UnmarshalJSON([]byte(doc), st); err != nil {
			return nil, fmt.Errorf("event %s (seq %d): decode %s: %w", env.ID, env.Seq, env.AggregateID, err)
		}
	}
	return st, nil
}

// apply folds one event into the aggregate's state, loading the state from
// the read model the first time the batch meets the aggregate.
func (b *batch) apply(ctx context.Context, env events.Envelope) error {
	st, ok := b.states[env.AggregateID]
	if !ok {
		var err error
		if st, err = stateFor(ctx, b.tx, env); err != nil {
			return err
		}
		b.states[env.AggregateID] = st
	}
	if err := st.Evolve(env); err != nil {
		return fmt.Errorf("project seq %d: %w", env.Seq, err)
	}
	b.seqs[env.AggregateID] = env.Seq
	return nil
}

func (b *batch) writeRows(ctx context.Context) error {
	if len(b.states) == 0 {
		return nil
	}
	ids := make([]string, 0, len(b.states))
	for id := range b.states {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	rows := make([]row, 0, len(ids))
	for _, id := range ids {
		r, err := b.states[id].row(b.seqs[id])
		if err != nil {
			return err
		}
		rows = append(rows, r)
	}
	return writeRowList(ctx, b.tx, rows)
}

// The statements that write the read model.
const (
	upsertSQL = `
		INSERT INTO engagements (id, type, version, kind, status, country, start_utc, end_utc, start_date, end_date, last_seq, doc, people_folded, people_countries)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET
			version = excluded.version, kind = excluded.kind, status = excluded.status,
			country = excluded.country, start_utc = excluded.start_utc, end_utc = excluded.end_utc,
			start_date = excluded.start_date, end_date = excluded.end_date,
			last_seq = excluded.last_seq, doc = excluded.doc,
			people_folded = excluded.people_folded, people_countries = excluded.people_countries`
	checkpointSQL = `INSERT INTO meta (key, value) VALUES ('position', ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`
)

// writeRowList upserts rows, in id order.
func writeRowList(ctx context.Context, tx *sql.Tx, rows []row) error {
	upsert, err := tx.PrepareContext(ctx, upsertSQL)
	if err != nil {
		return err
	}
	defer upsert.Close()
	for _, r := range rows {
		if _, err := upsert.ExecContext(ctx, r.id, r.typ, r.version, r.kind, r.status, r.country,
			r.startUTC.UTC().Format(utcLayout), r.endUTC.UTC().Format(utcLayout), r.startDate, r.endDate,
			int64(r.seq), string(r.doc), r.peopleFolded, r.peopleCountries); err != nil {
			return fmt.Errorf("write %s: %w", r.id, err)
		}
	}
	return nil
}

func (b *batch) checkpoint(ctx context.Context, pos uint64) error {
	_, err := b.tx.ExecContext(ctx, checkpointSQL, strconv.FormatUint(pos, 10))
	if err != nil {
		return fmt.Errorf("checkpoint %d: %w", pos, err)
	}
	return nil
}
