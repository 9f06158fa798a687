// The small readers of a folder's files: PEM and certificate helpers, and
// the words for a file that cannot be read.

package install

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"strconv"
	"strings"

	"github.com/certkit/certkit/internal/shellquote"
)

// pemCerts returns the certificates x509.CertPool.AppendCertsFromPEM would
// add from data: CERTIFICATE blocks without headers that parse.
func pemCerts(data []byte) []*x509.Certificate {
	var out []*x509.Certificate
	for len(data) > 0 {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" || len(b.Headers) != 0 {
			continue
		}
		if c, err := x509.ParseCertificate(b.Bytes); err == nil {
			out = append(out, c)
		}
	}
	return out
}

func hasPrivateKey(data []byte) bool {
	for len(data) > 0 {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return false
		}
		if strings.HasSuffix(b.Type, "PRIVATE KEY") {
			return true
		}
	}
	return false
}

func clientAuth(c *x509.Certificate) bool {
	// No extended key usage at all means any usage to Go's verifier.
	return len(c.ExtKeyUsage) == 0 && len(c.UnknownExtKeyUsage) == 0 ||
		hasEKU(c, x509.ExtKeyUsageClientAuth) || hasEKU(c, x509.ExtKeyUsageAny)
}

func hasEKU(c *x509.Certificate, u x509.ExtKeyUsage) bool {
	for _, e := range c.ExtKeyUsage {
		if e == u {
			return true
		}
	}
	return false
}

// describe names a certificate for messages: "CN=…" or its serial.
func describe(c *x509.Certificate) string {
	if c.Subject.CommonName != "" {
		return fmt.Sprintf("%q", c.Subject.CommonName)
	}
	return "with serial " + c.SerialNumber.Text(16)
}

// errText is an OS error without the path (messages name the file already).
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// unreadable says why a file the loaders read cannot be read, and what to
// do about it.
func (r *reader) unreadable(name string, key bool, err error) (msg, fix string) {
	p := r.path(name)
	if !errors.Is(err, fs.ErrPermission) {
		return "cannot be read: " + errText(err), "make it a readable file, or move it out of " + r.f.Dir
	}
	fi, serr := r.stat(p)
	return permissionText(p, key, fi, serr, os.Geteuid(), r.opt.Name)
}

// permissionText explains a file (a key when key is set) that this user
// (euid) may not read; fi is the file's, nil when statErr says it cannot
// even be looked at.
func permissionText(path string, key bool, fi fs.FileInfo, statErr error, euid int, registry string) (msg, fix string) {
	sudo := fmt.Sprintf("run the check as root: sudo certkit verify --offline --host %s (with the same --certs-dir or --target, if you gave one)", shellquote.Quote(registry))
	if statErr != nil || fi == nil {
		return "cannot be read by this user: permission denied", sudo
	}
	mode := fi.Mode().Perm()
	uid, _, ok := ownerOf(fi)
	switch {
	case !ok || uid == euid:
		// This user's own file, kept out by its mode.
		if key {
			return fmt.Sprintf("cannot be read: permission denied (mode %04o)", mode), "chmod 600 " + shellquote.Quote(path)
		}
		return fmt.Sprintf("cannot be read: permission denied (mode %04o)", mode), "chmod 644 " + shellquote.Quote(path)
	case !key:
		return fmt.Sprintf("cannot be read by this user: it belongs to %s and has mode %04o", userName(uid), mode),
			"a certificate is public: sudo chmod 644 " + shellquote.Quote(path)
	}
	as := ""
	if mode&0o077 == 0 {
		as = ", as a private key should"
	}
	return fmt.Sprintf("cannot be read by this user (uid %d): it belongs to %s and has mode %04o%s", euid, userName(uid), mode, as),
		sudo + ". A container runtime that runs as this user (rootless Docker, podman or skopeo without sudo) cannot read it either: " +
			"such a runtime needs its own pair in this user's certs.d: certkit install --target docker-rootless --host " + shellquote.Quote(registry) + " (or --target podman), run as this user"
}

// userName names the owner of a file: the user name, else the uid.
func userName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil && u.Username != "" {
		return u.Username
	}
	return "uid " + strconv.Itoa(uid)
}

// decryptFix is the command that decrypts a key safely: into a new file,
// made 0600, then renamed over the old one. Never openssl pkey -in K -out
// K: openssl opens its output first, which empties K before it is read.
func decryptFix(key string) string {
	k, n := shellquote.Quote(key), shellquote.Quote(key+".new")
	return fmt.Sprintf("decrypt it (openssl asks for its passphrase): openssl pkey -in %s -out %s && chmod 600 %s && mv %s %s", k, n, n, n, k)
}
