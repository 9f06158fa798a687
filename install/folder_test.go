package install

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/core/remotes/docker/config"
	"go.podman.io/image/v5/pkg/tlsclientconfig"

	"github.com/certkit/certkit/internal/testenv"
)

type wantProblem struct {
	sev  Severity
	kind Kind
	file string
	text string // a substring of Message
}

func TestReadFolder(t *testing.T) {
	p := newPKI(t)
	other := newPKI(t)
	certPEM, keyPEM := p.client(t, "client", nil)
	_, otherKeyPEM := p.client(t, "other", nil)
	serverCert, serverKey := p.server(t, "reg.example.com")
	caKey, err := os.ReadFile(p.ca.KeyPath())
	if err != nil {
		t.Fatal(err)
	}
	foreignCert, foreignKey := other.client(t, "foreign", nil)
	clientNotAfter := pemCerts(certPEM)[0].NotAfter
	laptopCert, laptopKey := p.client(t, "laptop", nil)
	// Both usages and the registry's name: the registry's own certificate.
	dualCert, dualKey, _ := p.leaf(t, "reg.example.com", []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		func(c *x509.Certificate) { c.DNSNames = []string{"reg.example.com"} })
	// The old recipe: openssl req -new -x509 for the client and for the
	// registry (CA:TRUE, no key usage, with OpenSSL 3).
	oldClientCert, oldClientKey := selfSignedPEM(t, "client", nil)
	oldServerCert, oldServerKey := selfSignedPEM(t, "reg.example.com", nil)
	selfServerCert, selfServerKey := selfSignedPEM(t, "reg.example.com", func(c *x509.Certificate) {
		c.IsCA, c.ExtKeyUsage = false, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	})
	// A root without keyCertSign that signs the folder's CA.
	rootCert, rootKey, root, rootSigner := selfSignedCA(t, "old root")
	interCert := signedPEM(t, root, rootSigner, "intermediate", true)

	good := func(t *testing.T, dir string) {
		testenv.WriteFile(t, filepath.Join(dir, "ca.crt"), p.ca.CertPEM, 0o644)
		testenv.WriteFile(t, filepath.Join(dir, "client.cert"), certPEM, 0o644)
		testenv.WriteFile(t, filepath.Join(dir, "client.key"), keyPEM, 0o600)
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		now   time.Time // zero: time.Now
		want  []wantProblem
		// fixes are substrings of the problems' fixes, each in one of
		// them; $DIR stands for the folder, shell-quoted.
		fixes  []string
		loader string // prefix of the error Docker/podman stop at; "" when they load the folder
		// containerd is a substring of the error containerd stops at; ""
		// when it loads the folder.
		containerd string
		cas        int
		pairs      int
	}{
		{name: "clean", setup: good, cas: 1, pairs: 1},
		{
			name: "cert without key",
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				testenv.WriteFile(t, filepath.Join(dir, "extra.cert"), certPEM, 0o644)
			},
			want:       []wantProblem{{SeverityError, KindUnpairedCert, "extra.cert", `"missing key extra.key for client certificate extra.cert. CA certificates must use the extension .crt"`}},
			loader:     "missing key extra.key for client certificate extra.cert.",
			containerd: "failed to load X509 key pair",
			cas:        1, pairs: 2,
		},
		{
			name: "CA saved as .cert",
			setup: func(t *testing.T, dir string) {
				testenv.WriteFile(t, filepath.Join(dir, "ca.cert"), p.ca.CertPEM, 0o644)
			},
			want:       []wantProblem{{SeverityError, KindUnpairedCert, "ca.cert", "missing key ca.key"}},
			loader:     "missing key ca.key for client certificate ca.cert.",
			containerd: "failed to load X509 key pair",
			pairs:      1,
		},
		{
			name: "CA key in the folder",
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				testenv.WriteFile(t, filepath.Join(dir, "ca.key"), caKey, 0o600)
			},
			want:   []wantProblem{{SeverityError, KindCAKey, "ca.key", "private key of the CA in ca.crt"}},
			loader: "missing client certificate ca.cert for key ca.key",
			cas:    1, pairs: 1,
		},
		{
			name: "server certificate and key in the folder",
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				testenv.WriteFile(t, filepath.Join(dir, "server.crt"), serverCert, 0o644)
				testenv.WriteFile(t, filepath.Join(dir, "server.key"), serverKey, 0o600)
			},
			want: []wantProblem{
				{SeverityWarning, KindNotCA, "server.crt", "which is not a CA"},
				{SeverityError, KindServerKey, "server.key", "private key of the server certificate in server.crt"},
			},
			loader: "missing client certificate server.cert for key server.key",
			cas:    2, pairs: 1,
		},
		{
			name: "DER .crt",
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				testenv.WriteFile(t, filepath.Join(dir, "old-ca.crt"), p.ca.Cert.Raw, 0o644)
			},
			want:       []wantProblem{{SeverityError, KindNotPEM, "old-ca.crt", "not a PEM certificate; Docker and podman silently ignore it, but containerd"}},
			fixes:      []string{"openssl x509 -inform der -in $DIR/old-ca.crt -out $DIR/old-ca.crt.pem && mv $DIR/old-ca.crt.pem $DIR/old-ca.crt"},
			containerd: "unable to load CA cert",
			cas:        2, pairs: 1,
		},
		{
			name: "DER .crt beside a hosts.toml",
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				testenv.WriteFile(t, filepath.Join(dir, "old-ca.crt"), p.ca.Cert.Raw, 0o644)
				testenv.WriteFile(t, filepath.Join(dir, "hosts.toml"), []byte("[host.\"https://reg.example.com:5000\"]\n  ca = \"ca.crt\"\n  client = [[\"client.cert\", \"client.key\"]]\n"), 0o644)
			},
			want: []wantProblem{
				// Not also hidden-by-hosts-toml: naming it there would make
				// containerd fail.
				{SeverityWarning, KindNotPEM, "old-ca.crt", "not a PEM certificate; Docker and podman silently ignore it"},
			},
			cas: 2, pairs: 1,
		},
		{
			name: "key of another certificate",
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				testenv.WriteFile(t, filepath.Join(dir, "client.key"), otherKeyPEM, 0o600)
			},
			want:       []wantProblem{{SeverityError, KindKeyMismatch, "client.cert", "client.key does not belong to client.cert"}},
			loader:     "tls: private key does not match public key",
			containerd: "failed to load X509 key pair: tls: private key does not match public key",
			cas:        1, pairs: 1,
		},
		{
			name: "encrypted key",
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				b, _ := pem.Decode(keyPEM)
				//lint:ignore SA1019 an old-style encrypted key is exactly what users bring
				enc, err := x509.EncryptPEMBlock(rand.Reader, "EC PRIVATE KEY", b.Bytes, []byte("pw"), x509.PEMCipherAES256) //nolint:staticcheck
				if err != nil {
					t.Fatal(err)
				}
				testenv.WriteFile(t, filepath.Join(dir, "client.key"), pem.EncodeToMemory(enc), 0o600)
			},
			want:       []wantProblem{{SeverityError, KindEncryptedKey, "client.cert", "client.key is encrypted"}},
			fixes:      []string{"openssl pkey -in $DIR/client.key -out $DIR/client.key.new && chmod 600 $DIR/client.key.new && mv $DIR/client.key.new $DIR/client.key"},
			loader:     "tls: ",
			containerd: "failed to load X509 key pair: tls: ",
			cas:        1, pairs: 1,
		},
		{
			name: "server certificate as client",
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				testenv.WriteFile(t, filepath.Join(dir, "client.cert"), serverCert, 0o644)
				testenv.WriteFile(t, filepath.Join(dir, "client.key"), serverKey, 0o600)
			},
			want: []wantProblem{{SeverityError, KindNoClientAuth, "client.cert", "is a server certificate (serverAuth, no clientAuth)"}},
			cas:  1, pairs: 1,
		},
		{
			name:  "expired client",
			setup: good,
			now:   clientNotAfter.Add(time.Hour),
			want:  []wantProblem{{SeverityError, KindExpired, "client.cert", "client certificate \"client\" expired on"}},
			cas:   1, pairs: 1,
		},
		{
			name:  "client expiring soon",
			setup: good,
			now:   clientNotAfter.Add(-10 * 24 * time.Hour),
			want:  []wantProblem{{SeverityWarning, KindExpiring, "client.cert", "expires in 10 days"}},
			cas:   1, pairs: 1,
		},
		{
			name: "world-readable key",
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				testenv.WriteFile(t, filepath.Join(dir, "client.key"), keyPEM, 0o644)
			},
			want: []wantProblem{{SeverityError, KindKeyReadable, "client.key", "readable by every user on this machine (mode 0644)"}},
			cas:  1, pairs: 1,
		},
		{
			name: "group-readable key",
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				testenv.WriteFile(t, filepath.Join(dir, "client.key"), keyPEM, 0o640)
			},
			want: []wantProblem{{SeverityWarning, KindKeyReadable, "client.key", "readable by its group (mode 0640)"}},
			cas:  1, pairs: 1,
		},
		{
			name: "client of another CA",
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				testenv.WriteFile(t, filepath.Join(dir, "foreign.cert"), foreignCert, 0o644)
				testenv.WriteFile(t, filepath.Join(dir, "foreign.key"), foreignKey, 0o600)
			},
			want: []wantProblem{{SeverityWarning, KindUntrustedClient, "foreign.cert", `is issued by "` + other.ca.Cert.Subject.CommonName + `", not by the folder's CA (ca.crt: "` + p.ca.Cert.Subject.CommonName + `")`}},
			// Offline, either side may be the wrong one: the fix names
			// both, never "install the CA that signed it". Neither file
			// is certkit's: each is moved out before install writes its
			// own under that name.
			fixes: []string{"move $DIR/ca.crt aside, then reinstall the CA that issued it: certkit install --host reg.example.com:5000; " +
				"or, if ca.crt is the registry's CA, move $DIR/foreign.cert and $DIR/foreign.key aside and issue foreign.cert again from the home that holds it"},
			cas: 1, pairs: 2,
		},
		{
			name: "CA pair as client pair",
			setup: func(t *testing.T, dir string) {
				testenv.WriteFile(t, filepath.Join(dir, "ca.cert"), p.ca.CertPEM, 0o644)
				testenv.WriteFile(t, filepath.Join(dir, "ca.key"), caKey, 0o600)
			},
			want:  []wantProblem{{SeverityError, KindCAKey, "ca.cert", "is a CA certificate"}},
			pairs: 1,
		},
		{
			name: "private key in a file no loader reads",
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				testenv.WriteFile(t, filepath.Join(dir, "ca.pem"), caKey, 0o600)
			},
			want: []wantProblem{{SeverityError, KindCAKey, "ca.pem", "the private key of the CA in ca.crt"}},
			cas:  1, pairs: 1,
		},
		{
			name: "private key inside a .crt",
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				testenv.WriteFile(t, filepath.Join(dir, "ca.crt"), append(append([]byte{}, p.ca.CertPEM...), caKey...), 0o644)
			},
			want: []wantProblem{{SeverityError, KindKeyInCert, "ca.crt", "holds a private key next to the certificate"}},
			cas:  1, pairs: 1,
		},
		{
			name: "folder named like a CA file",
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				if err := os.Mkdir(filepath.Join(dir, "backup.crt"), 0o755); err != nil {
					t.Fatal(err)
				}
			},
			want:   []wantProblem{{SeverityError, KindUnreadable, "backup.crt", "cannot be read: is a directory"}},
			loader: "read ",
			cas:    1, pairs: 1,
		},
		{
			name: "hosts.toml hides the loose pair",
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				testenv.WriteFile(t, filepath.Join(dir, "hosts.toml"), []byte("server = \"https://reg.example.com:5000\"\n[host.\"https://reg.example.com:5000\"]\n  ca = \"ca.crt\"\n"), 0o644)
			},
			want: []wantProblem{
				{SeverityWarning, KindHiddenByHostsTOML, "client.cert", "ignored by containerd"},
				{SeverityWarning, KindHiddenByHostsTOML, "client.key", "ignored by containerd"},
			},
			cas: 1, pairs: 1,
		},
		{
			name: "hosts.toml that does not parse",
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				testenv.WriteFile(t, filepath.Join(dir, "hosts.toml"), []byte("server = \"https://reg.example.com:5000\n"), 0o644)
			},
			want: []wantProblem{{SeverityError, KindHostsTOMLSyntax, "hosts.toml", "cannot be parsed"}},
			cas:  1, pairs: 1,
		},
		{
			// The parser echoes what it read: a NUL, an ESC must not
			// reach the terminal.
			name: "hosts.toml with control characters",
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				testenv.WriteFile(t, filepath.Join(dir, "hosts.toml"), []byte("server = \"https://reg.example.com:5000\"\n[host.\"https://reg.example.com:5000\"]\ncapabilities = [\"pull\\u0000\\u001b[2J\"]\n"), 0o644)
			},
			want: []wantProblem{{SeverityError, KindHostsTOMLSyntax, "hosts.toml", `cannot be parsed`}},
			cas:  1, pairs: 1,
		},
		{
			name: "hosts.toml names a missing file",
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				testenv.WriteFile(t, filepath.Join(dir, "hosts.toml"), []byte("[host.\"https://reg.example.com:5000\"]\n  ca = \"ca.crt\"\n  client = [[\"client.cert\", \"client.key\"], [\"gone.cert\", \"gone.key\"]]\n"), 0o644)
			},
			want:       []wantProblem{{SeverityError, KindHostsTOMLUnreadableFile, "hosts.toml", "gone.cert, which containerd cannot read: no such file or directory"}},
			containerd: "unable to read CERT file",
			cas:        1, pairs: 1,
		},
		{
			name: "hosts.toml for another registry",
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				testenv.WriteFile(t, filepath.Join(dir, "hosts.toml"), []byte("server = \"https://reg.example.com\"\n[host.\"https://reg.example.com\"]\n  ca = \"ca.crt\"\n  client = [[\"client.cert\", \"client.key\"]]\n"), 0o644)
			},
			want: []wantProblem{{SeverityWarning, KindHostsTOMLWrongServer, "hosts.toml", "but the folder is for reg.example.com:5000"}},
			cas:  1, pairs: 1,
		},
		{
			name: "client key without its certificate",
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				testenv.WriteFile(t, filepath.Join(dir, "old.key"), otherKeyPEM, 0o600)
			},
			want:   []wantProblem{{SeverityError, KindStrayKey, "old.key", "has no old.cert beside it"}},
			loader: "missing client certificate old.cert for key old.key",
			cas:    1, pairs: 1,
		},
		{
			name: "client certificate file holding its key",
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				testenv.WriteFile(t, filepath.Join(dir, "client.cert"), append(append([]byte{}, certPEM...), keyPEM...), 0o644)
			},
			want: []wantProblem{{SeverityWarning, KindKeyInCert, "client.cert", "holds a private key as well as the certificate"}},
			cas:  1, pairs: 1,
		},
		{
			name: "empty hosts.toml",
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				testenv.WriteFile(t, filepath.Join(dir, "hosts.toml"), nil, 0o644)
			},
			want: []wantProblem{{SeverityWarning, KindHostsTOMLEmpty, "hosts.toml", "is empty"}},
			cas:  1, pairs: 1,
		},
		{
			name: "hosts.toml with skip_verify",
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				testenv.WriteFile(t, filepath.Join(dir, "hosts.toml"), []byte("[host.\"https://reg.example.com:5000\"]\n  ca = \"ca.crt\"\n  client = [[\"client.cert\", \"client.key\"]]\n  skip_verify = true\n"), 0o644)
			},
			want: []wantProblem{{SeverityWarning, KindSkipVerify, "hosts.toml", "sets skip_verify = true"}},
			cas:  1, pairs: 1,
		},
		{
			name: "client pair saved as client.crt",
			setup: func(t *testing.T, dir string) {
				testenv.WriteFile(t, filepath.Join(dir, "ca.crt"), p.ca.CertPEM, 0o644)
				testenv.WriteFile(t, filepath.Join(dir, "client.crt"), certPEM, 0o644)
				testenv.WriteFile(t, filepath.Join(dir, "client.key"), keyPEM, 0o600)
			},
			want:   []wantProblem{{SeverityError, KindMisnamedClientCert, "client.crt", `is a client certificate ("client"), and client.key beside it is its key: saved as .crt instead of client.cert, Docker and podman take it for a CA and fail every pull and login for this registry with "missing client certificate client.cert for key client.key"`}},
			fixes:  []string{"mv $DIR/client.crt $DIR/client.cert"},
			loader: "missing client certificate client.cert for key client.key",
			cas:    2,
		},
		{
			name: "client certificate as .crt, its key as .pem",
			setup: func(t *testing.T, dir string) {
				testenv.WriteFile(t, filepath.Join(dir, "ca.crt"), p.ca.CertPEM, 0o644)
				testenv.WriteFile(t, filepath.Join(dir, "client.crt"), certPEM, 0o644)
				testenv.WriteFile(t, filepath.Join(dir, "client.pem"), keyPEM, 0o600)
			},
			want:  []wantProblem{{SeverityError, KindMisnamedClientCert, "client.crt", "client.pem beside it is its key: saved as .crt instead of client.cert, Docker and podman take it for a CA and no runtime sends it"}},
			fixes: []string{"mv $DIR/client.crt $DIR/client.cert && mv $DIR/client.pem $DIR/client.key"},
			cas:   2,
		},
		{
			name: "registry certificate with clientAuth too, and its key",
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				testenv.WriteFile(t, filepath.Join(dir, "registry.crt"), dualCert, 0o644)
				testenv.WriteFile(t, filepath.Join(dir, "registry.key"), dualKey, 0o600)
			},
			want: []wantProblem{
				{SeverityWarning, KindNotCA, "registry.crt", "which is not a CA"},
				{SeverityError, KindServerKey, "registry.key", "private key of the server certificate in registry.crt"},
			},
			loader: "missing client certificate registry.cert for key registry.key",
			cas:    2, pairs: 1,
		},
		{
			name: "old recipe's registry certificate and key",
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				testenv.WriteFile(t, filepath.Join(dir, "localhost.crt"), oldServerCert, 0o644)
				testenv.WriteFile(t, filepath.Join(dir, "localhost.key"), oldServerKey, 0o600)
			},
			want:   []wantProblem{{SeverityError, KindServerKey, "localhost.key", "private key of the server certificate in localhost.crt"}},
			loader: "missing client certificate localhost.cert for key localhost.key",
			cas:    2, pairs: 1,
		},
		{
			name: "server key without its certificate",
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				testenv.WriteFile(t, filepath.Join(dir, "server.key"), serverKey, 0o600)
			},
			want:   []wantProblem{{SeverityError, KindServerKey, "server.key", "has no server.cert beside it"}},
			fixes:  []string{"move $DIR/server.key out of certs.d: by its name it is the registry's server key, which never belongs in certs.d"},
			loader: "missing client certificate server.cert for key server.key",
			cas:    1, pairs: 1,
		},
		{
			name: "key named after a server in a file no loader reads",
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				testenv.WriteFile(t, filepath.Join(dir, "reg-server.pem"), serverKey, 0o600)
			},
			want:  []wantProblem{{SeverityError, KindServerKey, "reg-server.pem", "holds a private key that no container runtime uses here"}},
			fixes: []string{"by its name it is the registry's server key"},
			cas:   1, pairs: 1,
		},
		{
			name: "old recipe folder",
			setup: func(t *testing.T, dir string) {
				testenv.WriteFile(t, filepath.Join(dir, "localhost.crt"), oldServerCert, 0o644)
				testenv.WriteFile(t, filepath.Join(dir, "client.cert"), oldClientCert, 0o644)
				testenv.WriteFile(t, filepath.Join(dir, "client.key"), oldClientKey, 0o600)
			},
			want: []wantProblem{{SeverityWarning, KindSelfSignedClient, "client.cert", `is a self-signed client certificate ("client"), as the old openssl req -x509 recipe made`}},
			fixes: []string{"mkdir -p -m 700 ~/old-certs/reg.example.com:5000 && mkdir -m 700 ~/old-certs/reg.example.com:5000/client && mv $DIR/client.cert $DIR/client.key ~/old-certs/reg.example.com:5000/client/), then issue a client certificate from the registry's CA and install it: " +
				"certkit issue client --host reg.example.com:5000, then certkit install --host reg.example.com:5000"},
			cas: 1, pairs: 1,
		},
		{
			name: "old recipe client beside certkit's",
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				testenv.WriteFile(t, filepath.Join(dir, "old.cert"), oldClientCert, 0o644)
				testenv.WriteFile(t, filepath.Join(dir, "old.key"), oldClientKey, 0o600)
			},
			// Said once: not also "not signed by a CA in this folder".
			want: []wantProblem{{SeverityWarning, KindSelfSignedClient, "old.cert", "is a self-signed client certificate"}},
			cas:  1, pairs: 2,
		},
		{
			name: "self-signed server certificate as a client pair",
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				testenv.WriteFile(t, filepath.Join(dir, "self.cert"), selfServerCert, 0o644)
				testenv.WriteFile(t, filepath.Join(dir, "self.key"), selfServerKey, 0o600)
			},
			// Not a client certificate at all: that comes first.
			want: []wantProblem{
				{SeverityError, KindNoClientAuth, "self.cert", "is a server certificate (serverAuth, no clientAuth)"},
				{SeverityWarning, KindUntrustedClient, "self.cert", `is issued by "reg.example.com", not by the folder's CA`},
			},
			cas: 1, pairs: 2,
		},
		{
			name: "CA without keyCertSign that signs ca.crt, as a pair",
			setup: func(t *testing.T, dir string) {
				testenv.WriteFile(t, filepath.Join(dir, "ca.crt"), interCert, 0o644)
				testenv.WriteFile(t, filepath.Join(dir, "root.cert"), rootCert, 0o644)
				testenv.WriteFile(t, filepath.Join(dir, "root.key"), rootKey, 0o600)
			},
			want:  []wantProblem{{SeverityError, KindCAKey, "root.cert", `is a CA certificate ("old root") with its private key in root.key`}},
			fixes: []string{"move $DIR/root.key out of the folder to where the CA is kept; a CA certificate belongs here: rename it to $DIR/root.crt"},
			cas:   1, pairs: 1,
		},
		{
			name: "another CA saved as ca.cert beside ca.crt",
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				testenv.WriteFile(t, filepath.Join(dir, "ca.cert"), other.ca.CertPEM, 0o644)
			},
			want:       []wantProblem{{SeverityError, KindUnpairedCert, "ca.cert", "missing key ca.key"}},
			fixes:      []string{"it is a CA certificate: ca.crt exists and holds another certificate, so give it a name of its own: mv $DIR/ca.cert $DIR/ca-2.crt"},
			loader:     "missing key ca.key for client certificate ca.cert.",
			containerd: "failed to load X509 key pair",
			cas:        1, pairs: 2,
		},
		{
			name: "copy of ca.crt saved as ca.cert",
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				testenv.WriteFile(t, filepath.Join(dir, "ca.cert"), p.ca.CertPEM, 0o644)
			},
			want:       []wantProblem{{SeverityError, KindUnpairedCert, "ca.cert", "missing key ca.key"}},
			fixes:      []string{"it is a CA certificate: ca.crt holds this certificate already; remove the copy: rm $DIR/ca.cert"},
			loader:     "missing key ca.key for client certificate ca.cert.",
			containerd: "failed to load X509 key pair",
			cas:        1, pairs: 2,
		},
		{
			name: "pairs whose names differ only in case",
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				testenv.WriteFile(t, filepath.Join(dir, "Client.cert"), laptopCert, 0o644)
				testenv.WriteFile(t, filepath.Join(dir, "Client.key"), laptopKey, 0o600)
			},
			want: []wantProblem{
				{SeverityWarning, KindCaseCollision, "client.cert", "differs from Client.cert only in case"},
				{SeverityWarning, KindCaseCollision, "client.key", "differs from Client.key only in case"},
			},
			cas: 1, pairs: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "reg.example.com:5000")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			tt.setup(t, dir)
			opt := ReadOptions{}
			if !tt.now.IsZero() {
				opt.Now = func() time.Time { return tt.now }
			}
			f, err := ReadFolderWith(dir, opt)
			if err != nil {
				t.Fatal(err)
			}
			checkProblems(t, f.Problems, tt.want)
			checkFixes(t, f.Problems, dir, tt.fixes)
			if len(f.CAs) != tt.cas || len(f.Pairs) != tt.pairs {
				t.Errorf("found %d CA files and %d pairs, want %d and %d", len(f.CAs), len(f.Pairs), tt.cas, tt.pairs)
			}
			// The real podman/skopeo loader is the oracle: it fails exactly
			// when ReadFolder says the loaders fail, with the same error.
			podmanErr := tlsclientconfig.SetupCertificates(dir, &tls.Config{RootCAs: x509.NewCertPool()})
			ours := f.LoaderError()
			switch {
			case tt.loader == "" && (ours != nil || podmanErr != nil):
				t.Errorf("loaders should accept the folder: ReadFolder says %v, podman says %v", ours, podmanErr)
			case tt.loader != "" && (ours == nil || podmanErr == nil):
				t.Errorf("loaders should refuse the folder: ReadFolder says %v, podman says %v", ours, podmanErr)
			case tt.loader != "":
				if !strings.HasPrefix(ours.Error(), tt.loader) || !strings.HasPrefix(podmanErr.Error(), tt.loader) {
					t.Errorf("loader error: ReadFolder says %q, podman says %q, want both to start with %q", ours, podmanErr, tt.loader)
				}
			}
			if _, err := f.ClientConfig(x509.NewCertPool()); (err == nil) != (tt.loader == "") {
				t.Errorf("ClientConfig: %v, want an error exactly when the loaders fail", err)
			}
			// And containerd's, reading the same folder from its root.
			ctrErr := containerdLoad(filepath.Dir(dir), filepath.Base(dir))
			ourCtr := f.ContainerdError()
			switch {
			case tt.containerd == "" && (ourCtr != nil || ctrErr != nil):
				t.Errorf("containerd should accept the folder: ReadFolder says %v, containerd says %v", ourCtr, ctrErr)
			case tt.containerd != "" && (ourCtr == nil || ctrErr == nil):
				t.Errorf("containerd should refuse the folder: ReadFolder says %v, containerd says %v", ourCtr, ctrErr)
			case tt.containerd != "":
				if !strings.Contains(ourCtr.Error(), tt.containerd) || !strings.Contains(ctrErr.Error(), ourCtr.Error()) {
					t.Errorf("containerd error: ReadFolder says %q, containerd says %q, want both to contain %q", ourCtr, ctrErr, tt.containerd)
				}
			}
			for _, p := range f.Problems {
				if p.Fix == "" {
					t.Errorf("problem without a fix: %+v", p)
				}
				if p.Kind == "" {
					t.Errorf("problem without a kind: %+v", p)
				}
				if strings.ContainsAny(p.Message, "\x00\x1b\n") {
					t.Errorf("problem message with a control character: %q", p.Message)
				}
			}
		})
	}
}

