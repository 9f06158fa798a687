// Reading a registry folder, file by file: CA files, client pairs, stray
// keys and what else lies there, each judged as the runtimes judge it.

package install

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/shellquote"
)

func (r *reader) caFile(name string) {
	p := r.path(name)
	data, err := r.read(p)
	if err != nil {
		// Docker and podman return this error for the whole folder.
		if fi, serr := r.stat(p); serr != nil || !fi.IsDir() { // containerd skips folders
			r.loose = append(r.loose, looseFailure{problem: len(r.f.Problems), err: fmt.Sprintf("unable to read CA cert %q: %v", p, err)})
		}
		msg, fix := r.unreadable(name, false, err)
		r.add(SeverityError, KindUnreadable, name, msg, fix).LoaderError = err.Error()
		return
	}
	certs := pemCerts(data)
	r.f.CAs = append(r.f.CAs, CAFile{Name: name, Path: p, Certs: certs})
	if hasPrivateKey(data) {
		r.add(SeverityError, KindKeyInCert, name, "holds a private key next to the certificate; a .crt file is public, and no loader reads a key from it",
			"keep only the CERTIFICATE block in "+p+" and move the key out of certs.d")
	}
	if len(certs) == 0 {
		fix := "replace it with the CA certificate in PEM form"
		if _, err := x509.ParseCertificate(data); err == nil {
			// Never the same file for -in and -out: openssl truncates the
			// output before it reads the input.
			fix = fmt.Sprintf("it is DER; convert it: openssl x509 -inform der -in %s -out %s && mv %s %s", shellquote.Quote(p), shellquote.Quote(p+".pem"), shellquote.Quote(p+".pem"), shellquote.Quote(p))
		}
		r.loose = append(r.loose, looseFailure{problem: len(r.f.Problems), err: fmt.Sprintf("unable to load CA cert %q", p), raise: true})
		r.add(SeverityWarning, KindNotPEM, name, "is not a PEM certificate; Docker and podman silently ignore it", fix)
		return
	}
	for _, c := range certs {
		what := "CA certificate " + describe(c)
		notCA := !(c.IsCA && c.BasicConstraintsValid)
		first := len(r.f.Problems)
		if notCA {
			fix := "put the CA that signed the registry's certificate here instead (certkit's is ca.crt in the certkit home's ca folder)"
			if name != CAFileName && r.names[CAFileName] {
				// ca.crt is there (certkit installs it): the leftover goes,
				// to a name no runtime reads.
				fix = fmt.Sprintf("unless the registry serves exactly this certificate, move it out of the way (%s is the folder's CA file): %s",
					CAFileName, moveAside(p, ""))
			}
			r.add(SeverityWarning, KindNotCA, name, fmt.Sprintf("holds %s, which is not a CA: it only helps if the registry serves exactly this certificate", describe(c)), fix)
			what = "certificate " + describe(c)
		}
		r.validity(name, what, c, SeverityWarning, "replace it with the current CA certificate")
		if notCA {
			for i := first; i < len(r.f.Problems); i++ {
				r.crtProblems[name] = append(r.crtProblems[name], i)
			}
		}
	}
}

