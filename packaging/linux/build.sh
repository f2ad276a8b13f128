#!/usr/bin/env bash
# Build Rig Console's Linux artifacts from one PyInstaller one-folder bundle:
#
#   dist/rigconsole_<version>_amd64.deb           installs into /opt/rigconsole, with
#                                                 /usr/share/applications/rigconsole.desktop,
#                                                 hicolor icons and /usr/bin/rigconsole
#   dist/rigconsole-<version>-linux-x86_64.tar.gz  per-user: unpack, run ./install.sh
#                                                 (into ~/.local, no root needed)
#
# Usage: packaging/linux/build.sh [--reuse-bundle]
#   --reuse-bundle   skip PyInstaller when build/pyinstaller/dist/rigconsole exists
#                    (repackage only; the tests use it to build once)
# Env: DIST (output folder, default dist/), NICE (niceness of the PyInstaller run, default 10).
# Prints the artifact paths and the build/bundle figures on its last lines.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$(pwd)
export PATH="$HOME/.local/bin:$PATH"
REUSE=0
for arg in "$@"; do
  case "$arg" in
    --reuse-bundle) REUSE=1 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done
for tool in uv dpkg-deb fakeroot; do
  command -v "$tool" >/dev/null || { echo "build.sh: $tool is missing (apt-get install dpkg-dev fakeroot; uv: scripts/setup)" >&2; exit 2; }
done

DIST=${DIST:-$REPO/dist}
WORK=$REPO/build/pyinstaller
BUNDLE=$WORK/dist/rigconsole
VERSION=$(uv run --frozen python -c "import rigconsole; print(rigconsole.__version__)")
ARCH=$(dpkg --print-architecture)
mkdir -p "$DIST"

# ---------------------------------------------------------------- 1. the bundle
if [ "$REUSE" = 1 ] && [ -x "$BUNDLE/rigconsole" ]; then
  echo "build.sh: reusing $BUNDLE"
  BUILD_S=0
else
  echo "build.sh: PyInstaller one-folder bundle (a few minutes)"
  t0=$(date +%s)
  # PyInstaller imports packages while collecting them; psychopy.visual needs a display
  RUN=(nice -n "${NICE:-10}" uv run --frozen pyinstaller --noconfirm --clean --log-level WARN
       --distpath "$WORK/dist" --workpath "$WORK/work" packaging/rigconsole.spec)
  if [ -z "${DISPLAY:-}" ]; then
    command -v xvfb-run >/dev/null || { echo "build.sh: no display and no xvfb-run (apt-get install xvfb)" >&2; exit 2; }
    xvfb-run -a -s "-screen 0 1024x768x24" "${RUN[@]}"
  else
    "${RUN[@]}"
  fi
  BUILD_S=$(( $(date +%s) - t0 ))
fi
[ -x "$BUNDLE/rigconsole" ] || { echo "build.sh: PyInstaller made no $BUNDLE/rigconsole" >&2; exit 1; }
# the bundle must carry PySide6 alone
if find "$BUNDLE" -maxdepth 3 \( -iname 'PyQt5*' -o -iname 'PyQt6*' -o -iname 'PySide2*' -o -name 'libQt5*' \) | grep -q .; then
  echo "build.sh: a second Qt binding is in the bundle:" >&2
  find "$BUNDLE" -maxdepth 3 \( -iname 'PyQt5*' -o -iname 'PyQt6*' -o -iname 'PySide2*' -o -name 'libQt5*' \) >&2
  exit 1
fi

install_icons() {  # $1: hicolor theme folder
  for n in 16 24 32 48 64 128 256 512; do
    install -D -m 644 "resources/icons/rigconsole-$n.png" "$1/${n}x${n}/apps/rigconsole.png"
  done
  install -D -m 644 resources/icons/rigconsole.svg "$1/scalable/apps/rigconsole.svg"
}