// containerdLoad has containerd configure the registry from the certs root,
// loading every file it would, and returns its error.
func containerdLoad(root, registry string) error {
	hosts := config.ConfigureHosts(context.Background(), config.HostOptions{HostDir: config.HostDirFromRoot(root)})
	_, err := hosts(registry)
	return err
}

// checkProblems asserts that got holds exactly the wanted problems.
func checkProblems(t *testing.T, got []Problem, want []wantProblem) {
	t.Helper()
	used := make([]bool, len(got))
	for _, w := range want {
		found := false
		for i, g := range got {
			if !used[i] && g.Severity == w.sev && g.Kind == w.kind && g.File == w.file && strings.Contains(g.Message, w.text) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			t.Errorf("missing %s %s on %s containing %q", w.sev, w.kind, w.file, w.text)
		}
	}
	for i, g := range got {
		if !used[i] {
			t.Errorf("unexpected %s %s on %s: %s (fix: %s)", g.Severity, g.Kind, g.File, g.Message, g.Fix)
		}
	}
	if t.Failed() {
		for _, g := range got {
			t.Logf("got: %s %s %s", g.Severity, g.Kind, g)
		}
	}
}

func TestReadFolderHostsTOMLUses(t *testing.T) {
	dir := t.TempDir()
	data := []byte(`server = "https://reg:5000"
ca = "/abs/root.crt"
[host."https://mirror:5000"]
  capabilities = ["pull"]
  ca = ["a.crt", "b.crt"]
  client = [["c.cert", "c.key"], "combined.pem"]
[host."https://mirror:5000".header]
  x = "y"
[host."https://reg:5000"]
  client = "other.pem"
  skip_verify = true
`)
	h := parseHostsTOML(dir, data)
	if h.Err != nil {
		t.Fatal(h.Err)
	}
	var urls []string
	for _, e := range h.Hosts {
		urls = append(urls, fmt.Sprintf("%s root=%v", e.URL, e.Root))
	}
	if got, want := strings.Join(urls, "; "), "https://mirror:5000 root=false; https://reg:5000 root=false; https://reg:5000 root=true"; got != want {
		t.Errorf("hosts in order: %s, want %s", got, want)
	}
	j := func(p string) string { return filepath.Join(dir, p) }
	want := []string{j("a.crt"), j("b.crt"), j("c.cert"), j("c.key"), j("combined.pem"), j("other.pem"), "/abs/root.crt"}
	if got := h.Uses(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Uses() = %v, want %v", got, want)
	}

	for _, bad := range []string{
		`capabilities = ["fly"]`,
		`ca = 5`,
		`client = [["only-one"]]`,
		`[host."x"` + "\n",
	} {
		if h := parseHostsTOML(dir, []byte(bad)); h.Err == nil {
			t.Errorf("%q parsed without error", bad)
		}
	}
}

