#!/usr/bin/env bash
# etsi_zeep.sh ETSI_TOOL SOURCE_DIR - every request car_etsi_build.c writes,
# read by zeep against the Government CA's WSDL (etsi_zeep.py).  Skips (77)
# when the WSDL or python3-zeep is not there.
set -euo pipefail
tool=$1 src=$2
wsdl=
for w in "$src/docs/vgca/MSS_SignaturePort.wsdl" /work/shared/specs/vgca/MSS_SignaturePort.wsdl; do
  if [ -r "$w" ]; then wsdl=$w; break; fi
done
if [ -z "$wsdl" ]; then echo "SKIP: no MSS_SignaturePort.wsdl in docs/vgca/ or /work/shared/specs/vgca/"; exit 77; fi
# Debian's python3-zeep is for the system python, not a pyenv one first on PATH.
py=/usr/bin/python3
if ! "$py" -c 'import zeep, lxml' 2>/dev/null; then echo "SKIP: $py has no zeep (apt-get install python3-zeep)"; exit 77; fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$tool" requests "$dir"
"$py" "$src/tests/carriers/etsi_zeep.py" "$wsdl" "$dir"