func (r *reader) pair(certName string) {
	stem := strings.TrimSuffix(certName, CertExt)
	keyName := stem + KeyExt
	p := Pair{Name: stem, CertPath: r.path(certName)}
	certPEM, certErr := r.read(p.CertPath)
	if certErr == nil {
		if certs := pemCerts(certPEM); len(certs) > 0 {
			p.Cert = certs[0]
		}
	}
	if !r.names[keyName] {
		msg := fmt.Sprintf("missing key %s for client certificate %s. CA certificates must use the extension .crt", keyName, certName)
		p.Err = errors.New(msg)
		r.f.Pairs = append(r.f.Pairs, p)
		fix := fmt.Sprintf("put the client key beside it as %s, or move %s out of the folder", r.path(keyName), p.CertPath)
		if p.Cert != nil && p.Cert.IsCA {
			fix = "it is a CA certificate: " + r.caFileFix(certName, pemCerts(certPEM))
		}
		if certErr == nil {
			// containerd looks for the key in the .cert itself.
			if _, err := tls.X509KeyPair(certPEM, certPEM); err != nil {
				r.loose = append(r.loose, looseFailure{problem: len(r.f.Problems), err: "failed to load X509 key pair: " + err.Error()})
			}
		}
		r.add(SeverityError, KindUnpairedCert, certName, fmt.Sprintf("has no %s beside it: Docker and podman fail every pull and login for this registry with %q", keyName, msg),
			fix).LoaderError = msg
		return
	}
	p.KeyPath = r.path(keyName)
	r.keyMode(keyName)
	keyPEM, keyErr := r.read(p.KeyPath)
	if certErr != nil || keyErr != nil {
		// The loaders read NAME.cert, then NAME.key, and stop at the first
		// that fails; each file that cannot be read is named.
		p.Err = certErr
		if p.Err == nil {
			p.Err = keyErr
		}
		r.f.Pairs = append(r.f.Pairs, p)
		loaderErr := p.Err.Error()
		for _, f := range []struct {
			name string
			key  bool
			err  error
		}{{certName, false, certErr}, {keyName, true, keyErr}} {
			if f.err == nil {
				continue
			}
			msg, fix := r.unreadable(f.name, f.key, f.err)
			r.add(SeverityError, KindUnreadable, f.name, msg, fix).LoaderError = loaderErr
			loaderErr = "" // the loaders stop at the first
		}
		return
	}
	p.TLS, p.Err = tls.X509KeyPair(certPEM, keyPEM) // what tls.LoadX509KeyPair does after reading
	r.f.Pairs = append(r.f.Pairs, p)
	if hasPrivateKey(certPEM) {
		r.add(SeverityWarning, KindKeyInCert, certName, "holds a private key as well as the certificate; only containerd reads a combined file, and "+certName+" is meant to be public",
			"keep only the certificate in "+p.CertPath+" (the key belongs in "+keyName+")")
	}
	if p.Err != nil {
		kind, msg, fix := r.pairError(p, keyPEM)
		r.loose = append(r.loose, looseFailure{problem: len(r.f.Problems), err: "failed to load X509 key pair: " + p.Err.Error()})
		r.add(SeverityError, kind, certName, msg, fix).LoaderError = p.Err.Error()
		return
	}
	if p.Cert == nil { // X509KeyPair succeeded, so there is one
		r.f.Pairs[len(r.f.Pairs)-1].Cert, _ = x509.ParseCertificate(p.TLS.Certificate[0])
	}
}

// checkPair judges the certificate of a pair that loads, once every file
// of the folder is read.
func (r *reader) checkPair(i int) {
	p := r.f.Pairs[i]
	if p.Err != nil || p.Cert == nil {
		return
	}
	c := p.Cert
	certName, keyName := filepath.Base(p.CertPath), filepath.Base(p.KeyPath)
	if c.IsCA && c.BasicConstraintsValid && r.isCAKey(c) {
		r.judged[p.Name] = true
		r.add(SeverityError, KindCAKey, certName, fmt.Sprintf("is a CA certificate (%s) with its private key in %s: a CA key must never be in certs.d", describe(c), keyName),
			fmt.Sprintf("move %s out of the folder to where the CA is kept; a CA certificate belongs here: %s", p.KeyPath, r.caFileFix(certName, []*x509.Certificate{c})))
		return
	}
	if selfSigned(c) && clientAuth(c) {
		// The old recipe: openssl req -new -x509 makes a self-signed
		// certificate (CA:TRUE with OpenSSL 3, no extended key usage)
		// that signs nothing else.
		r.judged[p.Name] = true
		r.add(SeverityWarning, KindSelfSignedClient, certName, fmt.Sprintf("is a self-signed client certificate (%s), as the old openssl req -x509 recipe made: a registry that checks client certificates against its CA (http.tls.clientcas) does not trust it, and Go clients do not even send it to a registry that names the CAs it accepts", describe(c)),
			fmt.Sprintf("move the old pair out of certs.d (%s), then issue a client certificate from the registry's CA and install it: certkit issue client --host %s%s, then %s",
				r.oldPairMove(p), r.host(), r.opt.HomeFlags, r.installCmd(false)))
		return
	}
	if !clientAuth(c) {
		what := "has no clientAuth in its extended key usage"
		if hasEKU(c, x509.ExtKeyUsageServerAuth) {
			what = "is a server certificate (serverAuth, no clientAuth)"
		}
		r.add(SeverityError, KindNoClientAuth, certName, what+": the registry rejects it with \"bad certificate\"",
			"issue a client certificate: certkit issue client --host "+r.host()+r.opt.HomeFlags)
	}
	r.validity(certName, "client certificate "+describe(c), c, SeverityError, r.renewCmd(strings.TrimSuffix(certName, CertExt)))
}

