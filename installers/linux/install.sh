#!/usr/bin/env bash
# Install Raison Garder for the current user, from the unpacked release archive. No root needed.
#
#   ./install.sh                    install or upgrade
#   ./install.sh --autostart        ... and start it at login now (the app also offers this itself)
#   ./install.sh --uninstall        remove the program; your history and settings are kept
#   ./install.sh --uninstall --remove-data   ... and delete your history and settings too
#   ./install.sh --from DIR         install the bundle in DIR (default: this script's folder)
#
# Where things go (XDG_DATA_HOME / XDG_CONFIG_HOME are honoured):
#   ~/.local/opt/raison-garder/                          the program
#   ~/.local/bin/raison-garder                           a link to it, for the terminal
#   ~/.local/share/applications/raison-garder.desktop    the menu entry
#   ~/.local/share/icons/hicolor/scalable/apps/raison-garder.svg
#   ~/.config/autostart/raison-garder.desktop            start at login (--autostart, or the app)
# Your data (kept unless --remove-data): ~/.local/share/raison-garder and ~/.config/raison-garder.
set -euo pipefail

APP=raison-garder
NAME="Raison Garder"
here=$(cd "$(dirname "$0")" && pwd)
src=$here
mode=install
autostart=0
remove_data=0
while [ $# -gt 0 ]; do
  case "$1" in
    --autostart) autostart=1 ;;
    --uninstall) mode=uninstall ;;
    --remove-data) remove_data=1 ;;
    --from) shift; src=$(cd "${1:?--from needs a folder}" && pwd) ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ "$remove_data" = 1 ] && [ "$mode" != uninstall ]; then
  echo "install.sh: --remove-data goes with --uninstall" >&2; exit 2
fi
if [ "$(id -u)" = 0 ] && [ -n "${SUDO_USER:-}" ]; then
  # sudo would install into root's home, where the user's desktop never looks.
  echo "install.sh: run this without sudo, as the user who will use the app." >&2; exit 2
fi

data_home=${XDG_DATA_HOME:-$HOME/.local/share}
config_home=${XDG_CONFIG_HOME:-$HOME/.config}
opt="$HOME/.local/opt/$APP"
bin="$HOME/.local/bin/$APP"
menu="$data_home/applications/$APP.desktop"
icon="$data_home/icons/hicolor/scalable/apps/$APP.svg"
autostart_file="$config_home/autostart/$APP.desktop"
# The manual pages (English, French) and shell completions, generated at build time from the
# program's own parser. man finds ~/.local/share/man from ~/.local/bin on PATH; bash-completion
# and fish read these user folders by themselves.
man_en="$data_home/man/man1/$APP.1"
man_fr="$data_home/man/fr/man1/$APP.1"
bash_completion="$data_home/bash-completion/completions/$APP"
fish_completion="$data_home/fish/vendor_completions.d/$APP.fish"
# The same folders as tray_app/system/paths.py (platformdirs, or the override variables).
data_dir=${RAISON_GARDER_DATA_DIR:-$data_home/$APP}
config_dir=${RAISON_GARDER_CONFIG_DIR:-$config_home/$APP}

