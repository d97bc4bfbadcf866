#!/usr/bin/env bash
# Prepare the offline real-data root for `realdata` tests (CONVENTIONS.md section 17).
#
#   tools/fetch_test_data.sh [ROOT]     (default: $CVCORE_TEST_DATA or ~/.cache/cvcore-test-data)
#
# Idempotent and cached: each part is skipped when its stamp file exists. Uses Debian's
# packages only (apt-get download + dpkg -x, nothing is installed except ffmpeg for decoding).
# Layout produced:
#   ROOT/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
#   ROOT/opencv/{vtest.avi,graf1.png,graf3.png,H1to3p.xml,digits.png,baboon.jpg,butterfly.jpg}
#   ROOT/opencv/vtest/000001.png ...      (frames of vtest.avi, decoded once with ffmpeg)
# Prints the root on its last line of stdout.
set -euo pipefail

root="${1:-${CVCORE_TEST_DATA:-$HOME/.cache/cvcore-test-data}}"
mkdir -p "$root"
root="$(cd "$root" && pwd)"
work="$root/.debs"
mkdir -p "$work"

apt_updated=0
apt_fetch() {  # apt_fetch PACKAGE -> extracts into $work/x
  local pkg="$1"
  if ! ls "$work"/"$pkg"_*.deb >/dev/null 2>&1; then
    if [ "$apt_updated" = 0 ] && [ "$(id -u)" = 0 ]; then
      apt-get update -qq >&2 || true
      apt_updated=1
    fi
    (cd "$work" && apt-get download -qq "$pkg" >&2)
  fi
  dpkg -x "$work"/"$pkg"_*.deb "$work/x"
}

if [ ! -f "$root/fashion-mnist/.done" ]; then
  echo "test data: Fashion-MNIST (Debian dataset-fashion-mnist)" >&2
  apt_fetch dataset-fashion-mnist
  mkdir -p "$root/fashion-mnist"
  cp "$work"/x/usr/share/datasets/fashion-mnist/*.gz "$root/fashion-mnist/"
  touch "$root/fashion-mnist/.done"
fi

if [ ! -f "$root/opencv/.done" ]; then
  echo "test data: OpenCV sample data (Debian opencv-doc)" >&2
  apt_fetch opencv-doc
  mkdir -p "$root/opencv"
  for f in vtest.avi graf1.png graf3.png H1to3p.xml digits.png baboon.jpg butterfly.jpg; do
    cp "$work/x/usr/share/doc/opencv-doc/examples/data/$f" "$root/opencv/"
  done
  touch "$root/opencv/.done"
fi

if [ ! -f "$root/opencv/vtest/.done" ]; then
  if ! command -v ffmpeg >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
      echo "test data: installing ffmpeg to decode vtest.avi" >&2
      [ "$apt_updated" = 1 ] || apt-get update -qq >&2 || true
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >&2
    else
      echo "test data: ffmpeg missing and not root; vtest frames skipped" >&2
    fi
  fi
  if command -v ffmpeg >/dev/null 2>&1; then
    mkdir -p "$root/opencv/vtest"
    ffmpeg -loglevel error -y -i "$root/opencv/vtest.avi" "$root/opencv/vtest/%06d.png" >&2
    touch "$root/opencv/vtest/.done"
  fi
fi

rm -rf "$work/x"
echo "$root"
