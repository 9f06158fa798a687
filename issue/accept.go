package issue

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/atomicfile"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/internal/safefs"
)

// AcceptOptions describe a certificate brought back to the client machine
// whose home holds its pending request (certkit install --cert).
type AcceptOptions struct {
	Home string
	// Cert is the file sign wrote: the client certificate, then the CA
	// certificate that signed it.
	Cert   []byte
	Source string // names the file in errors
	Now    func() time.Time
}

// Accepted is a certificate taken back next to its key in the home.
type Accepted struct {
	Registry  host.Registry
	Name      string
	Cert      *x509.Certificate
	CA        *x509.Certificate
	CAAdopted bool // the home had no CA certificate: the file's is now ca/ca.crt
	CertPath  string
	KeyPath   string

	homeDir string
	written []string // what Accept wrote, for Undo
	pending []string // the pending key and request, for Finish
}

// AcceptError reports a certificate that does not fit the home: it is for
// no pending key, not from the home's CA, or not a client certificate.
type AcceptError struct {
	Source string
	Reason string
	Fix    string
}

func (e *AcceptError) Error() string { return e.Source + ": " + e.Reason }

// Hint says what to do.
func (e *AcceptError) Hint() string { return e.Fix }

// InputError marks e as bad input (exit 2).
func (e *AcceptError) InputError() bool { return true }

// pendingKey is one pending request's key in the home.
type pendingKey struct {
	folder, name string
	keyPEM       []byte
}

// Accept checks a signed certificate against the home's pending requests
// and CA, then writes it next to its key in hosts/<host[:port]>/ (the key
// moves there; the CA certificate too, when the home has none). The
// pending request stays until Finish, so that Undo can put everything
// back when the install that follows fails. Nothing is written when a
// check fails: the certificate's key is a pending one, the certificate
// chains to the home's CA (or, in a home without one, to the CA in the
// file), it is a leaf with clientAuth, valid now.
func Accept(opt AcceptOptions) (*Accepted, error) {
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	t := now()
	bad := func(reason, fix string) (*Accepted, error) {
		return nil, &AcceptError{Source: opt.Source, Reason: reason, Fix: fix}
	}
	certs, err := ca.ParseCerts(opt.Cert)
	if err != nil {
		return bad(err.Error(), "pass the certificate file certkit sign wrote")
	}
	leaf := certs[0]
	if leaf.IsCA {
		return bad("its first certificate is a CA certificate, not a client certificate", "pass the certificate file certkit sign wrote")
	}

	release, err := home.Lock(opt.Home, false)
	if err != nil {
		return nil, err
	}
	defer release(false)
	var keys []pendingKey
	var homeCA []byte
	hd, err := safefs.OpenDir(opt.Home)
	if err != nil {
		return nil, err
	}
	err = hd.Do(func(r *safefs.Root) error {
		if keys, err = readPending(r); err != nil {
			return err
		}
		homeCA, err = r.ReadFile(filepath.Join("ca", ca.CertFile), safefs.MaxFile)
		if errors.Is(err, fs.ErrNotExist) {
			homeCA, err = nil, nil
		}
		return err
	})
	if errors.Is(err, fs.ErrNotExist) {
		return bad("there is no certkit home at "+opt.Home+", so no pending request", "run certkit install --cert on the machine that ran certkit request, with the same certkit home")
	}
	if err != nil {
		return nil, err
	}
	fp, err := KeyFingerprint(leaf.PublicKey)
	if err != nil {
		return nil, err
	}
	var match *pendingKey
	var names []string
	for i, k := range keys {
		names = append(names, k.folder+"/"+k.name)
		if key, err := ca.ParseKey(k.keyPEM); err == nil && ca.KeyMatches(leaf.PublicKey, key) {
			match = &keys[i]
		}
	}
	if match == nil {
		pending := "there is no pending request"
		if len(names) > 0 {
			pending = "the pending requests are " + strings.Join(names, ", ")
		}
		return bad(fmt.Sprintf("the certificate (key SHA-256 %s) does not belong to a key of a pending request in %s; %s", fp, opt.Home, pending),
			"pass the certificate certkit sign made from this machine's request (certkit request), in this certkit home")
	}
	reg, err := host.Parse(match.folder)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", PendingDir(opt.Home, match.folder), err)
	}

	// The CA: the home's, else the one in the file.
	var caCert *x509.Certificate
	adopted := homeCA == nil
	if !adopted {
		cs, err := ca.ParseCerts(homeCA)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", filepath.Join(home.CADir(opt.Home), ca.CertFile), err)
		}
		caCert = cs[0]
	} else {
		// The root: the self-signed CA the file's chain ends in (the
		// leaf's issuer itself in a home with one CA for every registry).
		for _, c := range certs[1:] {
			if c.IsCA && bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil {
				caCert = c
			}
		}
		if caCert == nil {
			return bad("the file holds no CA certificate, and the certkit home has none to check the certificate with",
				"pass the whole file certkit sign wrote (certificate, then CA)")
		}
	}
	// The issuing CAs between the leaf and the root: they stay in
	// NAME.cert, so that the client sends them.
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(caCert)
	var chain []*x509.Certificate
	for _, c := range certs[1:] {
		if c.IsCA && !c.Equal(caCert) && !bytes.Equal(c.RawIssuer, c.RawSubject) {
			inter.AddCert(c)
			chain = append(chain, c)
		}
	}
	_, verr := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: t, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(verr, &invalid) && invalid.Reason == x509.IncompatibleUsage:
		return bad("the certificate has no clientAuth extended key usage; the registry would refuse it",
			"sign the request as a client certificate: certkit sign FILE.csr (the default --profile client)")
	case errors.As(verr, &invalid) && invalid.Reason == x509.Expired:
		return bad("the certificate is not valid now (valid "+leaf.NotBefore.UTC().Format(time.RFC3339)+" to "+leaf.NotAfter.UTC().Format(time.RFC3339)+")",
			"check this machine's clock, or have the request signed again")
	case verr != nil && !adopted:
		return bad(fmt.Sprintf("the certificate is not issued by the home's CA %q (%v)", caCert.Subject.CommonName, verr),
			"have it signed on the machine of this CA, or use the certkit home that holds the CA it came from")
	case verr != nil:
		return bad("the certificate does not verify: "+verr.Error(), "have the request signed again")
	}

	dir := home.HostDir(opt.Home, match.folder)
	a := &Accepted{Registry: reg, Name: match.name, Cert: leaf, CA: caCert, CAAdopted: adopted,
		CertPath: filepath.Join(dir, match.name+home.CertExt), KeyPath: filepath.Join(dir, match.name+home.KeyExt), homeDir: opt.Home}
	pdir := PendingDir(opt.Home, match.folder)
	a.pending = []string{filepath.Join(pdir, match.name+home.KeyExt), filepath.Join(pdir, match.name+CSRExt)}
	files := []atomicfile.File{
		{Path: a.KeyPath, Data: match.keyPEM, Mode: 0o600},
		{Path: a.CertPath, Data: append(ca.EncodeCert(leaf), ca.EncodeCerts(chain)...), Mode: 0o644},
	}
	if adopted {
		files = append(files, atomicfile.File{Path: filepath.Join(home.CADir(opt.Home), ca.CertFile), Data: ca.EncodeCert(caCert), Mode: 0o644})
	}
	if _, err := atomicfile.WriteAll(files, atomicfile.Options{Now: t, DirMode: 0o700}); err != nil {
		var ee *atomicfile.ExistsError
		if errors.As(err, &ee) {
			return nil, errs.WithHint(err, "a pair of that name is already issued in this home; make the request again under another name: certkit request --name …")
		}
		return nil, err
	}
	for _, f := range files {
		a.written = append(a.written, f.Path)
	}
	return a, nil
}

