// Package bundle carries one client's material from the CA machine to a
// client machine: the CA certificate, one client pair and the registry
// they are for, in one file (certkit export, certkit install --from); and
// the same pair as PKCS #12 for browsers, Windows, macOS and Java.
//
// A bundle is one PEM file of these blocks, in this order, with nothing
// but white space between and after them:
//
//	-----BEGIN CERTKIT BUNDLE-----
//	Version: 1
//	Registry: reg.example.com:5000
//	Name: laptop
//
//	-----END CERTKIT BUNDLE-----
//	-----BEGIN CERTIFICATE-----     the CA certificate (ca.crt)
//	-----BEGIN CERTIFICATE-----     the client certificate (NAME.cert)
//	-----BEGIN CERTIFICATE-----     its issuing CA, in a per-registry home
//	                                (NAME.cert carries it too); up to four
//	-----BEGIN PRIVATE KEY-----     its key (NAME.key), unencrypted
//
// The first block has no body; its headers name the registry, as in image
// references, and the pair's name, the stem of NAME.cert and NAME.key in
// the registry's certs.d folder. A bundle never holds the CA's key. It
// holds a client's private key, so it is written 0600.
package bundle

import (
	"bytes"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/internal/shellquote"
	"github.com/certkit/certkit/issue"
)

// Version is the bundle format this certkit writes and reads.
const Version = "1"

// headerType is the type of a bundle's first PEM block.
const headerType = "CERTKIT BUNDLE"

// Bundle is the content of a bundle file.
type Bundle struct {
	Registry host.Registry
	Name     string
	// CA and Key are PEM, one block each; Cert is the client
	// certificate and the issuing CAs after it.
	CA, Cert, Key []byte
}

// FormatError reports a file that is not a whole certkit bundle.
type FormatError struct {
	Reason string
}

func (e *FormatError) Error() string { return "not a certkit bundle: " + e.Reason }

// Hint says where bundles come from.
func (e *FormatError) Hint() string {
	return "make it on the CA machine with certkit export --host HOST --name NAME --out FILE, and copy the whole file"
}

// InputError marks e as bad input (exit 2).
func (e *FormatError) InputError() bool { return true }

// Encode writes b in the bundle format.
func (b *Bundle) Encode() []byte {
	var out bytes.Buffer
	// The header block by hand: encoding/pem sorts headers, and the
	// version leads.
	fmt.Fprintf(&out, "-----BEGIN %s-----\nVersion: %s\nRegistry: %s\nName: %s\n\n-----END %s-----\n",
		headerType, Version, b.Registry, b.Name, headerType)
	for _, p := range [][]byte{b.CA, b.Cert, b.Key} {
		out.Write(bytes.TrimSpace(p))
		out.WriteByte('\n')
	}
	return out.Bytes()
}

// maxChain bounds the issuing CAs after the client certificate.
const maxChain = 4

// Parse reads a bundle. It checks the form (the blocks, in order, each
// parsed) and the names; whether the pair belongs to the CA and may
// be installed is install's to check (install.Options.From).
func Parse(data []byte) (*Bundle, error) {
	bad := func(format string, a ...any) (*Bundle, error) {
		return nil, &FormatError{Reason: fmt.Sprintf(format, a...)}
	}
	var blocks []*pem.Block
	var raw [][]byte
	rest := data
	for len(bytes.TrimSpace(rest)) > 0 {
		rest = bytes.TrimLeft(rest, " \t\r\n")
		if !bytes.HasPrefix(rest, []byte("-----BEGIN ")) {
			return bad("text outside a PEM block after block %d", len(blocks))
		}
		before := rest
		b, after := pem.Decode(rest)
		if b == nil {
			return bad("block %d is cut short or damaged (the file is truncated?)", len(blocks)+1)
		}
		blocks = append(blocks, b)
		raw = append(raw, before[:len(before)-len(after)])
		rest = after
		if len(blocks) > 4+maxChain {
			return bad("more than %d PEM blocks", 4+maxChain)
		}
	}
	// The issuing CAs between the client certificate and the key join
	// the client certificate.
	chain := 0
	for i := 3; i < len(blocks) && blocks[i].Type == "CERTIFICATE"; i++ {
		chain++
	}
	if chain > 0 {
		for i := 3; i < 3+chain; i++ {
			raw[2] = append(append([]byte{}, raw[2]...), raw[i]...)
		}
		blocks = append(blocks[:3], blocks[3+chain:]...)
		raw = append(raw[:3], raw[3+chain:]...)
	}
	want := []string{headerType, "CERTIFICATE", "CERTIFICATE", "PRIVATE KEY"}
	what := []string{"the bundle header", "the CA certificate", "the client certificate", "the private key"}
	if len(blocks) > len(want) {
		return bad("block %d is %s after the private key", len(want)+chain+1, blocks[len(want)].Type)
	}
	for i, w := range want {
		if i >= len(blocks) {
			return bad("%s is missing (the file is truncated?)", what[i])
		}
		t := blocks[i].Type
		if t != w && !(i == 3 && strings.HasSuffix(t, " PRIVATE KEY") && t != "ENCRYPTED PRIVATE KEY") {
			return bad("block %d is %s, want %s (%s)", i+1, t, w, what[i])
		}
	}
	h := blocks[0]
	if v := h.Headers["Version"]; v != Version {
		return bad("format version %q, this certkit reads version %s", v, Version)
	}
	if len(h.Bytes) != 0 || len(h.Headers) != 3 {
		return bad("the header block holds more than Version, Registry and Name")
	}
	reg, err := host.Parse(h.Headers["Registry"])
	if err != nil {
		return bad("Registry: %v", err)
	}
	if reg.String() != h.Headers["Registry"] {
		return bad("Registry %q is not written as certkit writes it (%s)", h.Headers["Registry"], reg)
	}
	name := h.Headers["Name"]
	if err := issue.ValidateName(name); err != nil {
		return bad("Name: %v", err)
	}
	if _, err := ca.ParseCerts(raw[1]); err != nil {
		return bad("the CA certificate: %v", err)
	}
	if _, err := ca.ParseCerts(raw[2]); err != nil {
		return bad("the client certificate: %v", err)
	}
	if _, err := ca.ParseKey(raw[3]); err != nil {
		return bad("the private key: %v", err)
	}
	return &Bundle{Registry: reg, Name: name, CA: raw[1], Cert: raw[2], Key: raw[3]}, nil
}

// Material is what install copies from the bundle, read from the file
// source.
func (b *Bundle) Material(source string) install.Material {
	return install.Material{
		Registry: b.Registry,
		Source:   source,
		Fix: fmt.Sprintf("make the bundle again on the CA machine: certkit export --host %s --name %s --out FILE",
			shellquote.Quote(b.Registry.String()), shellquote.Quote(b.Name)),
		CA:    b.CA,
		Pairs: []install.MaterialPair{{Name: b.Name, Cert: b.Cert, Key: b.Key}},
	}
}
