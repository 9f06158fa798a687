package install

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/internal/safefs"
	"github.com/certkit/certkit/internal/shellquote"
)

// CAFileName is the name certkit gives the CA certificate in a registry
// folder.
const CAFileName = "ca.crt"

// PreviousCAFileName is the previous CA's certificate during a CA
// rotation (certkit rotate-ca): trusted beside the new one until the
// rotation is finished, when the next install takes it away.
const PreviousCAFileName = "ca-previous.crt"

// material is what install copies for one registry, read from the certkit
// home and checked.
type material struct {
	caPEM  []byte
	caCert *x509.Certificate
	// prevPEM is the previous CA during a rotation, nil otherwise.
	prevPEM []byte
	pairs   []pairMaterial // in name order
}

type pairMaterial struct {
	name            string
	certPEM, keyPEM []byte
	cert            *x509.Certificate
}

// MaterialError reports certificates in the certkit home that must not be
// installed.
type MaterialError struct {
	Path string // the file at fault
	Msg  string
	Fix  string
}

func (e *MaterialError) Error() string { return e.Path + ": " + e.Msg }

// Hint says what to do.
func (e *MaterialError) Hint() string { return e.Fix }

// loadMaterial reads and checks the CA certificate and the client pairs
// issued for reg: each key matches its certificate, each client
// certificate has clientAuth and chains to the CA, the CA is a CA, and
// nothing is expired. The CA's private key is not read.
//
// The home is read through r, the home opened with safefs: no link leads
// out of it, and under sudo it is read with its owner's rights.
//
// homeFlags (" --home DIR") go into the certkit commands of the fixes.
func loadMaterial(r *safefs.Root, reg host.Registry, now time.Time, homeFlags string) (*material, error) {
	homeDir := r.Path()
	caPath := filepath.Join(home.CADir(homeDir), ca.CertFile)
	caPEM, err := r.ReadFile(filepath.Join("ca", ca.CertFile), maxFileSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &ca.NotFoundError{Dir: home.CADir(homeDir)}
	}
	if err != nil {
		return nil, err
	}
	caCert, err := checkCA(caPath, caPEM, now, "make a CA with certkit init-ca --force"+homeFlags,
		"make a CA with certkit init-ca --force"+homeFlags+", or import one with --import-cert")
	if err != nil {
		return nil, err
	}
	// An imported intermediate CA: the certs.d folders trust its root,
	// the last certificate of its chain; the pairs carry the CAs between.
	chainRel := filepath.Join("ca", ca.ChainFile)
	switch chainPEM, err := r.ReadFile(chainRel, maxFileSize); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		certs := pemCerts(chainPEM)
		if len(certs) == 0 {
			return nil, &MaterialError{r.Join(chainRel), "holds no PEM certificate", "import the CA again with its chain: certkit init-ca --force --import-cert … --import-key … --import-chain …" + homeFlags}
		}
		if caCert, err = checkCA(r.Join(chainRel), ca.EncodeCert(certs[len(certs)-1]), now, "", ""); err != nil {
			return nil, err
		}
	}
	m := &material{caPEM: ca.EncodeCert(caCert), caCert: caCert}

	folder := reg.String()
	// Names only: each file is checked when it is opened.
	files, err := r.Names(filepath.Join("hosts", folder))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	names := home.PairNamesOf(files)
	if len(names) == 0 {
		return nil, &MaterialError{home.HostDir(homeDir, folder), "no client certificate was issued for " + folder,
			"issue one first: certkit issue client --host " + shellquote.Quote(folder) + homeFlags}
	}
	roots := x509.NewCertPool()
	roots.AddCert(caCert)
	prevRel := filepath.Join("ca", ca.PreviousDir, ca.CertFile)
	prevPEM, err := r.ReadFile(prevRel, maxFileSize)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		// A rotation: the pairs the previous CA issued are still good
		// until they are renewed, and it is trusted beside the new one.
		prev, err := checkCA(r.Join(prevRel), prevPEM, now, "finish the rotation: certkit rotate-ca --finish", "finish the rotation: certkit rotate-ca --finish")
		if err != nil {
			return nil, err
		}
		m.prevPEM = ca.EncodeCert(prev)
		roots.AddCert(prev)
	}
	v := newChainVerifier(roots, now, x509.ExtKeyUsageClientAuth)
	// The registry's folder is opened once: a name inside it is one open,
	// where hosts/<registry>/NAME would be three.
	sub, err := r.Sub(filepath.Join("hosts", folder))
	if err != nil {
		return nil, err
	}
	defer sub.Close()
	for _, name := range names {
		p, err := loadPair(sub, folder, name, v, now, homeFlags)
		if err != nil {
			return nil, err
		}
		m.pairs = append(m.pairs, *p)
	}
	return m, nil
}