// readPending reads the key of every pending request in the home r.
func readPending(r *safefs.Root) ([]pendingKey, error) {
	folders, err := r.ReadDir(PendingDirName)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []pendingKey
	for _, f := range folders {
		if !f.IsDir() {
			continue
		}
		rel := filepath.Join(PendingDirName, f.Name())
		entries, err := r.ReadDir(rel)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			name, ok := strings.CutSuffix(e.Name(), home.KeyExt)
			if !ok || !e.Type().IsRegular() {
				continue
			}
			data, err := r.ReadFile(filepath.Join(rel, e.Name()), safefs.MaxFile)
			if err != nil {
				return nil, err
			}
			out = append(out, pendingKey{folder: f.Name(), name: name, keyPEM: data})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].folder+"/"+out[i].name < out[j].folder+"/"+out[j].name })
	return out, nil
}

// Finish removes the pending request, now that its certificate is in the
// home, and its folder when that is empty.
func (a *Accepted) Finish() error {
	release, err := home.Lock(a.homeDir, false)
	if err != nil {
		return err
	}
	defer release(false)
	for _, p := range a.pending {
		if err := safefs.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	dir := filepath.Dir(a.pending[0])
	safefs.RemoveEmpty([]string{filepath.Dir(dir), dir})
	return nil
}

// Undo removes what Accept wrote (the pending request is still there).
func (a *Accepted) Undo() {
	release, err := home.Lock(a.homeDir, false)
	if err == nil {
		defer release(false)
	}
	for i := len(a.written) - 1; i >= 0; i-- {
		safefs.Remove(a.written[i])
	}
	// The folders it may have made, when they are empty now.
	hosts := home.HostsDir(a.homeDir)
	safefs.RemoveEmpty([]string{hosts, filepath.Dir(a.KeyPath)})
	safefs.RemoveEmpty([]string{home.CADir(a.homeDir)})
}
