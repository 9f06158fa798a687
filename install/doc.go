// Package install is the one package that knows certs.d: where Docker,
// podman and containerd look for a registry's certificates (the targets and
// their roots), what the files in a registry folder mean (ReadFolder, shared
// with verify), and how certkit puts a CA and client pairs there and takes
// them away again (Install, Uninstall): each registry folder atomically, and
// the folders of a run all or none (see apply.go).
//
// What lands in <root>/<host[:port]>/: ca.crt, and each client pair as
// NAME.cert + NAME.key; for containerd also a hosts.toml naming them; and
// .certkit-manifest.json, certkit's record of its own files (no loader reads
// it). Never a CA key, never a server key.
package install
