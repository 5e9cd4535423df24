#!/usr/bin/env bash
# Builds the skid-demo images offline: no registry, only a static busybox and the engine's legacy builder.
#
#   compose/demo/build-images.sh [--force] [NAME...]     NAME: base postgres redis ... devbox (default: all)
#
# skid-demo/base:latest is a busybox rootfs made here and `docker import`ed; every other image is a
# Dockerfile FROM it under compose/demo/<name>/, so compose's `build:` can rebuild one the same way.
# Idempotent: an image is skipped when it exists and was built from the same sources (a hash of its build
# context, and for base of busybox and this script, kept in the label org.skid-tui.demo.source); a
# changed script or Dockerfile gets its image rebuilt. --force rebuilds regardless. Exits non-zero on any
# failure and then shows the failing build's output.
#
# Environment: DOCKER_HOST (the engine), DOCKER_CLI (default /usr/bin/docker: Debian's 20.10 client builds
# without buildx), BUSYBOX (default /bin/busybox; it must be static).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DOCKER_CLI=${DOCKER_CLI:-/usr/bin/docker}
BUSYBOX=${BUSYBOX:-/bin/busybox}
export DOCKER_BUILDKIT=0
REPO=skid-demo
TAG=latest
SERVICES=(postgres redis minio api orchestrator binary-processor llm-advisor devbox)
SOURCE_LABEL=org.skid-tui.demo.source

say() { printf 'demo-images: %s\n' "$*" >&2; }
die() {
    say "$*"
    exit 1
}
usage() {
    echo "usage: $0 [--force] [base ${SERVICES[*]}]" >&2
    exit 2
}
docker_() { "$DOCKER_CLI" "$@"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

FORCE=0
WANT=()
for arg in "$@"; do
    case $arg in
    --force | -f) FORCE=1 ;;
    -h | --help) usage ;;
    base) WANT+=(base) ;;
    -*) usage ;;
    *)
        [[ " ${SERVICES[*]} " == *" $arg "* ]] || { say "unknown image '$arg'"; usage; }
        WANT+=("$arg")
        ;;
    esac
