// Command renewfloor is the floor of `certkit renew --all --install` over
// 1,000 client pairs: the same keys and signatures (on both cores) and
// the same file work (each new file to a temporary name and renamed, the
// old ones kept by a link, a staged certs.d folder swapped in and the old
// one removed, one syncfs), and nothing read or checked. It prints the
// time from the first key to the flush.
//
//	go run ./bench/renewfloor DIR    # DIR on the disk to measure; run it twice (the second run has files to replace)
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: renewfloor DIR")
		os.Exit(2)
	}
	dir := os.Args[1]
	home, certs := filepath.Join(dir, "home"), filepath.Join(dir, "certs", "reg")
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	caT := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caT, caT, &caKey.PublicKey, caKey)
	must(err)
	ca, err := x509.ParseCertificate(caDER)
	must(err)
	must(os.MkdirAll(home, 0o700))
	must(os.MkdirAll(certs, 0o755))
	start := time.Now()
	type pair struct{ cert, key []byte }
	pairs := make([]pair, 1000)
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < 1000; i += 2 {
				k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
				must(err)
				t := &x509.Certificate{SerialNumber: big.NewInt(int64(i + 2)), Subject: pkix.Name{CommonName: fmt.Sprint(i)}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
				der, err := x509.CreateCertificate(rand.Reader, t, ca, &k.PublicKey, caKey)
				must(err)
				kd, err := x509.MarshalPKCS8PrivateKey(k)
				must(err)
				pairs[i] = pair{pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})}
			}
		}(w)
	}
	wg.Wait()
	write := func(p string, data []byte, mode os.FileMode) {
		tmp := p + ".tmp"
		must(os.WriteFile(tmp, data, mode))
		must(os.Rename(tmp, p))
	}
	stamp := time.Now().Format("150405.000000")
	for i, p := range pairs {
		c, k := filepath.Join(home, fmt.Sprintf("c%d.cert", i)), filepath.Join(home, fmt.Sprintf("c%d.key", i))
		// The first run has nothing to keep.
		if err := os.Link(c, c+".bak-"+stamp); err != nil && !os.IsNotExist(err) {
			must(err)
		}
		if err := os.Link(k, k+".bak-"+stamp); err != nil && !os.IsNotExist(err) {
			must(err)
		}
		write(c, p.cert, 0o644)
		write(k, p.key, 0o600)
	}
	stage := certs + ".stage"
	must(os.MkdirAll(stage, 0o755))
	for i, p := range pairs {
		must(os.WriteFile(filepath.Join(stage, fmt.Sprintf("c%d.cert", i)), p.cert, 0o644))
		must(os.WriteFile(filepath.Join(stage, fmt.Sprintf("c%d.key", i)), p.key, 0o600))
	}
	old := certs + ".old"
	must(os.Rename(certs, old))
	must(os.Rename(stage, certs))
	must(os.RemoveAll(old))
	f, err := os.Open(dir)
	must(err)
	must(unix.Syncfs(int(f.Fd())))
	fmt.Printf("%.3f s\n", time.Since(start).Seconds())
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "renewfloor:", err)
		os.Exit(1)
	}
}
