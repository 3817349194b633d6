package apptest

import (
	"bytes"
	"sync"
)

// Buffer is a bytes.Buffer safe for a writing goroutine (a bridge's logger,
// a running command) and a reading test.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
