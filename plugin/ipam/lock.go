package ipam

// The store's lock: one flock per store (and the data directory's, see
// bridge.go), waited for at most LockTimeout.

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// LockTimeout bounds every wait for the store's lock; past it the operation
// fails with ErrBusy. A variable so that tests can shorten it.
var LockTimeout = 10 * time.Second

// ErrBusy is returned when the store's lock was not free within LockTimeout.
var ErrBusy = errors.New("IPAM store is busy")

// withLock runs f while holding the network's exclusive flock.
func (s *Store) withLock(f func() error) error {
	if s.busy {
		return fmt.Errorf("%w: an earlier lock wait on %s timed out; open the store again", ErrBusy, s.lockf.Name())
	}
	if err := LockFile(s.lockf, LockTimeout); err != nil {
		s.busy = errors.Is(err, ErrBusy)
		return err
	}
	defer func() { _ = flock(int(s.lockf.Fd()), unix.LOCK_UN) }()
	traceAt("store-lock-wait")
	defer traceAt("store-locked")
	return f()
}

// TraceHook is set only by podnet's podnet_trace build: it marks the end of a
// phase (the lock wait, the work under the lock) in its phase trace.
var TraceHook func(phase string)

func traceAt(phase string) {
	if TraceHook != nil {
		TraceHook(phase)
	}
}

// LockFile takes an exclusive flock on f, waiting at most timeout; past it,
// it fails with ErrBusy. The uncontended case is one system call. A contended
// wait blocks in the kernel (waiters are woken as soon as the lock is free,
// no polling) on a duplicate descriptor in another goroutine; if that wait
// outlives the timeout, the lock is dropped as soon as it is granted.
func LockFile(f *os.File, timeout time.Duration) error {
	fd := int(f.Fd())
	err := flock(fd, unix.LOCK_EX|unix.LOCK_NB)
	if !errors.Is(err, unix.EWOULDBLOCK) {
		if err != nil {
			return fmt.Errorf("locking %s: %w", f.Name(), err)
		}
		return nil
	}
	dup, err := unix.Dup(fd) // the same open file description: its flock is f's
	if err != nil {
		return fmt.Errorf("locking %s: %w", f.Name(), err)
	}
	var mu sync.Mutex
	abandoned := false
	granted := make(chan error, 1)
	go func() {
		defer func() { _ = unix.Close(dup) }()
		err := flock(dup, unix.LOCK_EX)
		mu.Lock()
		defer mu.Unlock()
		if abandoned {
			if err == nil {
				_ = flock(dup, unix.LOCK_UN)
			}
			return
		}
		granted <- err
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case err = <-granted:
	case <-timer.C:
		mu.Lock()
		abandoned = true
		mu.Unlock()
		select {
		case err = <-granted: // granted just before the deadline
		default:
			return fmt.Errorf("%w: %s held by another process for more than %s", ErrBusy, f.Name(), timeout)
		}
	}
	if err != nil {
		return fmt.Errorf("locking %s: %w", f.Name(), err)
	}
	return nil
}

func flock(fd, how int) error {
	for {
		err := unix.Flock(fd, how)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
