package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/internal/certtest"
)

// checkcrl FILE ISSUER ASSERTION...: FILE is one PEM CRL that the CA
// certificate in ISSUER signed, and it satisfies every assertion:
// lint (zlint RFC sources clean) number=N revoked=N days=N (nextUpdate -
// thisUpdate) serial=CERTFILE (lists that certificate's serial)
// reason=R (the reason of every entry).
func cmdCheckcrl(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 3 {
		ts.Fatalf("usage: checkcrl FILE ISSUER ASSERTION...")
	}
	data, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	issuer := readCert(ts, args[1])
	l, err := ca.ParseCRL(data, args[0], issuer)
	if err != nil {
		ts.Fatalf("%v", err)
	}
	for _, a := range args[2:] {
		err := checkCRLOne(ts, l, a)
		if neg && err == nil {
			ts.Fatalf("%s: %s holds, want it not to", args[0], a)
		}
		if !neg && err != nil {
			ts.Fatalf("%s: %v", args[0], err)
		}
	}
}

func checkCRLOne(ts *testscript.TestScript, l *ca.CRL, a string) error {
	x := l.List
	if a == "lint" {
		problems, err := certtest.LintCRL(x.Raw)
		if err != nil {
			return err
		}
		if len(problems) > 0 {
			return fmt.Errorf("zlint: %s", strings.Join(problems, "; "))
		}
		return nil
	}
	k, v, ok := strings.Cut(a, "=")
	if !ok {
		ts.Fatalf("unknown assertion %q", a)
	}
	var got string
	switch k {
	case "number":
		got = x.Number.String()
	case "revoked":
		got = strconv.Itoa(len(x.RevokedCertificateEntries))
	case "days":
		got = strconv.Itoa(int(x.NextUpdate.Sub(x.ThisUpdate).Round(time.Hour).Hours() / 24))
	case "serial":
		c := readCert(ts, v)
		if _, ok := l.Entry(c.SerialNumber); !ok {
			return fmt.Errorf("serial %x of %s is not listed", c.SerialNumber, v)
		}
		return nil
	case "reason":
		for _, e := range x.RevokedCertificateEntries {
			if r := ca.Reason(e.ReasonCode).String(); r != v {
				return fmt.Errorf("entry %x has reason %s, want %s", e.SerialNumber, r, v)
			}
		}
		return nil
	default:
		ts.Fatalf("unknown assertion %q", a)
	}
	if got != v {
		return fmt.Errorf("%s = %s, want %s", k, got, v)
	}
	return nil
}
