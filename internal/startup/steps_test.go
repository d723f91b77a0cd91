package startup

import (
	"context"
	"errors"
	"slices"
	"testing"
)

// Steps run in order up to the first failure, which is returned; Undo
// undoes those that ran, the failed one included, the last first, once.
func TestStepsRunInOrderAndUndoInReverse(t *testing.T) {
	var log []string
	step := func(name string, fail bool) Step {
		return func(context.Context) (func() error, error) {
			log = append(log, "start "+name)
			undo := func() error { log = append(log, "undo "+name); return nil }
			if fail {
				return undo, errors.New(name + " failed")
			}
			if name == "b" {
				return nil, nil // nothing to undo
			}
			return undo, nil
		}
	}
	var s Steps
	err := s.Run(context.Background(), step("a", false), step("b", false), step("c", true), step("d", false))
	if err == nil || err.Error() != "c failed" {
		t.Errorf("Run = %v, want the failed step's error", err)
	}
	if err := s.Undo(); err != nil {
		t.Fatal(err)
	}
	_ = s.Undo()
	want := []string{"start a", "start b", "start c", "undo c", "undo a"}
	if !slices.Equal(log, want) {
		t.Errorf("ran %q, want %q", log, want)
	}
}

// Undo reports every undo that failed, and still runs the others.
func TestUndoJoinsTheErrors(t *testing.T) {
	var s Steps
	fail := func(msg string) Step {
		return func(context.Context) (func() error, error) { return func() error { return errors.New(msg) }, nil }
	}
	_ = s.Run(context.Background(), fail("first"), fail("second"))
	if err := s.Undo(); err == nil || err.Error() != "second\nfirst" {
		t.Errorf("Undo = %q, want both errors, the last step's first", err)
	}
}
