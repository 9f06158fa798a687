package status

import (
	"bufio"
	"bytes"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/issue"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func at(t time.Time) func() time.Time { return func() time.Time { return t } }

// fixture: a home with certificates in every state at t0+70 days, and a
// certs root with copies in every relation to the home's.
func fixture(t *testing.T) (homeDir string, root install.Root, reg host.Registry) {
	t.Helper()
	homeDir = t.TempDir()
	if _, err := ca.Create(ca.Options{Home: homeDir, Machine: "t", Now: at(t0)}); err != nil {
		t.Fatal(err)
	}
	reg, _ = host.Parse("reg.example.com:5000")
	issueAt := func(now time.Time, kind issue.Kind, name string, validity time.Duration) {
		t.Helper()
		o := issue.Options{Home: homeDir, Registry: reg, Kind: kind, Validity: validity, Now: at(now), Force: true}
		if kind == issue.Client {
			o.Names = []string{name}
		}
		if _, err := issue.Issue(o); err != nil {
			t.Fatal(err)
		}
	}
	issueAt(t0, issue.Server, "", 0)                     // ok: 825 days
	issueAt(t0, issue.Client, "soon", 90*24*time.Hour)   // renew: 20 days left, window 30
	issueAt(t0, issue.Client, "gone", 10*24*time.Hour)   // expired
	issueAt(t0, issue.Client, "stale", 365*24*time.Hour) // ok in the home, older in certs.d
	dir := t.TempDir()
	root, err := install.CustomRoot(install.Docker, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := install.Install(install.Options{Home: homeDir, Registries: []host.Registry{reg}, Roots: []install.Root{root}, Now: at(t0)}); err != nil {
		t.Fatal(err)
	}
	issueAt(t0.Add(24*time.Hour), issue.Client, "stale", 365*24*time.Hour) // renewed, not installed
	// The CRL, signed again by a timer: ok at t0+70 days.
	if _, err := ca.RefreshCRL(ca.CRLOptions{Home: homeDir, Now: at(t0.Add(65 * 24 * time.Hour))}); err != nil {
		t.Fatal(err)
	}
	issueAt(t0.Add(100*24*time.Hour), issue.Client, "future", 0) // not yet valid at t0+70d; missing in certs.d
	// A pair the home does not know, in certs.d.
	other := t.TempDir()
	if _, err := ca.Create(ca.Options{Home: other, Machine: "o", Now: at(t0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := issue.Issue(issue.Options{Home: other, Registry: reg, Kind: issue.Client, Names: []string{"stranger"}, Now: at(t0)}); err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{".cert", ".key"} {
		data, err := os.ReadFile(filepath.Join(other, "hosts", reg.String(), "stranger"+ext))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, reg.String(), "stranger"+ext), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return homeDir, root, reg
}

type key struct {
	loc  Location
	name string
}

func TestRead(t *testing.T) {
	h, root, _ := fixture(t)
	rep, err := Read(Options{Home: h, Roots: []install.Root{root}, Now: at(t0.Add(70 * 24 * time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		state State
		copy  Copy
	}
	wants := map[key]want{
		{InHome, "ca"}:         {OK, ""},
		{InHome, "server"}:     {OK, ""},
		{InHome, "soon"}:       {Renew, ""},
		{InHome, "gone"}:       {Expired, ""},
		{InHome, "stale"}:      {OK, ""},
		{InHome, "future"}:     {NotYetValid, ""},
		{InCertsD, "ca"}:       {OK, Same},
		{InCertsD, "soon"}:     {Renew, Same},
		{InCertsD, "gone"}:     {Expired, Same},
		{InCertsD, "stale"}:    {OK, Older},
		{InCertsD, "future"}:   {NotYetValid, Missing},
		{InCertsD, "stranger"}: {OK, Unknown},
	}
	got := map[key]want{}
	for _, c := range rep.Certs {
		got[key{c.Location, c.Name}] = want{c.State, c.Copy}
	}
	for k, w := range wants {
		if g, ok := got[k]; !ok || g != w {
			t.Errorf("%s %s: %+v (found %v), want %+v", k.loc, k.name, g, ok, w)
		}
	}
	if len(got) != len(wants) {
		t.Errorf("report lists %d certificates, want %d: %v", len(got), len(wants), got)
	}
	// soon, gone, future (home) + soon, gone, stale(older), future(missing) in certs.d.
	if n := rep.Attention(); n != 7 {
		t.Errorf("Attention() = %d, want 7", n)
	}

	// --within 10d: soon (20 days left) leaves the window.
	rep2, err := Read(Options{Home: h, Roots: []install.Root{root}, Within: 10 * 24 * time.Hour, Now: at(t0.Add(70 * 24 * time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep2.Certs {
		if c.Name == "soon" && c.State != OK {
			t.Errorf("with a 10-day window, soon is %s", c.State)
		}
	}

	// The JSON says the same.
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Certificates []struct {
			Location Location
			Name     string
			State    State
			Copy     Copy
			NotAfter time.Time `json:"not_after"`
			DaysLeft int       `json:"days_left"`
		}
	}
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	for _, c := range back.Certificates {
		if w := wants[key{c.Location, c.Name}]; w.state != c.State || w.copy != c.Copy {
			t.Errorf("JSON %s %s: %s/%s, want %+v", c.Location, c.Name, c.State, c.Copy, w)
		}
	}
}

// TestOutlivesCA: a leaf valid past its CA's notAfter (the CA certificate
// was made again with the same key and a shorter life).
func TestOutlivesCA(t *testing.T) {
	h := t.TempDir()
	if _, err := ca.Create(ca.Options{Home: h, Machine: "t", Now: at(t0)}); err != nil {
		t.Fatal(err)
	}
	reg, _ := host.Parse("reg.example.com")
	if _, err := issue.Issue(issue.Options{Home: h, Registry: reg, Kind: issue.Client, Now: at(t0)}); err != nil {
		t.Fatal(err)
	}
	c, err := ca.Load(h)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := *c.Cert
	tmpl.NotAfter = t0.Add(100 * 24 * time.Hour)
	der, err := x509.CreateCertificate(nil, &tmpl, &tmpl, c.Cert.PublicKey, c.Key)
	if err != nil {
		t.Fatal(err)
	}
	short, _ := x509.ParseCertificate(der)
	if err := os.WriteFile(filepath.Join(h, "ca", "ca.crt"), ca.EncodeCert(short), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := Read(Options{Home: h, Now: at(t0.Add(24 * time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Certs {
		if c.Name == "client" && c.State != OutlivesCA {
			t.Errorf("client: %s, want outlives-ca", c.State)
		}
	}
}

// TestPrometheus: the textfile parses as the text format (every sample a
// name, escaped labels and a number, under a TYPE line), and says what the
// report says.
func TestPrometheus(t *testing.T) {
	h, root, _ := fixture(t)
	rep, err := Read(Options{Home: h, Roots: []install.Root{root}, Now: at(t0.Add(70 * 24 * time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := rep.WritePrometheus(&buf); err != nil {
		t.Fatal(err)
	}
	samples := parseTextFormat(t, buf.String())
	notAfter := map[string]float64{}
	states := map[string]string{}
	for _, s := range samples {
		id := s.labels["location"] + "/" + s.labels["name"]
		switch s.name {
		case "x509_cert_not_after":
			notAfter[id] = s.value
		case "certkit_cert_state":
			states[id] = s.labels["state"] + "/" + s.labels["copy"]
		case "certkit_status_attention":
			if int(s.value) != rep.Attention() {
				t.Errorf("certkit_status_attention %v, want %d", s.value, rep.Attention())
			}
		}
	}
	for _, c := range rep.Certs {
		id := string(c.Location) + "/" + c.Name
		if got := states[id]; got != string(c.State)+"/"+string(c.Copy) {
			t.Errorf("%s: state series %q, want %s/%s", id, got, c.State, c.Copy)
		}
		if c.Copy == Missing {
			continue
		}
		if got := notAfter[id]; got != float64(c.NotAfter.Unix()) {
			t.Errorf("%s: x509_cert_not_after %v, want %d", id, got, c.NotAfter.Unix())
		}
	}
}

type sample struct {
	name   string
	labels map[string]string
	value  float64
}

var (
	metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelPair  = regexp.MustCompile(`^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)`)
)

// parseTextFormat is a strict reader of the Prometheus text format, as
// node_exporter's textfile collector reads it.
func parseTextFormat(t *testing.T, text string) []sample {
	t.Helper()
	typed := map[string]bool{}
	var out []sample
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if f, ok := strings.CutPrefix(line, "# TYPE "); ok {
			parts := strings.Fields(f)
			if len(parts) != 2 || !metricName.MatchString(parts[0]) || parts[1] != "gauge" {
				t.Fatalf("line %d: bad TYPE: %q", n, line)
			}
			typed[parts[0]] = true
			continue
		}
		if strings.HasPrefix(line, "# HELP ") {
			continue
		}
		name, rest, hasLabels := strings.Cut(line, "{")
		var value string
		labels := map[string]string{}
		if hasLabels {
			body, v, ok := strings.Cut(rest, "} ")
			if !ok {
				t.Fatalf("line %d: no closing brace: %q", n, line)
			}
			for body != "" {
				m := labelPair.FindStringSubmatch(body)
				if m == nil {
					t.Fatalf("line %d: bad labels at %q", n, body)
				}
				labels[m[1]] = strings.NewReplacer(`\\`, `\`, `\"`, `"`, `\n`, "\n").Replace(m[2])
				body = body[len(m[0]):]
			}
			value = v
		} else {
			var ok bool
			name, value, ok = strings.Cut(line, " ")
			if !ok {
				t.Fatalf("line %d: no value: %q", n, line)
			}
		}
		if !metricName.MatchString(name) || !typed[name] {
			t.Fatalf("line %d: metric %q is not named or has no TYPE line", n, name)
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("line %d: value %q: %v", n, value, err)
		}
		out = append(out, sample{name, labels, v})
	}
	if len(out) == 0 {
		t.Fatal("no samples")
	}
	return out
}

func ExampleWindow() {
	c := &x509.Certificate{NotBefore: t0, NotAfter: t0.Add(90 * 24 * time.Hour)}
	fmt.Println(Window(c, 0), Window(&x509.Certificate{NotBefore: t0, NotAfter: t0.Add(825 * 24 * time.Hour)}, 0), Window(c, time.Hour))
	// Output: 720h0m0s 720h0m0s 1h0m0s
}
