package events

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// IdempotencyBucket holds what each Idempotency-Key did, for longer than
// JetStream's duplicate window: a client that retries an hour later still
// gets the first result.
const (
	IdempotencyBucket = "CHANCERY_IDEMPOTENCY"
	IdempotencyTTL    = 24 * time.Hour
)

// IdempotencyRecord is what one key did. Status is 0 while the request that
// claimed the key has not finished.
type IdempotencyRecord struct {
	Fingerprint string    `json:"fingerprint"`
	AggregateID string    `json:"aggregate_id"`
	Status      int       `json:"status,omitempty"`
	Version     int       `json:"version,omitempty"`
	Position    uint64    `json:"position,omitempty"`
	StartedAt   time.Time `json:"started_at"`
	// Unknown says the request that claimed the key ended on a transient
	// failure (an election, a timeout) that may have come after its event
	// was stored. A retry takes the claim over at once and finds the event
	// by its Nats-Msg-Id, or records it.
	Unknown bool `json:"unknown,omitempty"`
}

// Idempotency stores idempotency records in a JetStream key-value bucket.
type Idempotency struct {
	kv jetstream.KeyValue
}

// OpenIdempotency creates the bucket if it is missing.
func OpenIdempotency(ctx context.Context, js jetstream.JetStream, replicas int) (*Idempotency, error) {
	if replicas < 1 {
		replicas = 1
	}
	kv, err := OpenBucket(ctx, js, jetstream.KeyValueConfig{
		Bucket:      IdempotencyBucket,
		Description: "Chancery idempotency keys: what each retried request did the first time",
		TTL:         IdempotencyTTL,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
		History:     1,
	})
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", IdempotencyBucket, err)
	}
	return &Idempotency{kv: kv}, nil
}

// IdempotencyKey scopes a client's key to the client, so two clients that
// both send "1" do not see each other's results. The result is safe as a KV
// key and as a Nats-Msg-Id.
func IdempotencyKey(actor, key string) string {
	sum := sha256.Sum256([]byte(actor + "\x00" + key))
	return "idem-" + hex.EncodeToString(sum[:20])
}

// Claim records rec under key if the key is new, and returns nil and the
// revision of the claim. If the key is already there, it returns the record
// stored and its revision.
func (s *Idempotency) Claim(ctx context.Context, key string, rec IdempotencyRecord) (*IdempotencyRecord, uint64, error) {
	data, err := json.Marshal(rec)
	if err != nil {
		return nil, 0, err
	}
	if rev, err := s.kv.Create(ctx, key, data); err == nil {
		return nil, rev, nil
	} else if !errors.Is(err, jetstream.ErrKeyExists) {
		return nil, 0, fmt.Errorf("claim idempotency key: %w", err)
	}
	entry, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		// expired between the two calls: claim again
		return s.Claim(ctx, key, rec)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read idempotency key: %w", err)
	}
	var prev IdempotencyRecord
	if err := json.Unmarshal(entry.Value(), &prev); err != nil {
		return nil, 0, fmt.Errorf("read idempotency key: %w", err)
	}
	return &prev, entry.Revision(), nil
}

// TakeOver claims a key whose earlier owner stopped before finishing; it
// fails when somebody else changed the record since revision. It returns the
// revision of the new claim.
func (s *Idempotency) TakeOver(ctx context.Context, key string, revision uint64, rec IdempotencyRecord) (uint64, error) {
	data, err := json.Marshal(rec)
	if err != nil {
		return 0, err
	}
	rev, err := s.kv.Update(ctx, key, data, revision)
	if err != nil {
		return 0, fmt.Errorf("take over idempotency key: %w", err)
	}
	return rev, nil
}

// Complete records the outcome of the request that claimed key.
func (s *Idempotency) Complete(ctx context.Context, key string, rec IdempotencyRecord) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if _, err := s.kv.Put(ctx, key, data); err != nil {
		return fmt.Errorf("complete idempotency key: %w", err)
	}
	return nil
}

// Abandon marks the claim made at revision as ended with an unknown
// outcome, so that a retry need not wait for it to grow stale.
func (s *Idempotency) Abandon(ctx context.Context, key string, revision uint64, rec IdempotencyRecord) error {
	rec.Unknown = true
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if _, err := s.kv.Update(ctx, key, data, revision); err != nil && !claimMoved(err) {
		return fmt.Errorf("abandon idempotency key: %w", err)
	}
	return nil
}

// Release forgets a claim whose request recorded nothing, so that a retry
// runs afresh. It deletes the key only while it still holds the claim made
// at revision: a claim taken over by a retry stays.
func (s *Idempotency) Release(ctx context.Context, key string, revision uint64) error {
	err := s.kv.Delete(ctx, key, jetstream.LastRevision(revision))
	if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) && !claimMoved(err) {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}

// claimMoved reports whether a write guarded by a revision failed because
// the key has changed since: another request owns it now.
func claimMoved(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, jetstream.ErrKeyExists) ||
		errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}
