#!/usr/bin/env bash
# soap_zeep.sh TEST_SOAP_XML SOURCE_DIR - every answer, fault and notification
# gw_soap_xml.c writes, read by zeep through the vGCA WSDL loaded unchanged
# (soap_zeep.py).  Skips (77) when the WSDL or python3-zeep is not there.
set -euo pipefail
tool=$1 src=$2
wsdl=
for w in "$src/docs/vgca/MSS_SignaturePort.wsdl" /work/shared/specs/vgca/MSS_SignaturePort.wsdl; do
  if [ -r "$w" ]; then wsdl=$w; break; fi
done
if [ -z "$wsdl" ]; then echo "SKIP: no MSS_SignaturePort.wsdl"; exit 77; fi
# Debian's python3-zeep is for the system python, not a pyenv one first on PATH.
py=/usr/bin/python3
if ! "$py" -c 'import zeep, lxml' 2>/dev/null; then echo "SKIP: $py has no zeep (apt-get install python3-zeep)"; exit 77; fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# test_soap_xml judges the bytes itself (its own ctest); zeep judges them here either way.
"$tool" "$src/tests/gateway/data/soap" write "$dir" >/dev/null || echo "(test_soap_xml has failures; zeep reads what it wrote)"
"$py" "$src/tests/gateway/soap_zeep.py" "$wsdl" "$dir"
