#!/usr/bin/env bash
# The Debian package as an operator gets it: built by scripts/package.sh
# from the build tree under test (reusing its regeventd), unpacked into a
# scratch root with dpkg-deb -x, its files and control data checked, and
# the unpacked binary run on the unpacked default configuration.
#   package_test.sh SOURCE_DIR BUILD_DIR SCRATCH_DIR
set -euo pipefail
src=${1:?usage: package_test.sh SOURCE_DIR BUILD_DIR SCRATCH_DIR}
build=${2:?}
scratch=${3:?}
rm -rf "$scratch"
mkdir -p "$scratch"
# The environment overrides the file: none may leak in from the caller.
unset REGEVENT_LISTEN REGEVENT_DATABASE_URL REGEVENT_NOTIFY_TOKEN \
  REGEVENT_ADMIN_TOKEN REGEVENT_SECRETS_KEY REGEVENT_FAULT_INJECTION

failed=0
fail() {
  echo "FAIL: $*" >&2
  failed=1
}

deb=$("$src/scripts/package.sh" "$build" "$scratch/out")
[ -f "$deb" ] || { echo "FAIL: package.sh made no .deb ($deb)" >&2; exit 1; }
echo "package: $deb"

root=$scratch/root
dpkg-deb -x "$deb" "$root"
for f in usr/bin/regeventd etc/regevent/regevent.yml \
  lib/systemd/system/regevent.service usr/share/doc/regevent/README.md \
  usr/share/doc/regevent/contrib/grafana/regevent.json \
  usr/share/doc/regevent/contrib/prometheus/regevent-alerts.yml; do
  [ -f "$root/$f" ] || fail "/$f is not in the package"
done
[ -x "$root/usr/bin/regeventd" ] || fail "/usr/bin/regeventd is not executable"

# Control data: dependencies from dpkg-shlibdeps, the configuration a
# conffile (an upgrade keeps the operator's edits), the maintainer scripts.
control=$scratch/control
dpkg-deb -e "$deb" "$control"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libc6 libstdc++6 libsoci-core libsqlite3; do
  [[ $depends == *"$lib"* ]] || fail "Depends lacks $lib: $depends"
done
[ "$(cat "$control/conffiles")" = /etc/regevent/regevent.yml ] ||
  fail "conffiles: $(cat "$control/conffiles")"
for script in postinst prerm postrm; do
  [ -x "$control/$script" ] || fail "no executable $script"
done

unit=$root/lib/systemd/system/regevent.service
for line in "DynamicUser=yes" "StateDirectory=regevent" \
  "ConfigurationDirectory=regevent" "NoNewPrivileges=yes" \
  "ProtectSystem=strict" "ProtectHome=yes" "PrivateTmp=yes" \
  "PrivateDevices=yes" "ProtectKernelTunables=yes" \
  "ProtectKernelModules=yes" "ProtectKernelLogs=yes" \
  "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX" "LockPersonality=yes" \
  "MemoryDenyWriteExecute=yes" "SystemCallFilter=@system-service" \
  "CapabilityBoundingSet=" 'ExecReload=/bin/kill -HUP $MAINPID' \
  "ExecStart=/usr/bin/regeventd --config /etc/regevent/regevent.yml"; do
  grep -qxF -- "$line" "$unit" || fail "the unit lacks '$line'"
done

# systemd's own parser, where it is installed: a misspelt or unknown
# directive is reported (systemd would ignore it, silently unhardened).
# The copy runs the unpacked binary, which verify wants to exist.
if command -v systemd-analyze >/dev/null 2>&1; then
  mkdir -p "$scratch/unit"
  sed "s#/usr/bin/regeventd#$root/usr/bin/regeventd#" "$unit" \
    >"$scratch/unit/regevent.service"
  if ! out=$(systemd-analyze verify --man=no "$scratch/unit/regevent.service" 2>&1) ||
    [ -n "$out" ]; then
    fail "systemd-analyze verify: $out"
  fi
fi

bin=$root/usr/bin/regeventd
version=$(dpkg-deb -f "$deb" Version)
out=$("$bin" --version) || fail "--version exited $?"
[[ $out == "regeventd $version"* ]] ||
  fail "--version says '$out', the package is $version"

config=$root/etc/regevent/regevent.yml
if out=$("$bin" --check-config --config "$config" 2>&1); then
  grep -qF "url: sqlite:///var/lib/regevent/regevent.db" <<<"$out" ||
    fail "the default configuration does not put SQLite in the state directory: $out"
  grep -qF "listen: 127.0.0.1:8080" <<<"$out" ||
    fail "the default configuration does not listen on loopback: $out"
else
  fail "--check-config of the installed configuration: $out"
fi

# The installed binary migrates a database (the state directory stands in
# for /var/lib/regevent).
mkdir -p "$scratch/state"
if out=$(REGEVENT_DATABASE_URL="sqlite://$scratch/state/regevent.db" \
  "$bin" migrate --config "$config" 2>&1); then
  grep -q "from schema version 0 to " <<<"$out" || fail "migrate said: $out"
else
  fail "migrate: $out"
fi

[ $failed -eq 0 ] && echo "package: all checks passed"
exit $failed
