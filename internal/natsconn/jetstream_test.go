package natsconn

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Only the answers of a cluster still starting are waited out; a stream
// serve refuses, or any other error, ends the start at once.
func TestJetStreamStartingErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("open stream: %w", context.DeadlineExceeded), true},
		{nats.ErrNoResponders, true},
		{&jetstream.APIError{ErrorCode: 10005, Description: "no suitable peers for placement"}, true},
		{fmt.Errorf("create: %w", &jetstream.APIError{ErrorCode: 10008}), true},
		{&jetstream.APIError{ErrorCode: 10058, Description: "stream name already in use"}, false},
		{errors.New("stream CHANCERY_EVENTS allows deletes"), false},
		{jetstream.ErrJetStreamNotEnabled, false},
	} {
		if got := jetStreamStarting(tc.err); got != tc.want {
			t.Errorf("jetStreamStarting(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