// oldPairMove is the command that moves a pair out of certs.d, into a
// folder of its own under ~/old-certs, per registry and pair name: the
// folder is made by this command (mkdir without -p), so that a second run,
// or another registry's pair of the same name, fails loudly rather than
// overwriting or skipping files.
func (r *reader) oldPairMove(p Pair) string {
	reg := "~/old-certs/" + shellquote.Quote(r.opt.Name)
	dst := reg + "/" + shellquote.Quote(p.Name)
	return fmt.Sprintf("mkdir -p -m 700 %s && mkdir -m 700 %s && mv %s %s %s/",
		reg, dst, shellquote.Quote(p.CertPath), shellquote.Quote(p.KeyPath), dst)
}

// pairError explains why a pair does not load.
func (r *reader) pairError(p Pair, keyPEM []byte) (kind Kind, msg, fix string) {
	loaderSays := fmt.Sprintf("Docker and podman fail every pull for this registry with %q", p.Err.Error())
	if p.Cert == nil {
		return KindNotPEM, "holds no PEM certificate: " + loaderSays, "replace it with the client certificate in PEM form"
	}
	key, err := ca.ParseKey(keyPEM)
	switch {
	case errors.Is(err, ca.ErrEncryptedKey):
		return KindEncryptedKey, fmt.Sprintf("%s is encrypted; no container runtime can read an encrypted key: %s", filepath.Base(p.KeyPath), loaderSays),
			decryptFix(p.KeyPath)
	case err != nil:
		return KindBadKey, fmt.Sprintf("%s is not a usable private key (%v): %s", filepath.Base(p.KeyPath), err, loaderSays),
			"put the key that belongs to " + p.CertPath + " in " + p.KeyPath
	case !ca.KeyMatches(p.Cert.PublicKey, key):
		return KindKeyMismatch, fmt.Sprintf("%s does not belong to %s: %s", filepath.Base(p.KeyPath), filepath.Base(p.CertPath), loaderSays),
			"install the matching pair again: " + r.installCmd(true)
	}
	return KindBadPair, "cannot be loaded: " + loaderSays, "replace both files with a working pair: " + r.installCmd(true)
}

func (r *reader) strayKeyFile(name, stem string) {
	msg := fmt.Sprintf("missing client certificate %s for key %s", stem+CertExt, name)
	r.keyMode(name)
	var pub crypto.PublicKey
	if data, err := r.read(r.path(name)); err == nil {
		if k, err := ca.ParseKey(data); err == nil {
			pub = k.Public()
		}
	}
	r.keys = append(r.keys, strayKey{file: name, key: pub, problem: len(r.f.Problems)})
	why := fmt.Sprintf("Docker and podman fail every pull with %q", msg)
	if r.opt.HostsTOML {
		// containerd's layout: only containerd reads this root, and it
		// ignores a key hosts.toml does not name. Still an error: a
		// private key does not belong in certs.d, and one certkit cannot
		// tell apart may be the registry's server key.
		why = "containerd, the only reader of this certs root, ignores it, but a private key does not belong in certs.d (Docker and podman would fail every pull on it)"
	}
	r.add(SeverityError, KindStrayKey, name, fmt.Sprintf("has no %s beside it: %s", stem+CertExt, why),
		fmt.Sprintf("move %s out of certs.d (a CA or server key never belongs here; a client key needs its certificate as %s)", r.path(name), stem+CertExt)).LoaderError = msg
}

// keyMode flags private keys that other users can read.
func (r *reader) keyMode(name string) {
	fi, err := r.stat(r.path(name))
	if err != nil || !fi.Mode().IsRegular() {
		return
	}
	switch m := fi.Mode().Perm(); {
	case m&0o004 != 0:
		r.add(SeverityError, KindKeyReadable, name, fmt.Sprintf("is readable by every user on this machine (mode %04o)", m), "chmod 600 "+shellquote.Quote(r.path(name)))
	case m&0o040 != 0:
		r.add(SeverityWarning, KindKeyReadable, name, fmt.Sprintf("is readable by its group (mode %04o)", m), "chmod 600 "+shellquote.Quote(r.path(name)))
	}
}

