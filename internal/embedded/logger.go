package embedded

import (
	"fmt"
	"log/slog"
)

// natsLogger sends the embedded server's notices, warnings and errors to slog.
type natsLogger struct {
	l       *slog.Logger
	onError func(msg string) // told of every error, when set
}

func (n natsLogger) Noticef(format string, v ...any) { n.l.Debug(fmt.Sprintf(format, v...)) }
func (n natsLogger) Warnf(format string, v ...any)   { n.l.Warn(fmt.Sprintf(format, v...)) }
func (n natsLogger) Fatalf(format string, v ...any)  { n.l.Error(fmt.Sprintf(format, v...)) }
func (n natsLogger) Errorf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	n.l.Error(msg)
	if n.onError != nil {
		n.onError(msg)
	}
}
func (n natsLogger) Debugf(format string, v ...any) {}
func (n natsLogger) Tracef(format string, v ...any) {}
