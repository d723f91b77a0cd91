package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// TrailError is a trail that fails the check, at a line.
type TrailError struct {
	Name string // the file, as the user named it
	Line int    // 1-based
	Msg  string
}

func (e *TrailError) Error() string { return fmt.Sprintf("%s: line %d: %s", e.Name, e.Line, e.Msg) }

// TrailSummary is what a checked trail holds.
type TrailSummary struct {
	Header TrailHeader
	End    TrailEnd
}

// CheckTrail verifies a whole trail read from r: header, chain, end line.
// name is how errors call the file. It calls fn, when not nil, with each
// event once its line has checked out; an error from fn stops the check and
// is returned as is. A trail that fails the check yields a *TrailError
// naming the first bad line.
func CheckTrail(name string, r io.Reader, fn func(TrailEvent) error) (TrailSummary, error) {
	c := &trailChecker{name: name, r: bufio.NewReaderSize(r, 1<<16)}
	var sum TrailSummary
	line, err := c.next()
	if errors.Is(err, io.EOF) {
		c.line++
		return sum, c.errorf("empty file: no %s header", TrailFormat)
	}
	if err != nil {
		return sum, err
	}
	if err := c.header(line, &sum.Header); err != nil {
		return sum, err
	}
	var count, last uint64
	head := sum.Header.Genesis()
	for {
		line, err := c.next()
		if errors.Is(err, io.EOF) {
			c.line++
			return sum, c.errorf("missing end line: the file is cut short after line %d", c.line-1)
		}
		if err != nil {
			return sum, err
		}
		if bytes.HasPrefix(line, []byte(`{"end":`)) {
			sum.End = TrailEnd{End: true, Count: count, LastSeq: last, Head: head}
			if err := c.end(line, sum.End); err != nil {
				return sum, err
			}
			break
		}
		var ev TrailEvent
		if err := json.Unmarshal(line, &ev); err != nil {
			return sum, c.errorf("malformed event line: %v", err)
		}
		switch {
		case !bytes.Equal(ev.Line(), line):
			return sum, c.errorf("malformed event line: not in canonical form (a key, white space or escaping differs from what export writes)")
		case last == 0 && ev.Seq != 1:
			return sum, c.errorf("the first event is seq %d: a trail starts at seq 1", ev.Seq)
		case ev.Seq <= last:
			return sum, c.errorf("seq %d out of order: it follows seq %d", ev.Seq, last)
		case ev.Seq != last+1:
			return sum, c.errorf("seq gap: seq %d follows seq %d", ev.Seq, last)
		case ev.Digest(head) != ev.Hash:
			return sum, c.errorf("hash mismatch at seq %d: the line was altered", ev.Seq)
		}
		if fn != nil {
			if err := fn(ev); err != nil {
				return sum, err
			}
		}
		count, last, head = count+1, ev.Seq, ev.Hash
	}
	if _, err := c.next(); !errors.Is(err, io.EOF) {
		if err != nil {
			return sum, err
		}
		return sum, c.errorf("data after the end line")
	}
	return sum, nil
}

// trailChecker reads a trail line by line and checks each line as it goes.
type trailChecker struct {
	name string
	r    *bufio.Reader
	line int
	buf  []byte
}

func (c *trailChecker) errorf(format string, args ...any) error {
	return &TrailError{Name: c.name, Line: c.line, Msg: fmt.Sprintf(format, args...)}
}

// next returns the next line with its "\n", or io.EOF after the last.
func (c *trailChecker) next() ([]byte, error) {
	c.buf = c.buf[:0]
	for {
		chunk, err := c.r.ReadSlice('\n')
		c.buf = append(c.buf, chunk...)
		switch {
		case len(c.buf) > maxTrailLine:
			c.line++
			return nil, c.errorf("longer than %d bytes", maxTrailLine)
		case err == nil:
			c.line++
			return c.buf, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(c.buf) == 0:
			return nil, io.EOF
		case errors.Is(err, io.EOF):
			c.line++
			return nil, c.errorf("no newline at its end: the file is cut short")
		default:
			return nil, fmt.Errorf("read %s: %w", c.name, err)
		}
	}
}

func (c *trailChecker) header(line []byte, h *TrailHeader) error {
	if err := json.Unmarshal(line, h); err != nil {
		return c.errorf("not a %s header: %v", TrailFormat, err)
	}
	switch {
	case h.Format != TrailFormat:
		return c.errorf("not a %s header: format %q", TrailFormat, h.Format)
	case h.Version != 1 && h.Version != TrailVersion:
		return c.errorf("format version %d is not one this build reads (1 or %d)", h.Version, TrailVersion)
	case !bytes.Equal(h.Line(), line):
		return c.errorf("malformed header: not in canonical form (a key, white space or escaping differs from what export writes)")
	case h.Digest() != h.Hash:
		return c.errorf("header hash mismatch: the header was altered")
	}
	if _, err := time.Parse(time.RFC3339, h.ExportedAt); err != nil {
		return c.errorf("header exported_at %q is not an RFC 3339 time", h.ExportedAt)
	}
	return nil
}

func (c *trailChecker) end(line []byte, want TrailEnd) error {
	var got TrailEnd
	if err := json.Unmarshal(line, &got); err != nil {
		return c.errorf("malformed end line: %v", err)
	}
	switch {
	case !bytes.Equal(got.Line(), line) || !got.End:
		return c.errorf("malformed end line: not in canonical form (a key, white space or escaping differs from what export writes)")
	case got.Count != want.Count:
		return c.errorf("end line counts %d events, the trail holds %d", got.Count, want.Count)
	case got.LastSeq != want.LastSeq:
		return c.errorf("end line names last seq %d, the last event is seq %d", got.LastSeq, want.LastSeq)
	case got.Head != want.Head:
		return c.errorf("end line head %s does not match the chain's head %s", got.Head, want.Head)
	}
	return nil
}
