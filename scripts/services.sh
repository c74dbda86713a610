#!/usr/bin/env bash
# Make sure the servers of the scale-out stack are installed (Debian packages): PostgreSQL,
# Redis and nginx. Used by `make services` (and so by `make test`); scripts/scale.sh runs them.
set -euo pipefail
missing=()
ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v nginx >/dev/null 2>&1 || missing+=(nginx-light)
if [ ${#missing[@]} -eq 0 ]; then
  echo "Services ready: $(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1 | cut -d/ -f5 | sed 's/^/PostgreSQL /'), $(redis-server --version | cut -d' ' -f1-3), $(nginx -v 2>&1 | cut -d' ' -f3)"
  exit 0
fi
echo "Installing ${missing[*]} (Debian packages) ..."
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: no apt-get; install PostgreSQL, Redis and nginx yourself (docs/deployment.md)" >&2
  exit 1
fi
$SUDO apt-get update -qq
# policy-rc.d: install only; the packages' own services are not started (scripts/scale.sh runs its own).
DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "Services ready."
