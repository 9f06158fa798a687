#!/usr/bin/env bash
# A registry on this machine and two client machines that never see the CA
# key, each in a folder of its own standing for another machine:
#
#   laptop  gets a bundle the admin made (certkit export, then certkit
#           install --from on the laptop, which has no certkit home);
#   runner  makes its own key and a request (certkit request), the admin
#           signs it (certkit sign), and the runner takes the certificate
#           back (certkit install --cert): the key never leaves the runner.
#
# Each client then pushes and reads an image with skopeo through the
# certs.d folder certkit installed. Nothing outside the temporary folder is
# touched, and everything is removed at the end.
#
#   CERTKIT=path/to/certkit PORT=5000 ./run.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"
need "$CERTKIT" docker-registry skopeo

PORT=${PORT:-5000}
reg="$(registry_name):$PORT"
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
mkdir -p "$work/admin" "$work/laptop" "$work/runner"
admin() { (cd "$work/admin" && CERTKIT_HOME="$work/admin/certkit" show "$CERTKIT" "$@"); }
# A client machine: its own HOME, and no certkit home but its own.
laptop() { (cd "$work/laptop" && HOME="$work/laptop" CERTKIT_HOME= XDG_DATA_HOME= show "$CERTKIT" "$@"); }
runner() { (cd "$work/runner" && HOME="$work/runner" CERTKIT_HOME= XDG_DATA_HOME= show "$CERTKIT" "$@"); }

say "The admin's machine: the CA, the registry's certificate, the registry"
admin init-ca
admin issue server --host "$reg"
admin template registry --host "$reg" --listen "127.0.0.1:$PORT" \
	--storage "$work/storage" --out "$work/admin/config.yml"
echo "\$ docker-registry serve config.yml &"
docker-registry serve "$work/admin/config.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
wait_port "$PORT" "$work/registry.log"
make_oci_image "$work/image" 1.0
skopeo_policy "$work/policy.json"

say "The laptop: a bundle from the admin, installed with no certkit home"
admin issue client --host "$reg" --name laptop
admin export --host "$reg" --name laptop --out "$work/laptop/laptop.bundle"
echo "(the admin hands laptop.bundle over: it holds the laptop's key, never the CA's)"
laptop install --from laptop.bundle --certs-dir "$work/laptop/certs.d"
if [ -e "$work/laptop/.local/share/certkit" ]; then
	echo "error: install --from made a certkit home on the laptop" >&2
	exit 1
fi
show skopeo --policy "$work/policy.json" copy --dest-cert-dir "$work/laptop/certs.d/$reg" \
	"oci:$work/image:1.0" "docker://$reg/certkit/laptop:1.0"

say "The runner: its own key and a request, signed by the admin"
runner request --host "$reg" --name runner --out runner.csr
cp "$work/runner/runner.csr" "$work/admin/runner.csr"
echo "(only runner.csr goes to the admin)"
admin sign --yes --host "$reg" --out runner.cert runner.csr
cp "$work/admin/runner.cert" "$work/runner/runner.cert"
runner install --cert runner.cert --certs-dir "$work/runner/certs.d"
if grep -rqs "PRIVATE KEY" "$work/admin"/runner.*; then
	echo "error: the runner's key reached the admin" >&2
	exit 1
fi
show skopeo inspect --cert-dir "$work/runner/certs.d/$reg" --format '{{.Name}}' \
	"docker://$reg/certkit/laptop:1.0"

say "Done: two client machines reached the registry, and neither held the CA key"
