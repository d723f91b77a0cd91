package events

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Transient reports whether err is a condition that passes by itself: no
// stream leader during an election, a lost or closed connection, a request
// nobody answered in time, a full disk. Such a failure is answered "try
// again shortly" (503 with Retry-After), never as a bug.
func Transient(err error) bool {
	if err == nil {
		return false
	}
	if ErrorCode(err) == EUNAVAILABLE {
		return true
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case errClusterNotAvailable, errInsufficientResources, errStoreFailed, errExpectedLastSeqNotReady,
			errClusterIncomplete, errJetStreamNotEnabled:
			return true
		}
		return apiErr.Code == 503 || apiErr.Code == 408
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, nats.ErrTimeout),
		errors.Is(err, nats.ErrNoResponders),
		errors.Is(err, nats.ErrConnectionClosed),
		errors.Is(err, nats.ErrConnectionDraining),
		errors.Is(err, nats.ErrConnectionReconnecting),
		errors.Is(err, nats.ErrDisconnected),
		errors.Is(err, nats.ErrStaleConnection),
		errors.Is(err, nats.ErrNoServers),
		errors.Is(err, jetstream.ErrNoStreamResponse),
		errors.Is(err, jetstream.ErrJetStreamNotEnabled),
		errors.Is(err, jetstream.ErrServerShutdown),
		errors.Is(err, syscall.ENOSPC):
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Unavailable wraps a transient err as an EUNAVAILABLE error that says what
// was being done; any other err is returned as it is.
func Unavailable(err error, doing string) error {
	if err == nil || !Transient(err) || ErrorCode(err) == EUNAVAILABLE {
		return err
	}
	return &Error{Code: EUNAVAILABLE, Message: doing + ": " + err.Error() + "; try again shortly", cause: err}
}

// JetStream API error codes that mean "not now" rather than "never".
const (
	errClusterIncomplete       jetstream.ErrorCode = 10004 // incomplete results
	errClusterNotAvailable     jetstream.ErrorCode = 10008 // JetStream system temporarily unavailable
	errInsufficientResources   jetstream.ErrorCode = 10023 // insufficient resources (disk or memory)
	errJetStreamNotEnabled     jetstream.ErrorCode = 10076 // JetStream not enabled (yet, on a starting node)
	errStoreFailed             jetstream.ErrorCode = 10077 // the store failed to write (a full disk, say)
	errExpectedLastSeqNotReady jetstream.ErrorCode = 10163 // expected last sequence per subject temporarily unavailable
)

// failed says what failed: an EUNAVAILABLE error when err is transient,
// else err wrapped with what.
func failed(err error, what string) error {
	if Transient(err) {
		return Unavailable(err, what)
	}
	return fmt.Errorf("%s: %w", what, err)
}