// otherFile looks into files no loader reads for private keys left behind.
func (r *reader) otherFile(name string) {
	fi, err := r.stat(r.path(name))
	if err != nil {
		return
	}
	if fi.IsDir() || !fi.Mode().IsRegular() || fi.Size() > 1<<20 {
		return
	}
	data, err := r.read(r.path(name))
	if err != nil {
		return
	}
	if !hasPrivateKey(data) {
		// a CA saved under the other names PEM files go by (a backup,
		// name.crt.orig, is left alone)
		if ext := strings.ToLower(filepath.Ext(name)); (ext == ".pem" || ext == ".cer") && bytes.Contains(data, []byte("-----BEGIN CERTIFICATE-----")) {
			stem := strings.TrimSuffix(name, filepath.Ext(name))
			r.add(SeverityWarning, KindIgnoredCert, name, "holds a certificate that every runtime ignores: they read CAs from *.crt and client pairs from NAME.cert + NAME.key",
				fmt.Sprintf("if it is the registry's CA, rename it: mv %s %s", shellquote.Quote(r.path(name)), shellquote.Quote(r.path(stem+CAExt))))
		}
		return
	}
	var pub crypto.PublicKey
	if k, err := ca.ParseKey(data); err == nil {
		pub = k.Public()
	}
	r.keys = append(r.keys, strayKey{file: name, key: pub, problem: len(r.f.Problems)})
	r.add(SeverityError, KindStrayKey, name, "holds a private key that no container runtime uses here; a CA or server key never belongs in certs.d",
		"move "+r.path(name)+" out of certs.d")
}

// containerdLoose marks the problems containerd fails on when it reads the
// loose files: without a usable hosts.toml it loads every .crt (failing on
// one that holds no PEM certificate, which Docker and podman skip) and
// every .cert (with NAME.key, else looking for the key in the .cert).
func (r *reader) containerdLoose() {
	for _, l := range r.loose {
		p := &r.f.Problems[l.problem]
		p.ContainerdError = l.err
		if l.raise {
			p.Severity = SeverityError
			p.Message += fmt.Sprintf(", but containerd (and Docker's containerd image store) fails for this registry with %q", l.err)
		}
	}
}

// checkStrayKeys says what the stray keys are: the key of a CA, of the
// registry's server certificate, or of a client certificate saved as .crt.
func (r *reader) checkStrayKeys() {
	for _, k := range r.keys {
		if r.matchStrayKey(k) || !serverKeyName(k.file) {
			continue
		}
		// The message stays the loaders' words; the fix says what it is.
		p := &r.f.Problems[k.problem]
		p.Severity, p.Kind = SeverityError, KindServerKey
		p.Fix = fmt.Sprintf("move %s out of certs.d: by its name it is the registry's server key, which never belongs in certs.d (the registry reads it from its own configuration, http.tls.key)", r.path(k.file))
	}
}

// matchStrayKey looks for the certificate of a stray key among the .crt
// files, rewrites the key's problem accordingly, and reports whether it
// found one.
func (r *reader) matchStrayKey(k strayKey) bool {
	pk, ok := k.key.(interface{ Equal(crypto.PublicKey) bool })
	if !ok {
		return false
	}
	for _, c := range r.f.CAs {
		for i, cert := range c.Certs {
			if !pk.Equal(cert.PublicKey) {
				continue
			}
			p := &r.f.Problems[k.problem]
			moveOut := "move " + r.path(k.file) + " out of certs.d, to where that key is kept"
			isCA := cert.IsCA && cert.BasicConstraintsValid
			caKey := func() {
				p.Severity, p.Kind, p.Fix = SeverityError, KindCAKey, moveOut
				p.Message = "is the private key of the CA in " + c.Name + ": whoever reads it can issue certificates your registry trusts; " + p.Message
			}
			switch {
			case isCA && (cert.KeyUsage&x509.KeyUsageCertSign != 0 || r.signsOther(cert)):
				caKey()
			case r.isServerCert(cert, k.file):
				p.Severity, p.Kind, p.Fix = SeverityError, KindServerKey, moveOut
				p.Message = "is the private key of the server certificate in " + c.Name + "; " + p.Message
			case isCA && !selfSigned(cert):
				caKey()
			case clientAuth(cert) && i == 0 && r.misnamedPair(p, k, c.Name, cert):
				// A self-signed CA:TRUE certificate that signs nothing is
				// the old recipe's client certificate (openssl req -x509).
			case isCA:
				caKey()
			default:
				p.Message = fmt.Sprintf("is the private key of the certificate %s in %s, which is neither a CA nor a client certificate; %s", describe(cert), c.Name, p.Message)
				p.Fix = moveOut
			}
			return true
		}
	}
	return false
}