# One argument quoted for a desktop file's Exec key, as tray_app/system/autostart.py does it.
desktop_quote() {
  local arg=${1//%/%%}
  case "$arg" in
    *[[:space:]\"\'\\\>\<~\|\&\;\$\*\?\#\(\)\`]*)
      arg=${arg//\\/\\\\}; arg=${arg//\"/\\\"}; arg=${arg//\`/\\\`}; arg=${arg//\$/\\\$}
      printf '"%s"' "$arg" ;;
    *) printf '%s' "$arg" ;;
  esac
}

# The running tray started from our folder, if any (its pid is in the data dir's instance.json).
running_pid() {
  local pid exe
  pid=$(sed -n 's/.*"pid": *\([0-9][0-9]*\).*/\1/p' "$data_dir/instance.json" 2>/dev/null || true)
  [ -n "$pid" ] || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
  case "$exe" in "$opt"/*) echo "$pid" ;; *) return 1 ;; esac
}

# SIGTERM makes the tray close the open session and leave cleanly.
stop_running() {
  local pid _
  pid=$(running_pid) || return 1
  echo "Stopping the running $NAME (pid $pid)..."
  kill -TERM "$pid" 2>/dev/null || return 1
  for _ in $(seq 100); do
    # Gone once its exe link is (a zombie waiting for its parent has none either).
    readlink "/proc/$pid/exe" >/dev/null 2>&1 || return 0
    sleep 0.1
  done
  echo "It did not stop within 10 s; it keeps running the old version until you quit it." >&2
  return 0
}

# Menus and icon themes that keep caches notice the change at once (best effort).
refresh_caches() {
  if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database -q "$data_home/applications" 2>/dev/null || true
  fi
  if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$data_home/icons/hicolor/index.theme" ]; then
    gtk-update-icon-cache -q -t "$data_home/icons/hicolor" 2>/dev/null || true
  fi
}

write_autostart() {
  # Same keys as tray_app/system/autostart.py's XdgAutostart, so the tray's "Start at login" sees it.
  mkdir -p "$(dirname "$autostart_file")"
  cat > "$autostart_file.tmp" <<EOF
[Desktop Entry]
Type=Application
Name=$NAME
Comment=Measure what local AI image generation really draws
Comment[fr]=Mesure ce que la génération d'images par IA locale consomme vraiment
Exec=$(desktop_quote "$opt/$APP")
Icon=$opt/_internal/tray_app/resources/icons/$APP.svg
Terminal=false
Categories=Utility;Monitor;
X-GNOME-Autostart-enabled=true
X-GNOME-Autostart-Delay=2
X-KDE-autostart-after=panel
X-KDE-autostart-phase=2
EOF
  mv "$autostart_file.tmp" "$autostart_file"
}

if [ "$mode" = uninstall ]; then
  stop_running || true
  rm -rf "$opt"
  # Only our own link: a raison-garder installed another way (pipx) stays.
  if [ -L "$bin" ] && [ "$(readlink "$bin")" = "$opt/$APP" ]; then rm -f "$bin"; fi
  rm -f "$menu" "$icon" "$man_en" "$man_fr" "$bash_completion" "$fish_completion"
  if [ -f "$autostart_file" ] && grep -q "^Exec=.*$APP" "$autostart_file"; then rm -f "$autostart_file"; fi
  refresh_caches
  echo "$NAME is uninstalled."
  if [ "$remove_data" = 1 ]; then
    rm -rf "$data_dir" "$config_dir"
    echo "Your history and settings were deleted ($data_dir, $config_dir)."
  else
    echo "Your history and settings are kept in $data_dir and $config_dir"
    echo "(run again with --uninstall --remove-data to delete them)."
  fi
  exit 0
fi

# ---- install / upgrade -----------------------------------------------------------------------
if [ ! -x "$src/$APP" ] || [ ! -d "$src/_internal" ]; then
  echo "install.sh: no $APP bundle in $src (unpack the release archive and run its install.sh)." >&2
  exit 1
fi
was_running=0
if stop_running; then was_running=1; fi

# Copy beside, then swap: an interrupted copy never leaves a half-installed program.
mkdir -p "$(dirname "$opt")"
rm -rf "$opt.new" "$opt.old"
mkdir "$opt.new"
cp -a "$src/$APP" "$src/_internal" "$opt.new/"
[ -f "$src/install.sh" ] && cp -a "$src/install.sh" "$opt.new/"
if [ -e "$opt" ]; then mv "$opt" "$opt.old"; fi
mv "$opt.new" "$opt"
rm -rf "$opt.old"

mkdir -p "$(dirname "$bin")"
ln -sfn "$opt/$APP" "$bin"

mkdir -p "$(dirname "$menu")" "$(dirname "$icon")"
icon_src="$src/share/icons/hicolor/scalable/apps/$APP.svg"
[ -f "$icon_src" ] || icon_src="$opt/_internal/tray_app/resources/icons/$APP.svg"
cp "$icon_src" "$icon"
menu_src="$src/share/applications/$APP.desktop"
if [ -f "$menu_src" ]; then
  # Absolute Exec: ~/.local/bin is not on every desktop session's PATH.
  exec_line="Exec=$(desktop_quote "$opt/$APP")"
  sed "s|^Exec=.*|${exec_line//|/\\|}|" "$menu_src" > "$menu.tmp" && mv "$menu.tmp" "$menu"
fi
for pair in "man/man1/$APP.1:$man_en" "man/fr/man1/$APP.1:$man_fr" \
            "bash-completion/completions/$APP:$bash_completion" \
            "fish/vendor_completions.d/$APP.fish:$fish_completion"; do
  from="$src/share/${pair%%:*}" to="${pair#*:}"
  if [ -f "$from" ]; then mkdir -p "$(dirname "$to")" && cp "$from" "$to"; fi
done
if [ "$autostart" = 1 ]; then write_autostart; fi
refresh_caches

echo "$NAME is installed in $opt"
echo "  menu: $NAME (in Utilities/System)   terminal: $APP (in $(dirname "$bin"))"
case ":$PATH:" in *":$(dirname "$bin"):"*) ;; *)
  echo "  note: $(dirname "$bin") is not on your PATH; the menu entry works regardless." ;;
esac
[ "$autostart" = 1 ] && echo "  it starts at login ($autostart_file)."
[ -f "$man_en" ] && echo "  manual: man $APP   zsh completion: $APP completion zsh --help"
if [ "$was_running" = 1 ] && { [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; }; then
  echo "Starting the new version..."
  (cd "$HOME" && setsid "$opt/$APP" >/dev/null 2>&1 < /dev/null &)
fi
exit 0
