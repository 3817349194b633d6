package app

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"
)

// certReloader serves a certificate and key from files and picks up new ones
// (renewed by cert-manager or an operator) without a restart: on a handshake it
// re-reads the files when their modification time changed, at most every 10 s.
type certReloader struct {
	certFile, keyFile string

	mu      sync.Mutex
	cert    *tls.Certificate
	modTime time.Time
	checked time.Time
}

func newCertReloader(certFile, keyFile string) *certReloader {
	return &certReloader{certFile: certFile, keyFile: keyFile}
}

// tlsConfig loads the certificate once (so a bad pair fails at start) and
// returns a configuration that reloads it.
func (c *certReloader) tlsConfig() (*tls.Config, error) {
	if _, err := c.get(true); err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		return c.get(false)
	}}, nil
}

func (c *certReloader) get(force bool) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if !force && c.cert != nil && now.Sub(c.checked) < 10*time.Second {
		return c.cert, nil
	}
	c.checked = now
	mod := latestModTime(c.certFile, c.keyFile)
	if !force && c.cert != nil && !mod.After(c.modTime) {
		return c.cert, nil
	}
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		if c.cert != nil {
			return c.cert, nil // keep serving the old pair while the new one is half-written
		}
		return nil, fmt.Errorf("load TLS certificate: %w", err)
	}
	c.cert, c.modTime = &cert, mod
	return c.cert, nil
}

func latestModTime(paths ...string) time.Time {
	var t time.Time
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && fi.ModTime().After(t) {
			t = fi.ModTime()
		}
	}
	return t
}
