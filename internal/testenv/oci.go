package testenv

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// OCIImage names what WriteOCIImage wrote, by digest ("sha256:<hex>").
type OCIImage struct {
	Manifest string // the manifest's digest: a registry serves these bytes
	Layer    string // the one layer's digest, as skopeo inspect lists it
}

// OCI media types.
const (
	ociManifest = "application/vnd.oci.image.manifest.v1+json"
	ociConfig   = "application/vnd.oci.image.config.v1+json"
	ociLayer    = "application/vnd.oci.image.layer.v1.tar+gzip"
)

// WriteOCIImage writes a one-layer image (one small file) as an OCI image
// layout in dir, tagged tag, for skopeo copy oci:DIR:TAG.
func WriteOCIImage(t testing.TB, dir, tag string) OCIImage {
	t.Helper()
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		t.Fatal(err)
	}
	blob := func(mediaType string, b []byte) map[string]any {
		sum := sha256.Sum256(b)
		h := hex.EncodeToString(sum[:])
		WriteFile(t, filepath.Join(blobs, h), b, 0o644)
		return map[string]any{"mediaType": mediaType, "digest": "sha256:" + h, "size": len(b)}
	}
	js := func(v any) []byte {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	content := []byte("hello from certkit\n")
	if err := tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0o644, Size: int64(len(content)), ModTime: time.Unix(0, 0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(content); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	diffID := sha256.Sum256(tarBuf.Bytes())
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(tarBuf.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}

	layer := blob(ociLayer, gz.Bytes())
	cfg := blob(ociConfig, js(map[string]any{
		"architecture": "amd64", "os": "linux", "config": map[string]any{},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + hex.EncodeToString(diffID[:])}},
	}))
	manifest := blob(ociManifest, js(map[string]any{
		"schemaVersion": 2,
		"mediaType":     ociManifest,
		"config":        cfg,
		"layers":        []any{layer},
	}))
	manifest["annotations"] = map[string]string{"org.opencontainers.image.ref.name": tag}
	WriteFile(t, filepath.Join(dir, "index.json"), js(map[string]any{"schemaVersion": 2, "manifests": []any{manifest}}), 0o644)
	WriteFile(t, filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
	return OCIImage{Manifest: manifest["digest"].(string), Layer: layer["digest"].(string)}
}
