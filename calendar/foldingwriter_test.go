package calendar

import (
	"io"
	"unicode/utf8"
)

// foldMaxScratch caps the output buffer kept between writes, so one huge
// write does not pin its memory for the life of the writer.
const foldMaxScratch = 64 << 10

// FoldingWriter folds iCalendar content lines as RFC 5545 §3.1 requires. It
// sits under go-ical's encoder, which writes whole, unfolded lines ended by
// CRLF, and writes them on folded: no physical line is longer than 75 octets
// excluding its CRLF, each continuation line starts with one space (counted
// in the 75), a fold never falls inside a UTF-8 sequence, and every line ends
// with CRLF. Lines of at most 75 octets pass unchanged.
//
// Writes may split lines and UTF-8 sequences anywhere: the writer keeps the
// position on the current physical line and holds back at most an
// incomplete UTF-8 sequence or a CR waiting for its LF, so it never buffers a
// whole line. A bare LF is written as CRLF. Call Flush after the last Write
// to write out anything held back. Invalid UTF-8 is passed through byte by
// byte. A FoldingWriter is not safe for concurrent use.
//
// The feed does not use it (the encoder folds as it appends, see
// encode.go): it is the plain, streaming statement of the rule that the
// tests hold the encoder to, and what they fold go-ical's own output with.
type FoldingWriter struct {
	w       io.Writer
	col     int     // octets already on the current physical output line
	pending [4]byte // held back: a lone CR, or the start of a UTF-8 sequence
	npend   int
	joined  []byte // pending + the next write, reused
	out     []byte // folded output of one write, reused
	err     error  // first error from w; sticky
}

// NewFoldingWriter returns a FoldingWriter that writes folded lines to w.
func NewFoldingWriter(w io.Writer) *FoldingWriter {
	return &FoldingWriter{w: w}
}

// Write folds p onto the underlying writer. It returns len(p) unless the
// underlying writer fails; after a failure every call returns that error.
func (f *FoldingWriter) Write(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	data := p
	if f.npend > 0 {
		f.joined = append(append(f.joined[:0], f.pending[:f.npend]...), p...)
		data = f.joined
		f.npend = 0
	}
	out := f.out[:0]
	i := 0
	for i < len(data) {
		c := data[i]
		size := 1
		switch {
		case c == '\n':
			out = append(out, '\r', '\n')
			f.col = 0
			i++
			continue
		case c == '\r':
			if i+1 == len(data) {
				f.npend = copy(f.pending[:], data[i:])
				i = len(data)
				continue
			}
			if data[i+1] == '\n' {
				out = append(out, '\r', '\n')
				f.col = 0
				i += 2
				continue
			}
		case c >= utf8.RuneSelf:
			if !utf8.FullRune(data[i:]) {
				f.npend = copy(f.pending[:], data[i:])
				i = len(data)
				continue
			}
			_, size = utf8.DecodeRune(data[i:])
		}
		out = f.foldUnit(out, data[i:i+size])
		i += size
	}
	if err := f.foldEmit(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes out whatever Write held back (a trailing CR or an incomplete
// UTF-8 sequence) without adding a line end. It does not flush the
// underlying writer. Call it once the encoder is done.
func (f *FoldingWriter) Flush() error {
	if f.err != nil {
		return f.err
	}
	if f.npend == 0 {
		return nil
	}
	out := f.foldUnit(f.out[:0], f.pending[:f.npend])
	f.npend = 0
	return f.foldEmit(out)
}

// foldUnit appends one unbreakable unit (a rune, or a byte of invalid
// UTF-8) to out, folding first if it would not fit on the current line.
func (f *FoldingWriter) foldUnit(out, unit []byte) []byte {
	if f.col+len(unit) > foldLimit {
		out = append(out, '\r', '\n', ' ')
		f.col = 1
	}
	f.col += len(unit)
	return append(out, unit...)
}

// foldEmit writes out to the underlying writer and keeps its buffer.
func (f *FoldingWriter) foldEmit(out []byte) error {
	if cap(out) <= foldMaxScratch {
		f.out = out[:0]
	} else {
		f.out = nil
	}
	if cap(f.joined) > foldMaxScratch {
		f.joined = nil
	}
	if len(out) == 0 {
		return nil
	}
	if _, err := f.w.Write(out); err != nil {
		f.err = err
		return err
	}
	return nil
}
