# Shared by scripts/services.sh and scripts/browser.sh (sourced).

apt_install() {  # HINT PACKAGE...: install Debian packages quietly; HINT is printed if apt-get is missing
  local hint=$1
  shift
  echo "Installing $* (Debian packages) ..."
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: no apt-get; $hint" >&2
    return 1
  fi
  $sudo apt-get update -qq
  # RUNLEVEL=1 (policy-rc.d): install only; a package's own service is not started
  DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
