#!/usr/bin/env bash
# Dependencies point one way: model/ <- actors/ <- runtime/. No file under model/ includes
# actors/ or runtime/, none under actors/ (or examples/, which embed the actors alone)
# includes runtime/. The build's three libraries follow the same lines.
# Usage: include_direction.sh SOURCE_DIR
set -euo pipefail
cd "$1"
bad=$(grep -rnE '#include "(actors|runtime)/' model || true)
bad+=$(grep -rnE '#include "runtime/' actors examples || true)
if [[ -n $bad ]]; then
  echo "includes against the direction model <- actors <- runtime:"
  echo "$bad"
  exit 1
fi
echo "include direction: model <- actors <- runtime holds ($(find model actors runtime examples -name '*.[ch]pp' | wc -l) files)"
