package startup

import (
	"context"
	"errors"
)

// A Step brings up one part of a service. It returns what undoes it, if
// anything needs undoing, even when it fails half way.
type Step func(context.Context) (undo func() error, err error)

// Steps brings a service up one step after another and takes it down in
// the reverse order. The zero Steps is ready to use.
type Steps struct {
	undo []func() error // of the steps that ran, in their order
}

// Run runs each step in turn and stops at the first that fails, returning
// its error; what started stays up until Undo.
func (s *Steps) Run(ctx context.Context, steps ...Step) error {
	for _, step := range steps {
		undo, err := step(ctx)
		if undo != nil {
			s.undo = append(s.undo, undo)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Undo undoes each step that ran, the last first, and forgets them: a
// second Undo does nothing.
func (s *Steps) Undo() error {
	var errs []error
	for i := len(s.undo) - 1; i >= 0; i-- {
		errs = append(errs, s.undo[i]())
	}
	s.undo = nil
	return errors.Join(errs...)
}
