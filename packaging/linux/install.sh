#!/usr/bin/env bash
# Install Rig Console for this user only (no administrator rights): run from the unpacked tarball.
#
#   ./install.sh [--prefix DIR]     default DIR: ~/.local
#
# Puts the app in DIR/opt/rigconsole, a 'Rig Console' entry in the applications menu
# (DIR/share/applications/rigconsole.desktop), its icons in DIR/share/icons/hicolor,
# and DIR/bin/rigconsole. Running it again updates an earlier install.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PREFIX="$HOME/.local"
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX=${2:?--prefix needs a folder}; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ -x "$HERE/app/rigconsole" ] || { echo "install.sh: run me from the unpacked Rig Console folder (no app/rigconsole next to me)" >&2; exit 2; }
case "$PREFIX" in /*) ;; *) PREFIX="$(pwd)/$PREFIX" ;; esac
APP="$PREFIX/opt/rigconsole"
APPS="${XDG_DATA_HOME:-$PREFIX/share}/applications"
[ "$PREFIX" = "$HOME/.local" ] || APPS="$PREFIX/share/applications"
ICONS="$(dirname "$APPS")/icons/hicolor"

mkdir -p "$PREFIX/opt" "$PREFIX/bin" "$APPS" "$ICONS"
rm -rf "$APP.new"
cp -a "$HERE/app" "$APP.new"
rm -rf "$APP"
mv "$APP.new" "$APP"
ln -sf "$APP/rigconsole" "$PREFIX/bin/rigconsole"
cp -a "$HERE/icons/hicolor/." "$ICONS/"
sed -e "s|^Exec=.*|Exec=$APP/rigconsole|" -e "s|^TryExec=.*|TryExec=$APP/rigconsole|" \
  "$HERE/rigconsole.desktop" > "$APPS/rigconsole.desktop"
chmod 644 "$APPS/rigconsole.desktop"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$APPS" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$ICONS" 2>/dev/null || true
echo "Rig Console installed in $APP"
echo "  applications menu: $APPS/rigconsole.desktop"
echo "  command:           $PREFIX/bin/rigconsole   (check it: rigconsole --self-test)"
case ":$PATH:" in *":$PREFIX/bin:"*) ;; *) echo "  note: $PREFIX/bin is not on your PATH; the menu entry works anyway" ;; esac
