package main

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/internal/certtest"
	"github.com/certkit/certkit/internal/testenv"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"certkit": func() { os.Exit(run(os.Args)) },
	})
}

// TestScript runs the end-to-end CLI tests in testdata/script: each .txtar
// file is one behaviour, run against the real certkit binary entry point.
func TestScript(t *testing.T) {
	testscript.Run(t, scriptParams("testdata/script"))
}

func scriptParams(dir string) testscript.Params {
	return testscript.Params{
		Dir:                 dir,
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			e.Setenv("CERTKIT_HOME", filepath.Join(e.WorkDir, "home"))
			e.Setenv("CI", os.Getenv("CI"))
			e.Setenv("NO_COLOR", "1")
			return nil
		},
		Condition: func(cond string) (bool, error) {
			if name, ok := strings.CutPrefix(cond, "tool:"); ok {
				return testenv.HaveTool(name)
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"checkcert": cmdCheckcert,
			"checkcrl":  cmdCheckcrl,
			"perm":      cmdPerm,
		},
	}
}

// perm PATH MODE: the file or folder's permission bits are exactly MODE.
func cmdPerm(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: perm PATH MODE")
	}
	fi, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	want, err := strconv.ParseUint(args[1], 8, 32)
	ts.Check(err)
	got := fi.Mode().Perm()
	if (got == os.FileMode(want)) == neg {
		ts.Fatalf("%s has mode %04o (want %s%04o)", args[0], got, map[bool]string{true: "not ", false: ""}[neg], want)
	}
}

// checkcert FILE ASSERTION...: the first certificate in FILE satisfies every
// assertion. Assertions: isca=BOOL pathlen=N keytype=T ku=a,b eku=a,b
// san=a,b cn=S o=S days=N lint (zlint RFC sources clean) issuer=CAFILE
// (signed by that certificate, or by the issuing CAs that follow it in
// FILE, which lead to it) subject=FILE (same subject) notafter<=FILE
// serialbits>=N.
func cmdCheckcert(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: checkcert FILE ASSERTION...")
	}
	chain := readCerts(ts, args[0])
	for _, a := range args[1:] {
		err := checkOne(ts, chain, a)
		if neg && err == nil {
			ts.Fatalf("%s: %s holds, want it not to", args[0], a)
		}
		if !neg && err != nil {
			ts.Fatalf("%s: %v", args[0], err)
		}
	}
}

func readCert(ts *testscript.TestScript, name string) *x509.Certificate {
	return readCerts(ts, name)[0]
}

func readCerts(ts *testscript.TestScript, name string) []*x509.Certificate {
	data, err := os.ReadFile(ts.MkAbs(name))
	ts.Check(err)
	certs, err := ca.ParseCerts(data)
	if err != nil {
		ts.Fatalf("%s: %v", name, err)
	}
	return certs
}

func checkOne(ts *testscript.TestScript, chain []*x509.Certificate, a string) error {
	c := chain[0]
	if a == "lint" {
		problems, err := certtest.Lint(c.Raw)
		if err != nil {
			return err
		}
		if len(problems) > 0 {
			return fmt.Errorf("zlint: %s", strings.Join(problems, "; "))
		}
		return nil
	}
	for _, op := range []string{"<=", ">=", "="} {
		k, v, ok := strings.Cut(a, op)
		if !ok {
			continue
		}
		var got string
		switch k + op {
		case "isca=":
			got = strconv.FormatBool(c.IsCA && c.BasicConstraintsValid)
		case "pathlen=":
			got = strconv.Itoa(c.MaxPathLen)
			if c.MaxPathLen == 0 && !c.MaxPathLenZero {
				got = "none"
			}
		case "keytype=":
			got = string(ca.KeyTypeOf(c.PublicKey))
		case "ku=":
			got = certtest.Join(certtest.KeyUsageNames(c.KeyUsage))
		case "eku=":
			got = certtest.Join(certtest.ExtKeyUsageNames(c.ExtKeyUsage))
		case "san=":
			got = certtest.Join(certtest.SANs(c))
		case "cn=":
			got = c.Subject.CommonName
		case "o=":
			got = strings.Join(c.Subject.Organization, ",")
		case "days=":
			got = strconv.Itoa(int(c.NotAfter.Sub(c.NotBefore).Round(time.Hour).Hours() / 24))
		case "issuer=":
			root := readCert(ts, v)
			if c.CheckSignatureFrom(root) == nil {
				return nil
			}
			roots, inter := x509.NewCertPool(), x509.NewCertPool()
			roots.AddCert(root)
			for _, x := range chain[1:] {
				inter.AddCert(x)
			}
			if _, err := c.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: c.NotBefore.Add(time.Minute),
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
				return fmt.Errorf("not signed by %s, nor through the chain after it: %v", v, err)
			}
			return nil
		case "subject=":
			if other := readCert(ts, v); !bytes.Equal(c.RawSubject, other.RawSubject) {
				return fmt.Errorf("subject %q differs from %s's %q", c.Subject, v, other.Subject)
			}
			return nil
		case "notafter<=":
			other := readCert(ts, v)
			if c.NotAfter.After(other.NotAfter) {
				return fmt.Errorf("expires %s, after %s (%s)", c.NotAfter, v, other.NotAfter)
			}
			return nil
		case "serialbits>=":
			n, _ := strconv.Atoi(v)
			if c.SerialNumber.BitLen() < n {
				return fmt.Errorf("serial has %d bits, want >= %d", c.SerialNumber.BitLen(), n)
			}
			return nil
		default:
			return fmt.Errorf("unknown assertion %q", a)
		}
		if got != v {
			return fmt.Errorf("%s is %q, want %q", k, got, v)
		}
		return nil
	}
	return fmt.Errorf("unknown assertion %q", a)
}
