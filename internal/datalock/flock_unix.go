//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package datalock

import (
	"errors"
	"os"
	"syscall"
)

// flock takes an exclusive lock on f without waiting; false when another
// open file holds it (in this process or another).
func flock(f *os.File) (bool, error) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

// processAlive reports whether a process with that id exists.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
