#!/bin/sh
# Makes sure the Debian packages a make target needs are installed.
#
#   tools/deps.sh build|test|asan|valgrind|fuzz|lint|bench
#
# As root it runs `apt-get update` (once) and `apt-get install -y` for what is missing; otherwise it
# stops with the list of packages to install, so `make test` on a fresh machine needs nothing else.
set -eu

packages_for() {
  case "$1" in
    build) echo "gcc make pkg-config libsqlite3-dev sqlite3 libcurl4-openssl-dev libcjson-dev libssl-dev libhiredis-dev tzdata" ;;
    test) echo "perl python3 sqlite3 nginx-light sqlite-utils g++ redis-server" ;;
    asan) echo "gcc" ;;
    valgrind) echo "valgrind" ;;
    fuzz) echo "clang-14 libclang-rt-14-dev" ;;
    lint) echo "clang-format cppcheck pmccabe" ;;
    bench) echo "curl redis-server" ;;
    *) echo "tools/deps.sh: unknown target '$1'" >&2; exit 2 ;;
  esac
}

missing=""
for target in "$@"; do
  for package in $(packages_for "$target"); do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    case "$status" in
      *"install ok installed"*) ;;
      *) case " $missing " in *" $package "*) ;; *) missing="$missing $package" ;; esac ;;
    esac
  done
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "Missing Debian packages:$missing" >&2
  echo "Install them with: sudo apt-get install -y$missing" >&2
  exit 1
fi
echo "Installing missing Debian packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
# shellcheck disable=SC2086 # one word per package
apt-get install -y -qq --no-install-recommends $missing >&2
