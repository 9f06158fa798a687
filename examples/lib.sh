# Helpers shared by the runnable examples. Source it; it needs bash.
# shellcheck shell=bash

# Debian puts nginx and apache2 in /usr/sbin, outside a user's PATH.
PATH="$PATH:/usr/sbin:/sbin"

CERTKIT=${CERTKIT:-certkit}

# say prints a heading; show prints a command, then runs it.
say() { printf '\n== %s\n' "$*"; }
show() {
	local line='$' arg
	for arg in "$@"; do
		if [[ $arg =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
			line+=" $arg"
		else
			line+=" '${arg//\'/\'\\\'\'}'"
		fi
	done
	printf '%s\n' "$line"
	"$@"
}

# need fails early, naming the Debian packages to install.
need() {
	local missing=()
	for tool in "$@"; do
		command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
	done
	if ((${#missing[@]})); then
		echo "this example needs: ${missing[*]} (apt-get install docker-registry skopeo nginx curl)" >&2
		exit 2
	fi
}

# registry_name prints the name the example registry is reached by. A
# registry on localhost is a poor example (Docker reads no certs.d folder for
# loopback registries), so it prefers registry.certkit.test (.test is reserved
# for testing, RFC 2606) when that resolves to 127.0.0.1. Under CI, as root,
# the name is added to /etc/hosts when missing; nothing else in /etc is ever
# touched. Otherwise it falls back to localhost.
registry_name() {
	local name=registry.certkit.test
	if getent ahostsv4 "$name" 2>/dev/null | awk '{print $1}' | grep -qx '127.0.0.1'; then
		echo "$name"
		return
	fi
	if [ "${CI:-}" = true ] && [ "$(id -u)" -eq 0 ] && ! grep -qw "$name" /etc/hosts; then
		printf '127.0.0.1\t%s\n' "$name" >>/etc/hosts
		echo "$name"
		return
	fi
	echo "note: $name does not resolve to 127.0.0.1 here; using localhost (add \"127.0.0.1 $name\" to /etc/hosts for the real thing)" >&2
	echo localhost
}

# wait_port waits until something listens on 127.0.0.1:$1 (up to 20s), or
# fails showing the log file $2.
wait_port() {
	local i
	for ((i = 0; i < 200; i++)); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	echo "nothing listens on 127.0.0.1:$1; log:" >&2
	cat "$2" >&2
	return 1
}

# curl_path escapes the ':' of a certs.d folder name (reg:5000) for curl's
# --cert, where ':' would start a pass phrase (--key takes the path as is).
curl_path() { printf '%s' "${1//:/\\:}"; }

# make_oci_image DIR TAG writes a one-layer OCI image layout, small enough to
# push anywhere, with nothing but coreutils, tar and gzip.
make_oci_image() {
	local dir=$1 tag=$2 tmp
	tmp=$(mktemp -d "$dir.tmp.XXXXXX") # beside the layout, inside the caller's folder
	mkdir -p "$dir/blobs/sha256"
	printf 'hello from certkit\n' >"$tmp/hello.txt"
	tar -C "$tmp" --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$tmp/layer.tar" hello.txt
	local diff_id
	diff_id=$(sha256sum "$tmp/layer.tar" | cut -d' ' -f1)
	gzip -n -c "$tmp/layer.tar" >"$tmp/layer.tar.gz"
	local layer_h layer_n cfg_h cfg_n man_h man_n
	read -r layer_h layer_n < <(_blob "$dir" "$tmp/layer.tar.gz")
	printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
		"$diff_id" >"$tmp/config.json"
	read -r cfg_h cfg_n < <(_blob "$dir" "$tmp/config.json")
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%d}]}' \
		"$cfg_h" "$cfg_n" "$layer_h" "$layer_n" >"$tmp/manifest.json"
	read -r man_h man_n < <(_blob "$dir" "$tmp/manifest.json")
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' \
		"$man_h" "$man_n" "$tag" >"$dir/index.json"
	printf '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
	rm -rf "$tmp"
}

# _blob DIR FILE stores FILE in the layout's blobs and prints "HEX SIZE".
_blob() {
	local h
	h=$(sha256sum "$2" | cut -d' ' -f1)
	cp "$2" "$1/blobs/sha256/$h"
	printf '%s %s\n' "$h" "$(stat -c %s "$2")"
}

# skopeo_policy writes a signature policy that accepts the unsigned demo
# image, so the examples do not depend on /etc/containers/policy.json.
skopeo_policy() {
	printf '{"default":[{"type":"insecureAcceptAnything"}]}\n' >"$1"
}
