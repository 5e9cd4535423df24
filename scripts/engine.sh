#!/usr/bin/env bash
# A private container engine for skid-tui's tests and demo: Docker Engine (the default) or Podman, with its
# own socket, storage and run directories under ENGINE_DIR, so it never touches an engine it did not start.
#
#   scripts/engine.sh up      install what is missing, start the engine, build the demo images (idempotent)
#   scripts/engine.sh stop    stop the engine, keep its data (containers stop with it; `up` resumes)
#   scripts/engine.sh down    remove its containers, stop the engine, unmount and remove ENGINE_DIR
#   scripts/engine.sh env     print the export line that points docker clients at it
#   scripts/engine.sh status  say whether it is up
#
# ENGINE=docker (dockerd, socket ENGINE_DIR/docker.sock, ENGINE_DIR default /tmp/skid-engine) or
# ENGINE=podman (`podman system service`, socket ENGINE_DIR/podman.sock, default /tmp/skid-podman).
# Podman here runs with runc (crun refuses these hosts' hybrid cgroups), cgroupfs and the ulimits these
# machines need; there is no systemd to run its healthchecks, so this script runs them every 2 s.
set -euo pipefail

ENGINE=${ENGINE:-docker}
case $ENGINE in
docker) ENGINE_DIR=${ENGINE_DIR:-/tmp/skid-engine} ;;
podman) ENGINE_DIR=${ENGINE_DIR:-/tmp/skid-podman} ;;
*)
    echo "engine: ENGINE must be docker or podman, not '$ENGINE'" >&2
    exit 2
    ;;
esac
SOCK="$ENGINE_DIR/$ENGINE.sock"
PIDFILE="$ENGINE_DIR/$ENGINE.pid"
LOG="$ENGINE_DIR/$ENGINE.log"
HEALTH_PIDFILE="$ENGINE_DIR/healthchecks.pid"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
# Debian's client speaks to the 20.10 daemon and builds without buildx; a newer CLI may come first in PATH.
DOCKER_CLI=${DOCKER_CLI:-/usr/bin/docker}
# Podman reads its storage and engine settings from these files (written by `up`); the healthcheck loop
# and `podman` by hand need them too: `eval "$(ENGINE=podman scripts/engine.sh env)"`.
PODMAN_CONF="$ENGINE_DIR/containers.conf"
PODMAN_STORAGE_CONF="$ENGINE_DIR/storage.conf"

say() { printf 'engine: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

docker_() { "$DOCKER_CLI" -H "unix://$SOCK" "$@"; }
podman_() { CONTAINERS_CONF="$PODMAN_CONF" CONTAINERS_STORAGE_CONF="$PODMAN_STORAGE_CONF" podman "$@"; }

alive_pid() {
    # Prints the pid in file $1 if that process still runs (not a zombie) and its command line holds $2.
    [[ -f "$1" ]] || return 0
    local pid state
    pid=$(cat "$1" 2>/dev/null || true)
    [[ "$pid" =~ ^[0-9]+$ ]] || return 0
    [[ -r "/proc/$pid/cmdline" ]] || return 0
    if tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$2"; then
        state=$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo Z)
        [[ "$state" != Z ]] && echo "$pid"
    fi
    return 0
}

# Only ours: an engine whose command line names our socket.
daemon_pid() { alive_pid "$PIDFILE" "unix://$SOCK"; }
health_pid() { alive_pid "$HEALTH_PIDFILE" "healthchecks"; }

answers() { docker_ info >/dev/null 2>&1; }

