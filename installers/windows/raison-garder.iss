; Inno Setup 6 script for Raison Garder (per-user install, no administrator rights needed).
;
; Built by scripts/package.sh from Git Bash when ISCC.exe is found, or by hand:
;   iscc /DAppVersion=0.1.0 /DSourceDir=dist\raison-garder /Odist installers\windows\raison-garder.iss
;
; What it does, and why:
; - installs the PyInstaller bundle to %LOCALAPPDATA%\Programs\Raison Garder (per user, like the
;   data, so no UAC prompt; "for all users" is offered in the dialog and then needs admin rights);
; - a Start menu entry whose AppUserModelID matches the one the app sets at start-up
;   (tray_app/ui/app.py WINDOWS_APP_USER_MODEL_ID), so notifications carry our name and icon;
; - "Start at login" task: the same per-user Run value the app's own menu toggle writes
;   (tray_app/autostart.py: HKCU\...\Run, value "Raison Garder"). When the box is left unticked
;   the app's first-run default is told so (marker file), so the app does not switch it back on;
; - uninstall keeps the user's history and settings (%LOCALAPPDATA%\raison-garder, where
;   platformdirs.user_data_dir("raison-garder", appauthor=False) points) unless the user answers
;   "Yes" to "Also delete my history and settings?" (the default button is "No").

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#ifndef SourceDir
  #define SourceDir "..\..\dist\raison-garder"
#endif
#ifndef IconFile
  #define IconFile "..\..\build\package-icons\raison-garder.ico"
#endif
#define AppName "Raison Garder"
#define AppExe "raison-garder.exe"
#define AppUserModelID "RaisonGarder.Tray"
#define RunKey "Software\Microsoft\Windows\CurrentVersion\Run"
#define RunValue "Raison Garder"
#define DataFolder "{localappdata}\raison-garder"

[Setup]
; Never change the AppId: it is how upgrades find the installed copy.
AppId={{32E3F3C9-2F0E-43E0-B07C-6D2C91D1064F}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=Raison Garder developers
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputBaseFilename=raison-garder-{#AppVersion}-windows-x64-setup
#if FileExists(IconFile)
SetupIconFile={#IconFile}
#endif
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
; The tray keeps its files open: ask it to close (Restart Manager) before replacing them.
CloseApplications=yes
RestartApplications=no

[Languages]
Name: "en"; MessagesFile: "compiler:Default.isl"
Name: "fr"; MessagesFile: "compiler:Languages\French.isl"

[CustomMessages]
en.AutostartTask=Start {#AppName} when I log in
fr.AutostartTask=Lancer {#AppName} à l'ouverture de session
en.LaunchNow=Start {#AppName} now
fr.LaunchNow=Lancer {#AppName} maintenant
en.RemoveData=Also delete your history and settings?%n%n%1%n%nChoose No to keep them for a later installation.
fr.RemoveData=Supprimer aussi votre historique et vos réglages ?%n%n%1%n%nChoisissez Non pour les garder pour une prochaine installation.

[Tasks]
Name: "autostart"; Description: "{cm:AutostartTask}"

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; An upgrade replaces the whole bundle: no library of the previous version is left behind.
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"; AppUserModelID: "{#AppUserModelID}"

[Registry]
Root: HKCU; Subkey: "{#RunKey}"; ValueType: string; ValueName: "{#RunValue}"; \
  ValueData: """{app}\{#AppExe}"""; Flags: uninsdeletevalue; Tasks: autostart

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchNow}"; Flags: nowait postinstall skipifsilent

[Code]
function RunValuePointsHere(): Boolean;
var
  Value: String;
begin
  Result := RegQueryStringValue(HKCU, '{#RunKey}', '{#RunValue}', Value)
    and (Pos(Lowercase(ExpandConstant('{app}')), Lowercase(Value)) > 0);
end;

procedure CurStepChanged(CurStep: TSetupStep);
var
  Folder: String;
begin
  if (CurStep = ssPostInstall) and not WizardIsTaskSelected('autostart') then
  begin
    { The user said no: remove an entry an earlier version made, and tell the app's first run
      (tray_app/autostart.py FIRST_RUN_MARKER in its config folder) not to add it back. }
    if RunValuePointsHere() then
      RegDeleteValue(HKCU, '{#RunKey}', '{#RunValue}');
    Folder := ExpandConstant('{#DataFolder}');
    ForceDirectories(Folder);
    SaveStringToFile(Folder + '\autostart-initialised', '1' + #13#10, False);
  end;
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
var
  Folder: String;
begin
  if CurUninstallStep = usUninstall then
  begin
    { The app's own "Start at login" toggle may have written the Run value: remove it too. }
    if RunValuePointsHere() then
      RegDeleteValue(HKCU, '{#RunKey}', '{#RunValue}');
  end;
  if CurUninstallStep = usPostUninstall then
  begin
    Folder := ExpandConstant('{#DataFolder}');
    { Silent uninstalls keep the data: only a person can decide to delete it. }
    if DirExists(Folder) and not UninstallSilent() then
      if MsgBox(FmtMessage(CustomMessage('RemoveData'), [Folder]),
                mbConfirmation, MB_YESNO or MB_DEFBUTTON2) = IDYES then
        DelTree(Folder, True, True, True);
  end;
end;