# ---------------------------------------------------------------- 2. the .deb (into /opt)
STAGE=$REPO/build/deb/rigconsole_${VERSION}_${ARCH}
rm -rf "$STAGE"
mkdir -p "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/DEBIAN"
cp -a "$BUNDLE" "$STAGE/opt/rigconsole"
ln -s /opt/rigconsole/rigconsole "$STAGE/usr/bin/rigconsole"
install -D -m 644 resources/rigconsole.desktop "$STAGE/usr/share/applications/rigconsole.desktop"
install_icons "$STAGE/usr/share/icons/hicolor"
SIZE_KB=$(du -sk "$STAGE" | cut -f1)
cat > "$STAGE/DEBIAN/control" <<EOF
Package: rigconsole
Version: $VERSION
Architecture: $ARCH
Maintainer: Rig Console developers <rigconsole@localhost>
Installed-Size: $SIZE_KB
Depends: libc6, libgl1, libegl1, libglu1-mesa, libfontconfig1, libdbus-1-3, libxkbcommon-x11-0, libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1, libxcb-shape0, libxcb-render-util0, libxcb-image0, libxcb-randr0, libxcb-xkb1, libxcb-xinerama0
Recommends: libportaudio2, libasound2
Section: science
Priority: optional
Homepage: https://github.com/rigconsole/rigconsole
Description: Experimenter console for PsychoPy rigs
 Lists the experiments in a folder, edits their expInfo, runs, pauses and
 stops them on the subject screen, and plots their data live. Bundles
 PsychoPy, the go/no-go demo and a simulated rig. Check an installation
 with: rigconsole --self-test
EOF
cat > "$STAGE/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q /usr/share/applications || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t /usr/share/icons/hicolor || true
exit 0
EOF
cp "$STAGE/DEBIAN/postinst" "$STAGE/DEBIAN/postrm"
chmod 755 "$STAGE/DEBIAN/postinst" "$STAGE/DEBIAN/postrm"
DEB=$DIST/rigconsole_${VERSION}_${ARCH}.deb
fakeroot dpkg-deb --build -Zgzip -z6 --root-owner-group "$STAGE" "$DEB" >/dev/null

# ---------------------------------------------------------------- 3. the per-user tarball
TNAME=rigconsole-${VERSION}-linux-$(uname -m)
TSTAGE=$REPO/build/tarball/$TNAME
rm -rf "$TSTAGE"
mkdir -p "$TSTAGE"
cp -a "$BUNDLE" "$TSTAGE/app"
install -m 644 resources/rigconsole.desktop "$TSTAGE/rigconsole.desktop"
install_icons "$TSTAGE/icons/hicolor"
install -m 755 packaging/linux/install.sh "$TSTAGE/install.sh"
install -m 755 packaging/linux/uninstall.sh "$TSTAGE/uninstall.sh"
cat > "$TSTAGE/README.txt" <<EOF
Rig Console $VERSION for Linux ($(uname -m)), per-user install (no administrator rights needed).

  ./install.sh        installs into ~/.local (the app in ~/.local/opt/rigconsole,
                      'Rig Console' in the applications menu, ~/.local/bin/rigconsole)
  ./uninstall.sh      removes it again (your data and settings stay)

Then open Rig Console from the applications menu, or check it with: rigconsole --self-test
EOF
TAR=$DIST/$TNAME.tar.gz
tar -C "$(dirname "$TSTAGE")" -czf "$TAR" "$TNAME"

BUNDLE_MB=$(du -sm "$BUNDLE" | cut -f1)
BUNDLE_FILES=$(find "$BUNDLE" -type f | wc -l)
echo "build.sh: deb     $DEB ($(du -m "$DEB" | cut -f1) MiB)"
echo "build.sh: tarball $TAR ($(du -m "$TAR" | cut -f1) MiB)"
echo "build.sh: bundle  $BUNDLE: $BUNDLE_MB MiB in $BUNDLE_FILES files; PyInstaller took ${BUILD_S} s"
