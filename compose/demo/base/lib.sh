# Shared by the skid-demo service scripts (busybox ash); installed in skid-demo/base as
# /usr/lib/skid-demo/lib.sh. A service script sources it, then shapes its memory and CPU with these helpers.
#
# Why shell tricks:
# - Memory is held as files in /dev/shm: tmpfs pages are charged to the container's memory cgroup and are
#   not inactive_file, so `docker stats` counts them as used, and they need no process to stay resident.
# - PID 1 in a container ignores every signal it has no handler for, so the service script traps TERM and
#   INT, and never blocks in a foreground command: it sleeps in the background and `wait`s, which a trapped
#   signal interrupts at once. When PID 1 exits, the kernel kills the rest of the container.
# - The busybox is static glibc: its own name lookup segfaults (no NSS modules), so `resolve` uses
#   nslookup; its wget also segfaults with -T, so a timeout comes from `timeout` (or the healthcheck's).

SERVICE=${SERVICE:-skid-demo}
WWW=/run/skid-demo/www
STOPPING=

log() { printf '%s %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$SERVICE" "$*"; }
die() {
    log "FATAL: $*" >&2
    exit 1
}

# nap SECONDS: sleep that a trapped signal interrupts (a foreground `sleep` would delay the trap).
nap() {
    sleep "$1" &
    wait $!
}

# hold NAME MIB: keep MIB MiB resident in the container's memory cgroup (rewriting NAME resizes it).
# Over the memory limit the kernel's OOM killer ends the writer: the service then dies as an OOM-killed
# process does (status 137). A /dev/shm too small (docker run without --shm-size) is a clear failure.
hold() {
    [ "$2" -gt 0 ] 2>/dev/null || return 0
    dd if=/dev/zero of="/dev/shm/$1" bs=1048576 count="$2" 2>/dev/null
    _rc=$?
    [ "$_rc" -eq 0 ] && return 0
    [ "$_rc" -gt 128 ] && {
        log "killed while allocating $2 MiB (out of memory?)" >&2
        exit 137
    }
    die "cannot hold $2 MiB in /dev/shm: its size is $(df -m /dev/shm | awk 'NR == 2 {print $2}') MiB (set shm_size above it)"
}

# burn MS: keep one CPU busy for MS milliseconds of wall time (the cgroup's cpu quota caps it).
burn() {
    (while :; do :; done) &
    _burner=$!
    usleep $(($1 * 1000))
    kill "$_burner" 2>/dev/null
    wait "$_burner" 2>/dev/null
    return 0
}

# pulse BURN_MS IDLE_MS: in the background, burn BURN_MS then rest IDLE_MS, forever: a light, steady load.
pulse() {
    [ "$1" -gt 0 ] 2>/dev/null || return 0
    (
        trap - TERM INT
        while :; do
            burn "$1"
            usleep $(($2 * 1000))
        done
    ) &
}

# serve PORT DIR: busybox httpd on 0.0.0.0:PORT serving DIR; sets SERVED_PID.
serve() {
    mkdir -p "$2"
    httpd -f -p "$1" -h "$2" &
    SERVED_PID=$!
}

# ready [DIR] [PATH]: from now on DIR/PATH answers 200, so the healthcheck passes.
ready() {
    _dir=${1:-$WWW}
    _path=${2:-health}
    mkdir -p "$(dirname "$_dir/$_path")"
    echo ok >"$_dir/$_path"
}

# check URL: whether URL answers 200 within 2 s (numeric addresses only, see above).
check() { timeout 2 wget -q -O /dev/null "$1" 2>/dev/null; }

# resolve NAME: prints the address of a compose service name, or nothing.
resolve() {
    case $1 in
    localhost) echo 127.0.0.1 ;;
    *[!0-9.]*) nslookup "$1" 2>/dev/null | awk '/^Name:/ {found = 1} found && /^Address/ {print $NF; exit}' ;;
    *) echo "$1" ;;
    esac
}

# probe NAME PORT [PATH]: log whether a dependency's health route answers (5 tries, 1 s apart), as a real
# service logs its connections at startup. The demo services are all HTTP, whatever their port.
probe() {
    _try=0
    while [ "$_try" -lt 5 ]; do
        _ip=$(resolve "$1")
        if [ -n "$_ip" ] && check "http://$_ip:$2/${3:-health}"; then
            log "connected to $1:$2"
            return 0
        fi
        _try=$((_try + 1))
        nap 1
    done
    log "WARN $1:$2 is not reachable; will retry on demand"
}

# on_stop is the service's shutdown hook (redefine it); stop_on_signal installs the traps that call it.
on_stop() { :; }
stop_on_signal() {
    trap '_stop TERM' TERM
    trap '_stop INT' INT
}
_stop() {
    [ -n "$STOPPING" ] && exit 0
    STOPPING=1
    log "received SIG$1, shutting down"
    on_stop
    exit 0
}

# supervise [EVERY TICK]: block until the main httpd exits (a crash ends the container) or a signal stops
# us; with EVERY and TICK, run the function TICK every EVERY seconds meanwhile (periodic log lines).
supervise() {
    if [ -n "$1" ]; then
        while kill -0 "$SERVED_PID" 2>/dev/null; do
            nap "$1"
            kill -0 "$SERVED_PID" 2>/dev/null && "$2"
        done
        wait "$SERVED_PID"
    else
        wait "$SERVED_PID"
    fi
    _rc=$?
    [ -n "$STOPPING" ] && exit 0
    die "server exited (status $_rc)"
}
