#!/usr/bin/env bash
# Remove a per-user Rig Console install (./install.sh). Data, settings and logs stay.
#
#   ./uninstall.sh [--prefix DIR]   default DIR: ~/.local
set -euo pipefail
PREFIX="$HOME/.local"
[ "${1:-}" = "--prefix" ] && PREFIX=${2:?--prefix needs a folder}
APPS="${XDG_DATA_HOME:-$PREFIX/share}/applications"
[ "$PREFIX" = "$HOME/.local" ] || APPS="$PREFIX/share/applications"
ICONS="$(dirname "$APPS")/icons/hicolor"
rm -rf "$PREFIX/opt/rigconsole"
rm -f "$PREFIX/bin/rigconsole" "$APPS/rigconsole.desktop"
find "$ICONS" -name 'rigconsole.png' -o -name 'rigconsole.svg' 2>/dev/null | xargs -r rm -f
echo "Rig Console removed from $PREFIX (data, settings and logs are kept)"
