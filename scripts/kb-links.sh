#!/bin/sh
# Checks every knowledge-base URL over the network (`make kb-links`): a HEAD
# request (GET when HEAD is refused), redirects followed, 15 s each. Prints
# one line per URL that is not a 2xx, then a summary. Exit 1 when any page
# answered 4xx/5xx; pages that could not be reached at all (no network, as
# on the build machines) are listed and counted, not failed.
set -u
dir=${1:-kb}
ok=0; bad=0; unreachable=0
for f in $(find "$dir" -name '*.md' | sort); do
  url=$(sed -n 's/^url:[[:space:]]*//p' "$f" | head -1)
  [ -n "$url" ] || continue
  code=$(curl -sS -o /dev/null -I -L --max-time 15 -w '%{http_code}' "$url" 2>/dev/null)
  case "$code" in 405|403|000) code=$(curl -sS -o /dev/null -L --max-time 15 -w '%{http_code}' "$url" 2>/dev/null) ;; esac
  case "$code" in
    2??) ok=$((ok + 1)) ;;
    000|"") unreachable=$((unreachable + 1)); echo "unreachable $url ($f)" ;;
    *) bad=$((bad + 1)); echo "HTTP $code $url ($f)" ;;
  esac
done
echo "kb-links: $ok ok, $bad broken, $unreachable unreachable"
[ "$bad" -eq 0 ]
