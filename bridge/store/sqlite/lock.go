package sqlite

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// ErrInUse is returned (wrapped) by an exclusive Open of a database file that
// another process holds open exclusively.
var ErrInUse = errors.New("already in use by another scim-bridge process")

// errLocked is what tryLock returns when another holder has the lock.
var errLocked = errors.New("locked")

// fileLock is an exclusive, OS-level lock on PATH.lock, held from an exclusive
// Open to Close. The operating system releases it when the process ends,
// however it ends, so a crash never leaves a stale lock behind. The file holds
// the holder's process id, for the message a second process gets.
type fileLock struct{ f *os.File }

// lockFile takes the exclusive lock for the database at path, or fails at
// once (without waiting) if another process holds it.
func lockFile(path string) (*fileLock, error) {
	name := path + ".lock"
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file %s: %w", name, err)
	}
	if err := tryLock(f); err != nil {
		pid := holderPID(f)
		_ = f.Close()
		if errors.Is(err, errLocked) {
			return nil, fmt.Errorf("%s is %w (pid %s); SQLite mode runs one process: stop it, or use PostgreSQL for several replicas",
				path, ErrInUse, pid)
		}
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	// Best effort: the pid only improves the message another process gets.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &fileLock{f: f}, nil
}

// holderPID reads the process id the lock's holder wrote, "unknown" if none.
func holderPID(f *os.File) string {
	buf := make([]byte, 32)
	n, err := f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return "unknown"
	}
	pid := strings.TrimSpace(string(buf[:n]))
	if _, err := strconv.Atoi(pid); err != nil {
		return "unknown"
	}
	return pid
}

// release gives the lock up. The file stays: removing it would let a third
// process lock a new file while a second still waits on the old one.
func (l *fileLock) release() error {
	if l == nil {
		return nil
	}
	return errors.Join(unlock(l.f), l.f.Close())
}