// misnamedPair rewrites the problem of a stray key whose client
// certificate is saved as a .crt (crtName): the classic client.crt beside
// client.key. It reports false when no rename can make them a pair.
func (r *reader) misnamedPair(p *Problem, k strayKey, crtName string, cert *x509.Certificate) bool {
	var fix, certAs string
	if stem, ok := strings.CutSuffix(k.file, KeyExt); ok {
		// NAME.key is stray, so NAME.cert is free.
		certAs = stem + CertExt
		fix = fmt.Sprintf("mv %s %s", shellquote.Quote(r.path(crtName)), shellquote.Quote(r.path(certAs)))
	} else {
		stem := strings.TrimSuffix(crtName, CAExt)
		certAs = stem + CertExt
		if r.names[certAs] || r.names[stem+KeyExt] {
			return false
		}
		fix = fmt.Sprintf("mv %s %s && mv %s %s", shellquote.Quote(r.path(crtName)), shellquote.Quote(r.path(certAs)), shellquote.Quote(r.path(k.file)), shellquote.Quote(r.path(stem+KeyExt)))
	}
	// One diagnosis for both files: the .crt's own problems (not a CA,
	// expiring) were about a CA file it is not.
	for _, i := range r.crtProblems[crtName] {
		r.dropped[i] = true
	}
	p.Kind, p.File, p.Fix = KindMisnamedClientCert, crtName, fix
	p.Message = fmt.Sprintf("is a client certificate (%s), and %s beside it is its key: saved as .crt instead of %s, Docker and podman take it for a CA", describe(cert), k.file, certAs)
	if p.LoaderError != "" {
		p.Message += fmt.Sprintf(" and fail every pull and login for this registry with %q", p.LoaderError)
	} else {
		p.Message += " and no runtime sends it"
	}
	return true
}

// isServerCert says whether cert (whose key is in keyFile) is the
// registry's server certificate: serverAuth without clientAuth; or, when
// it may serve (serverAuth, or no extended key usage, as openssl req -x509
// makes), the key's name or the certificate's names say so.
func (r *reader) isServerCert(cert *x509.Certificate, keyFile string) bool {
	serverAuth := hasEKU(cert, x509.ExtKeyUsageServerAuth)
	if serverAuth && !clientAuth(cert) {
		return true
	}
	if !serverAuth && (len(cert.ExtKeyUsage) > 0 || len(cert.UnknownExtKeyUsage) > 0) {
		return false
	}
	if serverKeyName(keyFile) {
		return true
	}
	reg, err := host.Parse(r.opt.Name)
	if err != nil {
		return false
	}
	return cert.VerifyHostname(reg.Hostname()) == nil || strings.EqualFold(cert.Subject.CommonName, reg.Hostname())
}

// serverKeyName says whether a file's name says it holds a server key:
// server.key, NAME-server.key, server-chain.pem.
func serverKeyName(name string) bool {
	stem := strings.ToLower(strings.TrimSuffix(name, filepath.Ext(name)))
	return stem == "server" || strings.HasSuffix(stem, "-server") || strings.HasSuffix(stem, "server-chain")
}

// isCAKey says whether the CA certificate c of a pair, whose key is in the
// folder, is a CA that matters here: one made to sign certificates
// (keyCertSign), one of the folder's CA files, or the signer of a
// certificate in the folder. A self-signed CA:TRUE certificate that signs
// nothing is the old recipe's client certificate, not a CA.
func (r *reader) isCAKey(c *x509.Certificate) bool {
	if c.KeyUsage&x509.KeyUsageCertSign != 0 {
		return true
	}
	for _, f := range r.f.CAs {
		for _, x := range f.Certs {
			if x.Equal(c) {
				return true
			}
		}
	}
	return r.signsOther(c)
}

