#!/bin/sh
# Qt's wheels bundle Qt itself but need a few system libraries (and a CJK font for the
# Chinese labels). Install what is missing when we can (root + apt); otherwise say what.
pkgs="libgl1 libegl1 libfontconfig1 libxkbcommon0 libxkbcommon-x11-0 libdbus-1-3 libglib2.0-0 fonts-wqy-microhei"
missing=""
for p in $pkgs; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing system libraries for Qt:$missing"
  apt-get update -qq >/dev/null 2>&1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
else
  echo "gradviz: Qt may need these system packages:$missing (install them with your package manager)" >&2
fi
exit 0
