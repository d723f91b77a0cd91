package datalock

import (
	"errors"
	"fmt"
	"os"
)

// Writable checks that each of dirs that exists takes a new file. A data
// directory on a read-only filesystem (or one the process may not write)
// otherwise surfaces as an embedded NATS server that never becomes ready,
// after a 30 s wait, and a message that does not say why. Permissions are
// not asked, but a file made: they say nothing of a read-only mount, nor
// to root.
func Writable(dirs ...string) error {
	for _, dir := range dirs {
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			continue
		}
		f, err := os.CreateTemp(dir, ".write-check-*")
		if err != nil {
			return fmt.Errorf("data directory %s is not writable: %w", dir, err)
		}
		f.Close()
		os.Remove(f.Name())
	}
	return nil
}
