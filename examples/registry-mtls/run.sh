#!/usr/bin/env bash
# A private registry that only serves clients with a certificate from your
# CA, on this machine, in a temporary folder: Debian's docker-registry with
# the configuration certkit renders, the client certificate installed with
# certkit install --certs-dir, a small image pushed and read back with skopeo
# through the installed folder, and certkit verify. Nothing outside the
# temporary folder is touched, and everything is removed at the end.
#
#   CERTKIT=path/to/certkit PORT=5000 ./run.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"
need "$CERTKIT" docker-registry skopeo curl

PORT=${PORT:-5000}
reg="$(registry_name):$PORT" # the registry, as image references name it
work=$(mktemp -d)
registry_pid=
cleanup() {
	if [ -n "$registry_pid" ]; then
		kill "$registry_pid" 2>/dev/null || true
		wait "$registry_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export CERTKIT_HOME="$work/certkit" # a throw-away certkit home
certs="$work/certs.d"               # stands for /etc/docker/certs.d

say "A CA, the registry's server certificate, one client certificate"
show "$CERTKIT" init-ca
show "$CERTKIT" issue server --host "$reg"
show "$CERTKIT" issue client --host "$reg" --name ci

say "The registry's configuration, rendered by certkit"
show "$CERTKIT" template registry --host "$reg" --listen "127.0.0.1:$PORT" \
	--storage "$work/storage" --out "$work/config.yml"
grep -A10 '^  tls:' "$work/config.yml"

say "Start the registry"
echo "\$ docker-registry serve $work/config.yml &"
docker-registry serve "$work/config.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
wait_port "$PORT" "$work/registry.log"

say "Install the CA and the client pair where clients look for them"
show "$CERTKIT" install --host "$reg" --certs-dir "$certs"
ls -l "$certs/$reg"

say "Without a client certificate the registry refuses the connection"
if curl -sS --cacert "$certs/$reg/ca.crt" "https://$reg/v2/"; then
	echo "error: the registry answered a client without a certificate" >&2
	exit 1
fi
say "With it, GET /v2/ answers {}"
show curl -sS --fail --cacert "$certs/$reg/ca.crt" \
	--cert "$(curl_path "$certs/$reg/ci.cert")" --key "$certs/$reg/ci.key" \
	"https://$reg/v2/"
echo

say "Push a small image and read it back, with the installed folder"
make_oci_image "$work/image" 1.0
skopeo_policy "$work/policy.json"
show skopeo --policy "$work/policy.json" copy --dest-cert-dir "$certs/$reg" \
	"oci:$work/image:1.0" "docker://$reg/certkit/hello:1.0"
show skopeo inspect --cert-dir "$certs/$reg" --format '{{.Name}} {{.Digest}}' \
	"docker://$reg/certkit/hello:1.0"

say "And check it all"
show "$CERTKIT" verify --host "$reg" --certs-dir "$certs"

say "Done: the registry served only the client with the certificate"
