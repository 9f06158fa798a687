#!/usr/bin/env bash
# nginx in front of a registry, checking client certificates: the registry
# listens on 127.0.0.1 without TLS, nginx terminates TLS with the server
# certificate certkit issued and lets through only clients with a
# certificate from the certkit CA. Everything runs in a temporary folder,
# unprivileged, and is removed at the end.
#
#   CERTKIT=path/to/certkit PORT=5443 UPSTREAM_PORT=5000 ./run.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"
need "$CERTKIT" docker-registry nginx skopeo curl

PORT=${PORT:-5443}                   # nginx, TLS: what clients connect to
UPSTREAM_PORT=${UPSTREAM_PORT:-5000} # the registry behind it, plain HTTP
reg="$(registry_name):$PORT"
work=$(mktemp -d)
pids=()
cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export CERTKIT_HOME="$work/certkit"
certs="$work/certs.d"

say "A CA, the server certificate for $reg, one client certificate"
show "$CERTKIT" init-ca
show "$CERTKIT" issue server --host "$reg"
show "$CERTKIT" issue client --host "$reg" --name ci

# The registry and nginx are rendered with the same --listen and
# --upstream, so that they agree (without --upstream the registry would
# listen on 127.0.0.1:$((PORT + 1)), the port after nginx's).
flags=(--host "$reg" --listen "127.0.0.1:$PORT" --upstream "127.0.0.1:$UPSTREAM_PORT")

say "The registry, plain HTTP on 127.0.0.1:$UPSTREAM_PORT only, rendered by certkit"
show "$CERTKIT" template registry "${flags[@]}" --behind-proxy \
	--storage "$work/storage" --out "$work/registry.yml"
grep -E '^  addr:' "$work/registry.yml"
echo "\$ docker-registry serve $work/registry.yml &"
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
pids+=($!)
wait_port "$UPSTREAM_PORT" "$work/registry.log"

say "nginx's server block, rendered by certkit"
mkdir -p "$work/nginx"
show "$CERTKIT" template nginx "${flags[@]}" --out "$work/nginx/registry.conf"
grep -E 'ssl_(certificate|client_certificate|verify_client)|proxy_pass' "$work/nginx/registry.conf"

# On a server the block goes into /etc/nginx/conf.d/. Here a minimal
# nginx.conf includes it, with every path in the temporary folder, and nginx
# runs as one process in the foreground so that no root is needed.
cat >"$work/nginx/nginx.conf" <<NGINX
daemon off;
master_process off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 64; }
http {
    access_log $work/nginx/access.log;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    include $work/nginx/registry.conf;
}
NGINX
show nginx -t -q -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log"
echo "\$ nginx -c $work/nginx/nginx.conf &"
nginx -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" &
pids+=($!)
wait_port "$PORT" "$work/nginx/error.log"

say "Install the CA and the client pair where clients look for them"
show "$CERTKIT" install --host "$reg" --certs-dir "$certs"

say "Without a client certificate nginx answers 400"
status=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$certs/$reg/ca.crt" "https://$reg/v2/")
echo "HTTP $status"
if [ "$status" != 400 ]; then
	echo "error: want 400 from nginx for a client without a certificate" >&2
	exit 1
fi
say "With it, the registry behind nginx answers {}"
show curl -sS --fail --cacert "$certs/$reg/ca.crt" \
	--cert "$(curl_path "$certs/$reg/ci.cert")" --key "$certs/$reg/ci.key" \
	"https://$reg/v2/"
echo

say "Push a small image through nginx and read it back"
make_oci_image "$work/image" 1.0
skopeo_policy "$work/policy.json"
show skopeo --policy "$work/policy.json" copy --dest-cert-dir "$certs/$reg" \
	"oci:$work/image:1.0" "docker://$reg/certkit/hello:1.0"
show skopeo inspect --cert-dir "$certs/$reg" --format '{{.Name}} {{.Digest}}' \
	"docker://$reg/certkit/hello:1.0"

say "And check it all"
show "$CERTKIT" verify --host "$reg" --certs-dir "$certs"

say "Done: nginx let through only the client with the certificate"