// loadPair reads and checks one pair of the registry's folder r.
func loadPair(r *safefs.Root, folder, name string, v *chainVerifier, now time.Time, homeFlags string) (*pairMaterial, error) {
	dir := r.Path()
	certPath := filepath.Join(dir, name+home.CertExt)
	keyPath := filepath.Join(dir, name+home.KeyExt)
	reissue := "issue it again: certkit issue client --force --host " + shellquote.Quote(folder) + " --name " + shellquote.Quote(name) + homeFlags
	if !validPairName(name) {
		return nil, &MaterialError{certPath, fmt.Sprintf("the name %q cannot be a certs.d file name (use letters, digits, '.', '_' and '-')", name), reissue}
	}
	certPEM, err := r.ReadFile(name+home.CertExt, maxFileSize)
	if err != nil {
		return nil, err
	}
	keyPEM, err := r.ReadFile(name+home.KeyExt, maxFileSize)
	if err != nil {
		return nil, err
	}
	return checkPair(name, certPath, keyPath, certPEM, keyPEM, v, now, reissue)
}

// checkPair checks one client pair as install takes it: the key is the
// certificate's, unencrypted and loadable, the certificate is a leaf with
// clientAuth, valid now and signed by a CA in roots. The paths name the
// files in errors; reissue is the fix of a pair that must be made again.
func checkPair(name, certPath, keyPath string, certPEM, keyPEM []byte, v *chainVerifier, now time.Time, reissue string) (*pairMaterial, error) {
	certs, err := checkKeyPair(certPath, keyPath, certPEM, keyPEM, "Docker, podman and containerd", "the container runtimes", reissue)
	if err != nil {
		return nil, err
	}
	cert := certs[0]
	if cert.IsCA {
		return nil, &MaterialError{certPath, "is a CA certificate; a CA and its key never go into certs.d", reissue}
	}
	if !clientAuth(cert) {
		return nil, &MaterialError{certPath, "has no clientAuth extended key usage; the registry would reject it", reissue}
	}
	switch {
	case now.After(cert.NotAfter):
		return nil, &MaterialError{certPath, "expired on " + cert.NotAfter.UTC().Format(time.DateOnly), reissue}
	case now.Before(cert.NotBefore):
		return nil, &MaterialError{certPath, "is not valid before " + cert.NotBefore.UTC().Format(time.RFC3339), "check this machine's clock"}
	}
	if err := v.verify(cert, certs[1:], now); err != nil {
		return nil, &MaterialError{certPath, "is not signed by the certkit CA (" + err.Error() + ")", reissue}
	}
	return &pairMaterial{name: name, certPEM: certPEM, keyPEM: keyPEM, cert: cert}, nil
}

// checkCA checks the CA certificate install copies: a CA, valid now. The
// path names the file in errors; noPEM and notCA are the fixes of a file
// with no certificate and of one that is not a CA.
func checkCA(caPath string, caPEM []byte, now time.Time, noPEM, notCA string) (*x509.Certificate, error) {
	certs := pemCerts(caPEM)
	if len(certs) == 0 {
		return nil, &MaterialError{caPath, "holds no PEM certificate", noPEM}
	}
	caCert := certs[0]
	switch {
	case !caCert.IsCA || !caCert.BasicConstraintsValid:
		return nil, &MaterialError{caPath, "is not a CA certificate", notCA}
	case now.After(caCert.NotAfter):
		return nil, &MaterialError{caPath, "the CA expired on " + caCert.NotAfter.UTC().Format(time.DateOnly),
			"make a new CA with certkit init-ca --force, then issue and install every certificate again"}
	case now.Before(caCert.NotBefore):
		return nil, &MaterialError{caPath, "the CA is not valid before " + caCert.NotBefore.UTC().Format(time.RFC3339), "check this machine's clock"}
	}
	return caCert, nil
}

// validPairName accepts the stems certkit writes as NAME.cert and NAME.key.
func validPairName(s string) bool {
	if s == "" || s[0] == '.' || len(s) > 200 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// checkKeyPair checks a certificate file and its key file as loader (who
// reads them: "the registry", "Docker, podman and containerd") takes
// them: a PEM certificate first, an unencrypted key that is its own, and
// a pair Go's TLS can load (what says, for that error). It returns the
// file's certificates, the leaf first.
func checkKeyPair(certPath, keyPath string, certPEM, keyPEM []byte, loader, what, reissue string) ([]*x509.Certificate, error) {
	certs := pemCerts(certPEM)
	if len(certs) == 0 {
		return nil, &MaterialError{certPath, "holds no PEM certificate", reissue}
	}
	cert := certs[0]
	key, err := ca.ParseKey(keyPEM)
	if errors.Is(err, ca.ErrEncryptedKey) {
		return nil, &MaterialError{keyPath, "is encrypted; " + loader + " cannot read encrypted keys", decryptFix(keyPath)}
	}
	if err != nil {
		return nil, &MaterialError{keyPath, err.Error(), reissue}
	}
	if !ca.KeyMatches(cert.PublicKey, key) {
		return nil, &MaterialError{keyPath, "does not belong to " + filepath.Base(certPath), reissue}
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		return nil, &MaterialError{certPath, what + " cannot load this pair: " + err.Error(), reissue}
	}
	return certs, nil
}
