; Inno Setup script: Rig Console's per-user Windows installer (no administrator rights).
; Built by .github/workflows/installers.yml from the PyInstaller one-folder bundle:
;   iscc /DAppVersion=0.1.0 /DBundleDir=build\pyinstaller\dist\rigconsole /DOutputDir=dist packaging\windows\rigconsole.iss
; Installs into %LOCALAPPDATA%\Programs\Rig Console, with a Start-menu entry (and an
; optional desktop icon) that starts "Rig Console.exe" (the windowed executable);
; rigconsole.exe beside it is the console one (--self-test, run, data).

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#ifndef BundleDir
  #define BundleDir "..\..\build\pyinstaller\dist\rigconsole"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\dist"
#endif

[Setup]
AppId={{6B1F3C2E-5D7A-4E8B-9C10-2F4A6B8D0E13}
AppName=Rig Console
AppVersion={#AppVersion}
AppPublisher=Rig Console developers
DefaultDirName={autopf}\Rig Console
DefaultGroupName=Rig Console
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#OutputDir}
OutputBaseFilename=RigConsole-{#AppVersion}-windows-x64-setup
SetupIconFile=..\..\resources\icons\rigconsole.ico
UninstallDisplayIcon={app}\Rig Console.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern

[Tasks]
Name: "desktopicon"; Description: "Create a &desktop icon"; GroupDescription: "Additional icons:"; Flags: unchecked

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\Rig Console"; Filename: "{app}\Rig Console.exe"
Name: "{autodesktop}\Rig Console"; Filename: "{app}\Rig Console.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\Rig Console.exe"; Description: "Start Rig Console"; Flags: nowait postinstall skipifsilent
