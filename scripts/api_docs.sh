#!/usr/bin/env bash
# The API reference: Doxygen (docs/Doxyfile) over the public headers, HTML into build/api/
# (open build/api/index.html). Fails, printing them, when Doxygen emits any warning: a public
# symbol without a doc comment, a reference that does not resolve, broken markup. Installs the
# dependencies first when doxygen is missing (Debian's package, through scripts/install_deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v doxygen >/dev/null; then bash scripts/install_deps.sh; fi

out=build/api
log=$out/doxygen-warnings.log  # WARN_LOGFILE in docs/Doxyfile
rm -rf "$out"
mkdir -p "$out"
# Warnings go to the log; anything Doxygen prints outside it (configuration problems) counts too.
doxygen docs/Doxyfile >"$out/doxygen-output.log" 2>&1
cat "$out/doxygen-output.log" >>"$log"
if [[ -s $log ]]; then
  echo "api_docs: Doxygen emitted $(wc -l <"$log") line(s) of warnings; every public symbol needs a doc comment:" >&2
  cat "$log" >&2
  exit 1
fi
echo "api_docs: $(doxygen --version), no warnings; open $out/index.html"
