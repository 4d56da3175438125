#!/bin/sh
# Install what coachd needs when it is missing: Debian packages via apt-get
# (when root) and, for the test suite, the npm dev packages in package.json.
# Usage: deps.sh build|test|fuzz
set -e
what=${1:-build}
pkgs="build-essential pkg-config ca-certificates libevent-dev libcurl4-openssl-dev libsqlite3-dev libjansson-dev libcjson-dev libhunspell-dev hunspell-en-us hunspell-es hunspell-fr hunspell-de-de hunspell-pt-br hunspell-pt-pt hunspell-it hunspell-pl hunspell-nl hunspell-ro hunspell-tr hunspell-sv hunspell-id hunspell-cs hunspell-sw libpq-dev"
case "$what" in
  test) pkgs="$pkgs libcmocka-dev sqlite3 chromium nodejs npm prometheus postgresql nginx" ;;
  fuzz) pkgs="$pkgs clang" ;;
esac
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# nodejs/npm may come from outside Debian's packages (a preinstalled node);
# only ask apt for them when the commands are really absent.
if command -v node >/dev/null 2>&1; then missing=$(echo "$missing" | sed 's/ nodejs//; s/ npm//'); fi
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "deps: installing$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  else
    echo "deps: missing Debian packages:$missing (run as root or install them)" >&2
    exit 1
  fi
fi
if [ "$what" = test ] && [ ! -d node_modules/playwright-core ]; then
  echo "deps: installing npm dev packages"
  npm ci --no-audit --no-fund --loglevel=error 2>/dev/null || npm install --no-audit --no-fund --loglevel=error
fi
exit 0