// signsOther says whether c signs a certificate of the folder other than
// itself (in a CA file, or a pair's certificate or chain).
func (r *reader) signsOther(c *x509.Certificate) bool {
	signs := func(x *x509.Certificate) bool {
		return !x.Equal(c) && bytes.Equal(x.RawIssuer, c.RawSubject) && x.CheckSignatureFrom(c) == nil
	}
	for _, f := range r.f.CAs {
		for _, x := range f.Certs {
			if signs(x) {
				return true
			}
		}
	}
	for _, p := range r.f.Pairs {
		if p.Err != nil {
			continue
		}
		for _, der := range p.TLS.Certificate {
			if x, err := x509.ParseCertificate(der); err == nil && signs(x) {
				return true
			}
		}
	}
	return false
}

// selfSigned says whether c is signed by its own key.
func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// caFileFix says where a CA certificate found in file name belongs: as
// STEM.crt, or, when STEM.crt exists, under a free name (a rename must not
// overwrite another CA file), or nowhere when STEM.crt holds it already.
func (r *reader) caFileFix(name string, certs []*x509.Certificate) string {
	stem := name[:len(name)-len(filepath.Ext(name))]
	want := stem + CAExt
	if !r.names[want] {
		return "rename it to " + r.path(want)
	}
	if data, err := r.read(r.path(want)); err == nil && len(certs) > 0 {
		have := pemCerts(data)
		all := true
		for _, c := range certs {
			found := false
			for _, h := range have {
				found = found || h.Equal(c)
			}
			all = all && found
		}
		if all {
			return fmt.Sprintf("%s holds this certificate already; remove the copy: rm %s", want, shellquote.Quote(r.path(name)))
		}
	}
	free := want
	for n := 2; r.names[free]; n++ {
		free = fmt.Sprintf("%s-%d%s", stem, n, CAExt)
	}
	return fmt.Sprintf("%s exists and holds another certificate, so give it a name of its own: mv %s %s", want, shellquote.Quote(r.path(name)), shellquote.Quote(r.path(free)))
}

// checkChains checks that each loadable client certificate chains to one of
// the folder's CAs (certkit signs server and client with one CA).
func (r *reader) checkChains() {
	if len(r.f.CAs) == 0 {
		return
	}
	roots := x509.NewCertPool()
	var cas []string
	for _, c := range r.f.CAs {
		var names []string
		for _, cert := range c.Certs {
			roots.AddCert(cert)
			names = append(names, describe(cert))
		}
		if len(names) > 0 {
			cas = append(cas, c.Name+": "+strings.Join(names, ", "))
		}
	}
	if len(cas) == 0 {
		// No CA file can be read (one in DER, say): its own line says
		// so, and the pairs cannot be judged against it.
		return
	}
	v := newChainVerifier(roots, r.now, x509.ExtKeyUsageAny)
	for _, p := range r.f.Pairs {
		if p.Err != nil || p.Cert == nil || r.judged[p.Name] {
			continue
		}
		var chain []*x509.Certificate
		for _, der := range p.TLS.Certificate[1:] {
			if c, err := x509.ParseCertificate(der); err == nil {
				chain = append(chain, c)
			}
		}
		// Expiry is reported on its own; check the chain at a time the
		// leaf is valid.
		at := r.now
		if at.After(p.Cert.NotAfter) || at.Before(p.Cert.NotBefore) {
			at = p.Cert.NotBefore.Add(p.Cert.NotAfter.Sub(p.Cert.NotBefore) / 2)
		}
		err := v.verify(p.Cert, chain, at)
		if err == nil {
			continue
		}
		certName := filepath.Base(p.CertPath)
		msg := fmt.Sprintf("is not signed by a CA in this folder (%v)", err)
		var ua x509.UnknownAuthorityError
		if errors.As(err, &ua) {
			issuer := p.Cert.Issuer.CommonName
			if issuer == "" {
				issuer = p.Cert.Issuer.String()
			}
			// A chain (leaf, issuing CA) is named by the root it leads
			// to: that is what the folder's CA file should be.
			msg = fmt.Sprintf("is issued by %q, not by the folder's CA (%s)", issuer, strings.Join(cas, "; "))
			if top := chainTop(p.TLS.Certificate[1:]); top != "" && top != issuer {
				msg = fmt.Sprintf("chains to %q, not to the folder's CA (%s)", top, strings.Join(cas, "; "))
			}
		}
		// certkit's registry trusts the CA that signed its own certificate
		// (the one in ca.crt) for client certificates too.
		msg += ": a registry that trusts the folder's CA refuses it"
		r.add(SeverityWarning, KindUntrustedClient, certName, msg, r.untrustedFix(p))
	}
}