done
((${#WANT[@]})) || WANT=(base "${SERVICES[@]}")

[[ -x "$DOCKER_CLI" ]] || die "docker client $DOCKER_CLI not found (set DOCKER_CLI)"
[[ -x "$BUSYBOX" ]] || die "$BUSYBOX not found (apt-get install busybox-static)"
# A dynamically linked busybox would not run inside an image that has no libc.
if command -v file >/dev/null 2>&1 && ! file -L "$BUSYBOX" | grep -q 'statically linked'; then
    die "$BUSYBOX is not statically linked (apt-get install busybox-static)"
fi
docker_ version --format '{{.Server.Version}}' >/dev/null 2>&1 ||
    die "no Docker engine answers at ${DOCKER_HOST:-the default socket}"

# One build at a time per engine: the lead's `engine.sh up` and a test run may call this together.
if command -v flock >/dev/null 2>&1; then
    LOCK="${TMPDIR:-/tmp}/skid-demo-images.$(printf '%s' "${DOCKER_HOST:-default}" | cksum | cut -d' ' -f1).lock"
    exec 9>"$LOCK"
    flock 9
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# hash_tree DIR [EXTRA...]: a short hash of DIR's files (paths, contents, executable bits) and EXTRA.
hash_tree() {
    local dir=$1
    shift
    {
        (cd "$dir" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
        (cd "$dir" && find . -type f -perm -u+x | LC_ALL=C sort)
        printf '%s\n' "$@"
    } | sha256sum | cut -c1-16
}

# current_source NAME: the source hash the existing image was built from (empty if none or unlabelled).
current_source() {
    docker_ image inspect -f "{{index .Config.Labels \"$SOURCE_LABEL\"}}" "$1" 2>/dev/null | sed 's/<no value>//' || true
}
image_id() { docker_ image inspect -f '{{.Id}}' "$1" 2>/dev/null || true; }

# drop_old OLD_ID NEW_ID: remove the image a rebuild replaced, unless a container still uses it.
drop_old() {
    [[ -n "$1" && "$1" != "$2" ]] || return 0
    docker_ image rm "$1" >/dev/null 2>&1 || true
}

BUILT=()
FRESH=0

# needs_build NAME HASH: whether NAME must be (re)built; says why when it is rebuilt.
needs_build() {
    local have
    ((FORCE)) && return 0
    have=$(current_source "$1")
    [[ "$have" == "$2" ]] && {
        FRESH=$((FRESH + 1))
        return 1
    }
    return 0
}

build_base() {
    local name="$REPO/base:$TAG" hash t0 root old new applet
    hash=$(hash_tree "$HERE/base" "$(sha256sum <"$BUSYBOX")" "$(sha256sum <"${BASH_SOURCE[0]}")")
    BASE_HASH=$hash
    needs_build "$name" "$hash" || return 0
    t0=$(now)
    old=$(image_id "$name")
    root="$WORK/rootfs"
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/lib/skid-demo,etc,root,home,proc,sys,dev,run,var/run,var/log,tmp,var/tmp}
    chmod 1777 "$root/tmp" "$root/var/tmp"
    chmod 0700 "$root/root"
    cp "$BUSYBOX" "$root/bin/busybox"
    chmod 0755 "$root/bin/busybox"
    # One symlink per applet at the path busybox itself names (bin/sh, usr/bin/wget, sbin/ip, ...).
    while read -r applet; do
        [[ -n "$applet" && ! -e "$root/$applet" && ! -L "$root/$applet" ]] || continue
        mkdir -p "$root/$(dirname "$applet")"
        ln -s /bin/busybox "$root/$applet"
    done < <("$BUSYBOX" --list-full)
    [[ -L "$root/bin/sh" ]] || die "$BUSYBOX --list-full did not name bin/sh"
    cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
    cat >"$root/etc/group" <<'EOF'
root:x:0:
daemon:x:1:
nogroup:x:65534:
EOF
    printf 'NAME="skid-demo busybox"\nID=skid-demo\nVERSION_ID=%s\n' "$("$BUSYBOX" | head -n 1 | awk '{print $2}')" \
        >"$root/etc/os-release"
    install -m 0644 "$HERE/base/lib.sh" "$root/usr/lib/skid-demo/lib.sh"
    tar --numeric-owner --owner=0 --group=0 -C "$root" -cf "$WORK/rootfs.tar" . ||
        die "could not pack the base rootfs"
    docker_ import \
        -c 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
        -c 'CMD ["/bin/sh"]' \
        -c 'LABEL org.skid-tui.demo=1' \
        -c "LABEL $SOURCE_LABEL=$hash" \
        -c 'LABEL org.opencontainers.image.title="skid-demo base (static busybox)"' \
        "$WORK/rootfs.tar" "$name" >"$WORK/import.log" 2>&1 || {
        cat "$WORK/import.log" >&2
        die "docker import of $name failed"
    }
    new=$(image_id "$name")
    drop_old "$old" "$new"
    BUILT+=("base")
    say "built $name ($(since "$t0"))"
}

build_service() {
    local svc=$1 name="$REPO/$1:$TAG" ctx="$HERE/$1" hash t0 old new
    [[ -f "$ctx/Dockerfile" ]] || die "no Dockerfile in $ctx"
    hash=$(hash_tree "$ctx" "base=$BASE_HASH")
    needs_build "$name" "$hash" || return 0
    t0=$(now)
    old=$(image_id "$name")
    local nocache=()
    ((FORCE)) && nocache=(--no-cache)
    if ! docker_ build "${nocache[@]}" --rm --force-rm --label org.skid-tui.demo=1 --label "$SOURCE_LABEL=$hash" \
        -t "$name" "$ctx" >"$WORK/build-$svc.log" 2>&1; then
        cat "$WORK/build-$svc.log" >&2
        die "build of $name failed (context $ctx)"
    fi
    new=$(image_id "$name")
    drop_old "$old" "$new"
    BUILT+=("$svc")
    say "built $name ($(since "$t0"))"
}

T0=$(now)
# Service images need base, and their hash includes base's: compute it even when only services are asked.
if [[ " ${WANT[*]} " == *" base "* ]]; then
    build_base
else
    BASE_HASH=$(hash_tree "$HERE/base" "$(sha256sum <"$BUSYBOX")" "$(sha256sum <"${BASH_SOURCE[0]}")")
    [[ -n "$(image_id "$REPO/base:$TAG")" ]] || build_base
fi
for svc in "${SERVICES[@]}"; do
    if [[ " ${WANT[*]} " == *" $svc "* ]]; then
        build_service "$svc"
    fi
done

if ((${#BUILT[@]})); then
    say "${#BUILT[@]} built, $FRESH up to date ($(since "$T0"))"
else
    say "all $FRESH images up to date"
fi
