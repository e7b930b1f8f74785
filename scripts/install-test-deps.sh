#!/usr/bin/env bash
# Installs the real services the test suite starts (Redis, PostgreSQL 15, Prometheus,
# Alertmanager, HAProxy, Chromium) from Debian's packages. Skips apt when everything is already there.
set -euo pipefail

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15)
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || command -v alertmanager >/dev/null 2>&1 || need+=(prometheus-alertmanager)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v wrk >/dev/null 2>&1 || need+=(wrk)  # load generator for make bench
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)  # traffic actuator of the rollout tests
command -v curl >/dev/null 2>&1 || need+=(curl)  # the README test runs its curl examples

if [ ${#need[@]} -eq 0 ]; then
  echo "test services: all present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "test services: installing ${need[*]} (Debian packages)"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# --no-install-recommends keeps Chromium and Prometheus lean; services are never auto-started.
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian's packages start their daemons on some systems; the tests start their own on free ports.
for svc in redis-server prometheus prometheus-alertmanager postgresql haproxy; do
  $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
echo "test services: installed"
