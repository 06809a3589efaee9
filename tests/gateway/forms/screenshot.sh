#!/usr/bin/env bash
# Render Mẫu 01 and Mẫu 09 with gw_forms_render, then in headless Chromium:
#   - a screenshot of each at A4 size in CSS pixels (794x1123): the PNG must
#     exist, be 794x1123 (read from its IHDR) and not be blank (size);
#   - a PDF of each (print CSS, @page A4): exactly one A4 page, and
#     pdftotext must find the form number, the Vietnamese title, the
#     national header, the carrier "Viettel/cs" and the filled-in name.
#
#   screenshot.sh GW_FORMS_RENDER FORMS_DIR OUT_DIR
#
# The PNGs are left in OUT_DIR (mau01.png, mau09.png) for a person to look
# at; docs/forms/ holds copies.  Needs chromium, poppler-utils and fonts
# with Vietnamese glyphs (fonts-liberation2 for a Times-like serif,
# fonts-dejavu-core as fallback).  A missing tool is a failure, not a skip.
set -euo pipefail

render=${1:?usage: screenshot.sh GW_FORMS_RENDER FORMS_DIR OUT_DIR}
forms=${2:?forms dir}
out=${3:?out dir}
need_pkgs="apt-get install chromium poppler-utils fonts-liberation2 fonts-dejavu-core"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

chrome=""
for c in chromium chromium-browser google-chrome; do
  if command -v "$c" >/dev/null 2>&1; then
    chrome=$(command -v "$c")
    break
  fi
done
[ -n "$chrome" ] || fail "no headless Chromium (chromium, chromium-browser or google-chrome) on PATH: $need_pkgs"
for t in pdftotext pdfinfo od timeout; do
  command -v "$t" >/dev/null 2>&1 || fail "$t not found: $need_pkgs"
done

mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export HOME=$work/home # Chromium writes caches and crash dumps under HOME
mkdir -p "$HOME"

# One browser run, bounded in time, isolated profile, no network chatter.
chrome_run() {
  local profile
  profile=$(mktemp -d "$work/profile.XXXXXX")
  timeout 90 "$chrome" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --disable-dev-shm-usage \
    --hide-scrollbars --force-device-scale-factor=1 --user-data-dir="$profile" "$@" \
    >"$work/chrome.log" 2>&1 || {
    sed 's/^/  chromium: /' "$work/chrome.log" >&2
    fail "chromium exited with an error ($*)"
  }
}

# Big-endian 32-bit number at offset in file.
be32() {
  od -An -tu1 -j "$2" -N4 "$1" | awk '{ print ($1 * 16777216) + ($2 * 65536) + ($3 * 256) + $4 }'
}

check_form() { # name json-case expected-strings...
  local name=$1 case=$2
  shift 2
  local html=$work/$name.html png=$out/$name.png pdf=$work/$name.pdf
  "$render" "$forms/$case.json" "$html" || fail "$name: gw_forms_render refused $case.json"

  rm -f "$png"
  chrome_run --window-size=794,1123 --screenshot="$png" "file://$html"
  [ -s "$png" ] || fail "$name: no screenshot written"
  [ "$(od -An -tx1 -N8 "$png" | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "$name: $png is not a PNG"
  [ "$(od -An -c -j12 -N4 "$png" | tr -d ' \n')" = "IHDR" ] || fail "$name: $png has no IHDR"
  local w h size
  w=$(be32 "$png" 16)
  h=$(be32 "$png" 20)
  [ "$w" = 794 ] && [ "$h" = 1123 ] || fail "$name: screenshot is ${w}x${h}, expected 794x1123"
  # A blank white 794x1123 page compresses to a few kilobytes; a filled form
  # is well over 40 kB.
  size=$(wc -c <"$png")
  [ "$size" -gt 40000 ] || fail "$name: screenshot is only $size octets: blank page?"

  chrome_run --no-pdf-header-footer --print-to-pdf="$pdf" "file://$html"
  [ -s "$pdf" ] || fail "$name: no PDF written"
  local pages psize
  pages=$(pdfinfo "$pdf" | awk '/^Pages:/ { print $2 }')
  psize=$(pdfinfo "$pdf" | awk '/^Page size:/ { printf "%d x %d", $3 + 0.5, $5 + 0.5 }')
  [ "$pages" = 1 ] || fail "$name: the form takes $pages pages, expected one A4 page"
  # A4 is 595.28 x 841.89 pt (Chromium writes 594.96 x 841.92).
  [ "$psize" = "595 x 842" ] || fail "$name: PDF page is $psize pt, expected A4 (595 x 842)"
  pdftotext -layout "$pdf" "$work/$name.txt"
  local s
  for s in "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" "Độc lập - Tự do - Hạnh phúc" "$@"; do
    grep -qF -- "$s" "$work/$name.txt" || {
      sed 's/^/  pdftotext: /' "$work/$name.txt" >&2
      fail "$name: \"$s\" not in the printed PDF"
    }
  done
  echo "ok: $name: ${w}x${h} PNG ($size octets), 1 A4 page, text found -> $png"
}

start=$(date +%s)
check_form mau01 mau01_person_new "Mẫu 01 (Mẫu 01/2024)" "ĐỀ NGHỊ CẤP CHỨNG THƯ SỐ CHO CÁ NHÂN" \
  "Viettel/cs" "Nguyễn Thị Hồng Nhung" "NGƯỜI ĐỀ NGHỊ" "THỦ TRƯỞNG CƠ QUAN, ĐƠN VỊ" \
  "Bắc Ninh, ngày 05 tháng 3 năm 2025"
check_form mau09 mau09_revoke "Mẫu 09 (Mẫu 05/2024)" "ĐỀ NGHỊ THU HỒI CHỨNG THƯ SỐ" \
  "Viettel/cs" "Đỗ Quang Vinh" "Nghỉ hưu theo chế độ" "5404FFFE2C3D0F42"
echo "screenshot: 2 passed, 0 failed ($(($(date +%s) - start)) s)"
