#!/usr/bin/env bash
# Make the macOS disk image from the PyInstaller .app (run on macOS, after PyInstaller):
#   packaging/macos/make_dmg.sh VERSION
# Writes dist/RigConsole-VERSION-macos-<arch>.dmg: the app and an /Applications link to drag it onto.
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION=${1:?usage: make_dmg.sh VERSION}
APP="build/pyinstaller/dist/Rig Console.app"
[ -d "$APP" ] || { echo "make_dmg.sh: no $APP (run PyInstaller first)" >&2; exit 2; }
STAGE=build/dmg
rm -rf "$STAGE"
mkdir -p "$STAGE" dist
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
DMG="dist/RigConsole-$VERSION-macos-$(uname -m).dmg"
rm -f "$DMG"
hdiutil create -volname "Rig Console" -srcfolder "$STAGE" -fs HFS+ -format UDZO -ov "$DMG"
echo "make_dmg.sh: $DMG"