ensure_packages() {
    local missing=()
    # The docker client builds the demo images on either engine (Podman serves the same build endpoint).
    [[ -x /usr/bin/docker ]] || missing+=(docker.io)
    if [[ $ENGINE == docker ]]; then
        command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
    else
        command -v podman >/dev/null 2>&1 || missing+=(podman)
        command -v runc >/dev/null 2>&1 || missing+=(runc)
        # compose's `init: true` runs Podman's container-init, catatonit (only recommended by the package).
        [[ -x /usr/libexec/podman/catatonit ]] || missing+=(catatonit)
    fi
    dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || missing+=(busybox-static)
    command -v iptables >/dev/null 2>&1 || missing+=(iptables)
    if ((${#missing[@]})); then
        mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
        [[ $(id -u) == 0 ]] || die "missing ${missing[*]}; install them as root (apt-get install ${missing[*]})"
        say "installing ${missing[*]} (apt-get)"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

wait_gone() {
    # An engine can linger as a zombie for a few seconds before it is reaped: a zombie counts as gone.
    local pid=$1 i state
    for ((i = 0; i < 300; i++)); do
        [[ -e "/proc/$pid" ]] || return 0
        state=$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo Z)
        [[ "$state" == Z ]] && return 0
        sleep 0.1
    done
    return 1
}

stop_pid() {
    # stop_pid PID NAME: TERM, then KILL after 30 s.
    local pid=$1 name=$2
    say "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_gone "$pid"; then
        say "$name did not stop in 30 s; sending KILL"
        kill -KILL "$pid" 2>/dev/null || true
        wait_gone "$pid" || die "$name (pid $pid) would not stop"
    fi
}

stop_daemon() {
    local pid
    pid=$(health_pid)
    [[ -z "$pid" ]] || stop_pid "$pid" "the healthcheck loop"
    rm -f "$HEALTH_PIDFILE"
    pid=$(daemon_pid)
    [[ -z "$pid" ]] || stop_pid "$pid" "$ENGINE"
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

write_podman_conf() {
    mkdir -p "$ENGINE_DIR/storage" "$ENGINE_DIR/run" "$ENGINE_DIR/tmp" "$ENGINE_DIR/networks"
    cat >"$PODMAN_STORAGE_CONF" <<CONF
[storage]
driver = "overlay"
graphroot = "$ENGINE_DIR/storage"
runroot = "$ENGINE_DIR/run"
CONF
    # runc: crun 1.8 refuses hybrid cgroups. cgroupfs and file events: there is no systemd or journald.
    # The ulimits: without them every container fails with `setrlimit RLIMIT_NOFILE: Operation not permitted`.
    cat >"$PODMAN_CONF" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$ENGINE_DIR/events.log"
tmp_dir = "$ENGINE_DIR/tmp"

[network]
network_config_dir = "$ENGINE_DIR/networks"
CONF
}

start_docker() {
    # setsid: the daemon must outlive the shell (and make's process group) that started it.
    setsid dockerd --host "unix://$SOCK" --data-root "$ENGINE_DIR/data" --exec-root "$ENGINE_DIR/exec" \
        --pidfile "$PIDFILE" >"$LOG" 2>&1 </dev/null &
}

start_podman() {
    write_podman_conf
    CONTAINERS_CONF="$PODMAN_CONF" CONTAINERS_STORAGE_CONF="$PODMAN_STORAGE_CONF" \
        setsid podman system service --time=0 "unix://$SOCK" >"$LOG" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
}

healthchecks() {
    # Podman schedules healthchecks with systemd timers; without systemd nothing runs them and health
    # stays "starting". Every 2 s, run the check of each running container that has one, until the
    # engine stops. (Every 2 s whatever the check's own interval: the demo's checks are cheap.)
    local engine_pid=$1 id status
    while [[ -e "/proc/$engine_pid" ]]; do
        while read -r id status; do
            [[ -n "$id" ]] || continue
            case $status in
            *"(starting)"* | *"(healthy)"* | *"(unhealthy)"* | *starting* | *healthy*)
                podman_ --url "unix://$SOCK" --remote healthcheck run "$id" >/dev/null 2>&1 || true
                ;;
            esac
        done < <(podman_ --url "unix://$SOCK" --remote ps --format '{{.ID}} {{.Status}}' 2>/dev/null || true)
        sleep 2
    done
}

start_healthchecks() {
    [[ -z "$(health_pid)" ]] || return 0
    setsid "$0" _healthchecks "$(daemon_pid)" >>"$ENGINE_DIR/healthchecks.log" 2>&1 </dev/null &
    echo $! >"$HEALTH_PIDFILE"
}

cmd_up() {
    ensure_packages
    [[ $(id -u) == 0 ]] || die "the $ENGINE engine here needs root"
    mkdir -p "$ENGINE_DIR"
    if [[ -n "$(daemon_pid)" ]] && answers; then
        say "already up at unix://$SOCK"
    else
        stop_daemon
        rm -f "$SOCK"
        say "starting $ENGINE at unix://$SOCK"
        "start_$ENGINE"
        local i
        for ((i = 0; i < 300; i++)); do
            answers && break
            sleep 0.1
        done
        answers || { tail -n 20 "$LOG" >&2; die "$ENGINE did not answer within 30 s (log: $LOG)"; }
        say "up: $ENGINE $(docker_ version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"
    fi
    [[ $ENGINE != podman ]] || start_healthchecks
    if [[ "${SKID_SKIP_DEMO_IMAGES:-}" != 1 ]]; then
        DOCKER_HOST="unix://$SOCK" DOCKER_CLI="$DOCKER_CLI" "$REPO/compose/demo/build-images.sh"
    fi
}

cmd_stop() {
    stop_daemon
    say "stopped; data kept in $ENGINE_DIR"
}

remove_containers() {
    local ids
    ids=$(docker_ ps -aq)
    if [[ -n "$ids" ]]; then
        say "removing $(wc -w <<<"$ids") container(s)"
        # shellcheck disable=SC2086
        docker_ rm -f $ids >/dev/null || true
    fi
}

cmd_down() {
    if [[ -n "$(daemon_pid)" ]] && answers; then
        remove_containers
    fi
    stop_daemon
    if [[ -d "$ENGINE_DIR" ]]; then
        # Podman's storage holds overlay mounts of its own; `podman system reset` would need the
        # service's settings and is slower than unmounting what is left under the directory.
        unmount_all
        rm -rf "$ENGINE_DIR"
        say "down; removed $ENGINE_DIR"
    else
        say "nothing to do: no engine at $ENGINE_DIR"
    fi
}

cmd_env() {
    echo "export DOCKER_HOST=unix://$SOCK"
    if [[ $ENGINE == podman ]]; then
        echo "export CONTAINERS_CONF=$PODMAN_CONF CONTAINERS_STORAGE_CONF=$PODMAN_STORAGE_CONF"
    fi
}

cmd_status() {
    local pid
    pid=$(daemon_pid)
    if [[ -n "$pid" ]] && answers; then
        echo "up: $ENGINE pid $pid at unix://$SOCK"
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
_healthchecks) healthchecks "$2" ;;
*)
    echo "usage: [ENGINE=docker|podman] $0 up|stop|down|env|status   (ENGINE_DIR=${ENGINE_DIR})" >&2
    exit 2
    ;;
esac
