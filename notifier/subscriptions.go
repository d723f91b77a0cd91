package notifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/chancery/chancery/events"
)

// SubscriptionBucket records, for each subscriber and reminder rule, when
// it first came into force: the first start of a notifier whose config had
// it. A reminder whose moment came before that was never due to that
// subscriber; without the record a subscriber added today would be sent, as
// "late", every reminder that fell due before it existed. It lives in NATS
// beside the delivery queue, so that every replica and every restart agree.
const SubscriptionBucket = "CHANCERY_SUBSCRIPTIONS"

// subscription is one record of SubscriptionBucket.
type subscription struct {
	Subscriber string    `json:"subscriber"`
	Rule       string    `json:"rule"`
	Since      time.Time `json:"since"`
}

// subscribedSince returns when each subscriber's reminder rules came into
// force, by subscriptionKey, recording now for those seen for the first
// time.
func subscribedSince(ctx context.Context, js jetstream.JetStream, replicas int, subs []Subscriber, rules []string, now time.Time) (map[string]time.Time, error) {
	kv, err := events.OpenBucket(ctx, js, jetstream.KeyValueConfig{
		Bucket:      SubscriptionBucket,
		Description: "Chancery subscriptions: when each subscriber's reminder rule came into force",
		Storage:     jetstream.FileStorage,
		Replicas:    max(replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", SubscriptionBucket, err)
	}
	since := map[string]time.Time{}
	for _, sub := range subs {
		if !sub.Wants(CategoryReminder) {
			continue
		}
		for _, rule := range rules {
			key := subscriptionKey(sub.Name, rule)
			rec := subscription{Subscriber: sub.Name, Rule: rule, Since: now.UTC()}
			data, err := json.Marshal(rec)
			if err != nil {
				return nil, err
			}
			// Create keeps the first record: another replica, or an
			// earlier start, may have put it there already.
			if _, err := kv.Create(ctx, key, data); err != nil {
				if !errors.Is(err, jetstream.ErrKeyExists) {
					return nil, fmt.Errorf("subscription %s %s: %w", sub.Name, rule, err)
				}
				entry, err := kv.Get(ctx, key)
				if err != nil {
					return nil, fmt.Errorf("subscription %s %s: %w", sub.Name, rule, err)
				}
				if err := json.Unmarshal(entry.Value(), &rec); err != nil {
					return nil, fmt.Errorf("subscription %s %s: %w", sub.Name, rule, err)
				}
			}
			since[key] = rec.Since
		}
	}
	return since, nil
}

// subscriptionKey names a subscriber's rule in SubscriptionBucket (a
// subscriber's name may hold characters a key may not).
func subscriptionKey(subscriber, rule string) string {
	return alertID("subscription", subscriber, rule)
}
