package audit

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// TrailFile is a trail to read twice, to check it whole and then to import
// it: the named file, or for "-" a copy of stdin in a temporary file, which
// Close removes.
type TrailFile struct {
	*os.File
	Label string // the file's name, or "stdin", for messages
	temp  bool
}

// OpenTrail opens the trail at path, or copies stdin when path is "-".
func OpenTrail(path string, stdin io.Reader) (*TrailFile, error) {
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		return &TrailFile{File: f, Label: path}, nil
	}
	tmp, err := os.CreateTemp("", "chancery-import-*.ndjson")
	if err != nil {
		return nil, err
	}
	f := &TrailFile{File: tmp, Label: "stdin", temp: true}
	if _, err := io.Copy(tmp, stdin); err != nil {
		f.Close()
		return nil, fmt.Errorf("read stdin: %w", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Check checks the whole trail (CheckTrail) and rewinds the file, so that
// what reads it next reads it from its start.
func (f *TrailFile) Check() (TrailSummary, error) {
	sum, err := CheckTrail(f.Label, f, nil)
	if err != nil {
		return sum, err
	}
	_, err = f.Seek(0, io.SeekStart)
	return sum, err
}

// Close closes the file, and removes it if it is a copy of stdin.
func (f *TrailFile) Close() error {
	err := f.File.Close()
	if f.temp {
		err = errors.Join(err, os.Remove(f.File.Name()))
	}
	return err
}
