package startup

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Server is serve's HTTP server. It listens early in start, before the API
// exists, so that its handler (a Handler) answers probes while the rest
// comes up.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	done chan error
}

// Listen opens addr and serves h on it until Shutdown. The timeouts bound
// what a slow or idle client holds; the server's own complaints (a bad TLS
// handshake, a handler's panic) go to logger as warnings.
func Listen(addr string, h http.Handler, logger *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	s := &Server{ln: ln, done: make(chan error, 1), srv: &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the address the server listens on, with the port the system
// chose for port 0.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Done yields the error the server stopped with, should it stop by itself.
func (s *Server) Done() <-chan error { return s.done }

// Shutdown stops accepting and waits up to timeout for the requests in
// flight to finish.
func (s *Server) Shutdown(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return s.srv.Shutdown(ctx)
}
