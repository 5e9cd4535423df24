#!/usr/bin/env bash
# A private Docker engine for skid-tui's tests and demo: its own socket, data root and exec root under
# ENGINE_DIR, so it never touches an engine it did not start.
#
#   scripts/engine.sh up      install what is missing, start dockerd, build the demo images (idempotent)
#   scripts/engine.sh stop    stop dockerd, keep its data (containers stop with it; `up` resumes)
#   scripts/engine.sh down    remove its containers, stop dockerd, unmount and remove ENGINE_DIR
#   scripts/engine.sh env     print the export line that points docker clients at it
#   scripts/engine.sh status  say whether it is up
set -euo pipefail

ENGINE_DIR=${ENGINE_DIR:-/tmp/skid-engine}
SOCK="$ENGINE_DIR/docker.sock"
PIDFILE="$ENGINE_DIR/dockerd.pid"
LOG="$ENGINE_DIR/dockerd.log"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
# Debian's client speaks to the 20.10 daemon and builds without buildx; a newer CLI may come first in PATH.
DOCKER_CLI=${DOCKER_CLI:-/usr/bin/docker}

say() { printf 'engine: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

docker_() { "$DOCKER_CLI" -H "unix://$SOCK" "$@"; }

daemon_pid() {
    # Prints the pid of the dockerd this script started, if it still runs; nothing otherwise.
    [[ -f "$PIDFILE" ]] || return 0
    local pid
    pid=$(cat "$PIDFILE" 2>/dev/null || true)
    [[ "$pid" =~ ^[0-9]+$ ]] || return 0
    [[ -r "/proc/$pid/cmdline" ]] || return 0
    # Only ours: a dockerd whose command line names our socket.
    if tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "unix://$SOCK"; then
        local state
        state=$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo Z)
        [[ "$state" != Z ]] && echo "$pid"
    fi
    return 0
}

answers() { docker_ info >/dev/null 2>&1; }

ensure_packages() {
    local missing=()
    if ! command -v dockerd >/dev/null 2>&1 || [[ ! -x /usr/bin/docker ]]; then
        missing+=(docker.io)
    fi
    dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || missing+=(busybox-static)
    command -v iptables >/dev/null 2>&1 || missing+=(iptables)
    if ((${#missing[@]})); then
        [[ $(id -u) == 0 ]] || die "missing ${missing[*]}; install them as root (apt-get install docker.io busybox-static)"
        say "installing ${missing[*]} (apt-get)"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

wait_gone() {
    # dockerd can linger as a zombie for a few seconds before it is reaped: a zombie counts as gone.
    local pid=$1 i state
    for ((i = 0; i < 300; i++)); do
        [[ -e "/proc/$pid" ]] || return 0
        state=$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo Z)
        [[ "$state" == Z ]] && return 0
        sleep 0.1
    done
    return 1
}

stop_daemon() {
    local pid
    pid=$(daemon_pid)
    if [[ -z "$pid" ]]; then
        return 0
    fi
    say "stopping dockerd (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_gone "$pid"; then
        say "dockerd did not stop in 30 s; sending KILL"
        kill -KILL "$pid" 2>/dev/null || true
        wait_gone "$pid" || die "dockerd (pid $pid) would not stop"
    fi
    rm -f "$PIDFILE"
}

unmount_all() {
    # Deepest first, so a mount inside another comes off before its parent.
    local m
    awk -v d="$ENGINE_DIR" '$2 == d || index($2, d "/") == 1 {print $2}' /proc/mounts | sort -r |
        while read -r m; do
            umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || say "could not unmount $m"
        done
}

cmd_up() {
    ensure_packages
    [[ $(id -u) == 0 ]] || die "dockerd needs root"
    mkdir -p "$ENGINE_DIR"
    if [[ -n "$(daemon_pid)" ]] && answers; then
        say "already up at unix://$SOCK"
    else
        stop_daemon
        rm -f "$SOCK"
        say "starting dockerd at unix://$SOCK"
        # setsid: the daemon must outlive the shell (and make's process group) that started it.
        setsid dockerd --host "unix://$SOCK" --data-root "$ENGINE_DIR/data" --exec-root "$ENGINE_DIR/exec" \
            --pidfile "$PIDFILE" >"$LOG" 2>&1 </dev/null &
        local i
        for ((i = 0; i < 300; i++)); do
            answers && break
            sleep 0.1
        done
        answers || { tail -n 20 "$LOG" >&2; die "dockerd did not answer within 30 s (log: $LOG)"; }
        say "up: $(docker_ version --format 'Docker Engine {{.Server.Version}} (API {{.Server.APIVersion}})')"
    fi
    if [[ "${SKID_SKIP_DEMO_IMAGES:-}" != 1 ]]; then
        DOCKER_HOST="unix://$SOCK" DOCKER_CLI="$DOCKER_CLI" "$REPO/compose/demo/build-images.sh"
    fi
}

cmd_stop() {
    stop_daemon
    say "stopped; data kept in $ENGINE_DIR"
}

cmd_down() {
    local pid
    pid=$(daemon_pid)
    if [[ -n "$pid" ]] && answers; then
        local ids
        ids=$(docker_ ps -aq)
        if [[ -n "$ids" ]]; then
            say "removing $(wc -w <<<"$ids") container(s)"
            # shellcheck disable=SC2086
            docker_ rm -f $ids >/dev/null || true
        fi
    fi
    stop_daemon
    if [[ -d "$ENGINE_DIR" ]]; then
        unmount_all
        rm -rf "$ENGINE_DIR"
        say "down; removed $ENGINE_DIR"
    else
        say "nothing to do: no engine at $ENGINE_DIR"
    fi
}

cmd_env() { echo "export DOCKER_HOST=unix://$SOCK"; }

cmd_status() {
    local pid
    pid=$(daemon_pid)
    if [[ -n "$pid" ]] && answers; then
        echo "up: dockerd pid $pid at unix://$SOCK"
    else
        echo "down"
        return 1
    fi
}

case "${1:-}" in
up) cmd_up ;;
stop) cmd_stop ;;
down) cmd_down ;;
env) cmd_env ;;
status) cmd_status ;;
*)
    echo "usage: $0 up|stop|down|env|status   (ENGINE_DIR=${ENGINE_DIR})" >&2
    exit 2
    ;;
esac
