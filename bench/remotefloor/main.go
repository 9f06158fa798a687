// Command remotefloor is the floor for certkit issue client through a
// remote signer: a bare client of the same engine that does only what any
// client must. It makes a P-256 key and its certificate request with
// cfssl's csr package, sends the request to multirootca's authsign with
// cfssl's api/client and auth packages over TLS that trusts only the CA,
// and writes the certificate to stdout. Nothing is checked, nothing is
// written to disk.
//
//	remotefloor -url https://localhost:8888 -auth-key-file auth.key -ca ca.crt [-label certkit]
//
// BenchmarkRemoteIssue (bench_remote_test.go) builds and times it next to
// certkit.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/cloudflare/cfssl/api/client"
	"github.com/cloudflare/cfssl/auth"
	"github.com/cloudflare/cfssl/csr"
)

func main() {
	url := flag.String("url", "", "the signer, https://HOST:PORT")
	keyFile := flag.String("auth-key-file", "", "the signer's auth key (hex)")
	caFile := flag.String("ca", "", "the CA certificate (PEM): the only root trusted for the signer's TLS")
	label := flag.String("label", "certkit", "the multirootca label")
	flag.Parse()
	if err := run(*url, *keyFile, *caFile, *label); err != nil {
		fmt.Fprintln(os.Stderr, "remotefloor:", err)
		os.Exit(1)
	}
}

func run(url, keyFile, caFile, label string) error {
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return fmt.Errorf("%s: no certificate", caFile)
	}
	prov, err := auth.New("file:"+keyFile, nil)
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	csrPEM, err := csr.Generate(key, &csr.CertificateRequest{CN: "floor"})
	if err != nil {
		return err
	}
	req, err := json.Marshal(map[string]any{"certificate_request": string(csrPEM), "profile": "client", "label": label})
	if err != nil {
		return err
	}
	srv := client.NewServerTLS(url, &tls.Config{RootCAs: pool})
	if srv == nil {
		return fmt.Errorf("cfssl cannot use %s", url)
	}
	cert, err := srv.AuthSign(req, nil, prov)
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(cert)
	return err
}