// untrustedFix is the fix for a client pair that no CA of the folder
// signed. Read offline, the folder cannot say which side changed: the CA
// file (replaced, or never the CA that issued the pair) or the pair (from
// another CA). Both are named, the CA side with its install command
// (--force where it replaces a CA file certkit installed and that changed
// since; a CA file of the user's is moved aside first, as install never
// replaces one), the pair side in words.
func (r *reader) untrustedFix(p Pair) string {
	var files []string
	forceCA := false
	for _, c := range r.f.CAs { // at least one: checkChains needs it
		files = append(files, c.Name)
		// certkit's, changed since it installed it: install puts it back
		// only with --force
		if want, own := r.f.Manifest.Has(c.Name); own {
			data, err := r.read(c.Path)
			forceCA = forceCA || err == nil && sum(data) != want
		}
	}
	certName := p.Name + CertExt
	caFix := "reinstall the CA that issued it: " + r.installCmd(forceCA)
	if _, own := r.f.Manifest.Has(CAFileName); !own && r.names[CAFileName] {
		caFix = fmt.Sprintf("move %s aside, then %s", r.path(CAFileName), caFix)
	}
	// The pair side names no command: the run's home holds the pair's
	// CA, not necessarily the folder's.
	pairFix := "issue " + certName + " again from the home that holds it"
	if _, own := r.f.Manifest.Has(certName); !own {
		pairFix = fmt.Sprintf("move %s and %s aside and %s", p.CertPath, p.KeyPath, pairFix)
	}
	return fmt.Sprintf("%s; or, if %s is the registry's CA, %s", caFix, files[0], pairFix)
}

func (r *reader) validity(file, what string, c *x509.Certificate, expiredSev Severity, fix string) {
	switch {
	case r.now.After(c.NotAfter):
		r.add(expiredSev, KindExpired, file, fmt.Sprintf("%s expired on %s", what, c.NotAfter.UTC().Format(time.DateOnly)), fix)
	case r.now.Before(c.NotBefore):
		r.add(expiredSev, KindNotYetValid, file, fmt.Sprintf("%s is not valid before %s (check this machine's clock)", what, c.NotBefore.UTC().Format(time.RFC3339)), fix)
	case c.NotAfter.Sub(r.now) < r.opt.ExpiryWarning:
		days := int(c.NotAfter.Sub(r.now).Hours() / 24)
		r.add(SeverityWarning, KindExpiring, file, fmt.Sprintf("%s expires in %d days, on %s", what, days, c.NotAfter.UTC().Format(time.DateOnly)), fix)
	}
}

// checkCase warns about names the loaders read that differ only in case:
// on a case-insensitive file system (macOS, Windows, Docker Desktop) they
// are one file.
func (r *reader) checkCase(entries []fs.DirEntry) {
	seen := map[string]string{}
	for _, e := range entries {
		n := e.Name()
		if !strings.HasSuffix(n, CAExt) && !strings.HasSuffix(n, CertExt) && !strings.HasSuffix(n, KeyExt) {
			continue
		}
		low := strings.ToLower(n)
		first, ok := seen[low]
		if !ok {
			seen[low] = n
			continue
		}
		r.add(SeverityWarning, KindCaseCollision, n, fmt.Sprintf("differs from %s only in case: on a case-insensitive file system (macOS, Windows, Docker Desktop) they are one file, and a copy of this folder there keeps only one of them", first),
			fmt.Sprintf("rename it to a name that differs from %s in more than case (a pair's .cert and .key together)", first))
	}
}

// chainTop names the issuer of the last certificate of a pair's chain
// (after the leaf): the root the chain leads to; "" without a chain.
func chainTop(chain [][]byte) string {
	if len(chain) == 0 {
		return ""
	}
	c, err := x509.ParseCertificate(chain[len(chain)-1])
	if err != nil {
		return ""
	}
	if c.Issuer.CommonName != "" {
		return c.Issuer.CommonName
	}
	return c.Issuer.String()
}
