#!/usr/bin/env bash
# Make sure the servers of the scale-out stack are installed (Debian packages): PostgreSQL,
# Redis and nginx. Used by `make services` (and so by `make test`); scripts/scale.sh runs them.
set -euo pipefail
. "$(dirname "$0")/apt.sh"
missing=()
ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v nginx >/dev/null 2>&1 || missing+=(nginx-light)
if [ ${#missing[@]} -eq 0 ]; then
  echo "Services ready: $(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1 | cut -d/ -f5 | sed 's/^/PostgreSQL /'), $(redis-server --version | cut -d' ' -f1-3), $(nginx -v 2>&1 | cut -d' ' -f3)"
  exit 0
fi
# (scripts/scale.sh runs its own servers; the packages' services are not started)
apt_install "install PostgreSQL, Redis and nginx yourself (docs/deployment.md)" "${missing[@]}"
echo "Services ready."
