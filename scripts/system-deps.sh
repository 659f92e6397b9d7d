#!/bin/sh
# Qt's wheels bundle Qt itself but need system libraries: those of the xcb platform plugin (the
# window on X11; `ldd PyQt6/Qt6/plugins/platforms/libqxcb.so` lists them), OpenGL/EGL, fontconfig,
# D-Bus, and a CJK font for the Chinese labels. Install what is missing when we can (root + apt);
# otherwise name it.
#
#   sh scripts/system-deps.sh [--test] [--check] [PYTHON]
#
#   --test   also what the test suite and screenshots use: xvfb + xauth (a real X server for
#            screenshots), librsvg2-bin (rsvg-convert: the SVG exports are rendered and compared
#            with the PNG export), poppler-utils (pdftoppm, to look at PDF exports)
#   --check  install nothing; print what is missing and exit 1 if anything is
#   PYTHON   a Python with PyQt6: after installing, `ldd` on its libqxcb.so names any library
#            still not found (so a system that is not Debian gets a precise list)
qt_pkgs="libgl1 libegl1 libfontconfig1 libfreetype6 libdbus-1-3 libglib2.0-0
libx11-6 libx11-xcb1 libxcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1
libxcb-randr0 libxcb-render0 libxcb-render-util0 libxcb-shape0 libxcb-shm0 libxcb-sync1
libxcb-util1 libxcb-xfixes0 libxcb-xinerama0 libxcb-xkb1 libxkbcommon0 libxkbcommon-x11-0
fonts-wqy-microhei"
test_pkgs="xvfb xauth librsvg2-bin poppler-utils"

pkgs=$qt_pkgs
check=0
python=""
for arg in "$@"; do
  case $arg in
    --test) pkgs="$qt_pkgs $test_pkgs" ;;
    --check) check=1 ;;
    -*) echo "system-deps.sh: unknown option $arg (expected --test, --check or a python)" >&2; exit 2 ;;
    *) python=$arg ;;
  esac
done

missing=""
if command -v dpkg >/dev/null 2>&1; then
  for p in $pkgs; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
  done
fi

if [ -n "$missing" ]; then
  if [ "$check" = 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing system packages for Qt:$missing"
    apt-get update -qq >/dev/null 2>&1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null || {
      echo "gradviz: could not install:$missing (install them with your package manager)" >&2
      exit 1
    }
    missing=""
  else
    echo "gradviz: Qt needs these system packages:$missing (Debian/Ubuntu names; install them" \
         "with your package manager, e.g. sudo apt-get install$missing)" >&2
  fi
fi

# What the dynamic linker still cannot find for Qt's xcb plugin, by library file name.
notfound=""
if [ -n "$python" ] && command -v ldd >/dev/null 2>&1; then
  qt=$("$python" -c 'import os, PyQt6; print(os.path.join(os.path.dirname(PyQt6.__file__), "Qt6"))' 2>/dev/null)
  for lib in "$qt/plugins/platforms/libqxcb.so" "$qt/lib/libQt6XcbQpa.so.6"; do
    [ -f "$lib" ] || continue
    notfound="$notfound $(ldd "$lib" 2>/dev/null | awk '/not found/ {print $1}')"
  done
  notfound=$(echo $notfound | tr ' ' '\n' | sort -u | tr '\n' ' ')
  if [ -n "$(echo $notfound)" ]; then
    echo "gradviz: Qt's xcb platform (the window on X11) cannot find: $notfound(without them Qt" \
         "says only that it could not load the \"xcb\" plugin)" >&2
  fi
fi

if [ "$check" = 1 ] && { [ -n "$missing" ] || [ -n "$(echo $notfound)" ]; }; then
  exit 1
fi
exit 0