func TestRenderHostsTOMLParses(t *testing.T) {
	dir := t.TempDir()
	h := parseHostsTOML(dir, renderHostsTOML("[fd00::1]:5000", []string{"ca.crt"}, []string{"alice", "bob"}))
	if h.Err != nil {
		t.Fatal(h.Err)
	}
	if h.Server != "https://[fd00::1]:5000" || serverHost(h.Server) != "[fd00::1]:5000" {
		t.Errorf("server = %q", h.Server)
	}
	e := h.Hosts[0]
	if e.URL != "https://[fd00::1]:5000" || strings.Join(e.Capabilities, ",") != "pull,resolve,push" ||
		len(e.CA) != 1 || e.CA[0] != filepath.Join(dir, "ca.crt") ||
		len(e.Client) != 2 || e.Client[1] != [2]string{filepath.Join(dir, "bob.cert"), filepath.Join(dir, "bob.key")} {
		t.Errorf("host entry = %+v", e)
	}
}

// TestReadFolderSpecialFiles: a named pipe or a device under a certs.d name,
// or named by hosts.toml, is reported; reading the folder never hangs.
func TestReadFolderSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.crt"), 0o644); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.cert"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.key"), 0o600); err != nil {
		t.Fatal(err)
	}
	hosts := "server = \"https://reg:5000\"\n[host.\"https://reg:5000\"]\n  ca = \"/dev/zero\"\n  client = [[\"pipe.cert\", \"pipe.key\"]]\n"
	if err := os.WriteFile(filepath.Join(dir, "hosts.toml"), []byte(hosts), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan *Folder, 1)
	go func() {
		f, err := ReadFolder(dir)
		if err != nil {
			t.Error(err)
		}
		done <- f
	}()
	var f *Folder
	select {
	case f = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("ReadFolder hangs on a named pipe or /dev/zero")
	}
	if f == nil {
		return
	}
	var msgs []string
	for _, p := range f.Problems {
		msgs = append(msgs, p.String())
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{"pipe.crt", "pipe.cert"} {
		if !strings.Contains(all, want) {
			t.Errorf("no problem reported for %s:\n%s", want, all)
		}
	}
}

func TestRegistries(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"reg.example.com:5000", "10.0.0.5", "[fd00::1]:5000", "reg.example.com_5000_", "_default", ".certkit-backup", "https:"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "stray.example.com"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	regs, err := Registries(root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range regs {
		got = append(got, r.String())
	}
	if want := "10.0.0.5 [fd00::1]:5000 reg.example.com:5000"; strings.Join(got, " ") != want {
		t.Fatalf("registries %q, want %q", got, want)
	}
	if f := (Root{Dir: root}).Folder(regs[1]); f != filepath.Join(root, "[fd00::1]:5000") {
		t.Errorf("Folder = %s", f)
	}
}
