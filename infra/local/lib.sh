# shellcheck shell=bash
# Helpers shared by infra/local/{up,down,status}. Sourced, never executed.
#
# Layout:
#   $SW_CACHE/kafka-<v>/libs/*.jar        broker and tools jars (from Maven Central)
#   $SW_CACHE/influxdb-<v>/bin/influxd     built from the Go module proxy
#   $SW_STATE/<svc>/{data/,log/,pid}       runtime state of each service
#   $SW_STATE/env                          connection settings of the services that are up

SW_LOCAL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SW_CACHE=${STREETWATCH_CACHE:-$HOME/.cache/streetwatch}
SW_STATE=${STREETWATCH_LOCAL_STATE:-$SW_CACHE/local}
SW_SERVICES=(kafka influxdb redis)

# The pom is the single place that names the Kafka version.
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$SW_LOCAL_DIR/kafka/pom.xml")
KAFKA_HOME=$SW_CACHE/kafka-$KAFKA_VERSION
INFLUXDB_VERSION=1.8.10
INFLUXD=$SW_CACHE/influxdb-$INFLUXDB_VERSION/bin/influxd
INFLUX_DATABASE=streetwatch

# Seconds a service gets to become ready, and to stop before SIGKILL.
KAFKA_READY_TIMEOUT=120
INFLUX_READY_TIMEOUT=60
REDIS_READY_TIMEOUT=20
STOP_TIMEOUT=30

say() { printf '%s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

need() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' is not installed; $2"
}

# Service names from the command line, or all of them.
parse_services() {
  SERVICES=()
  local s k known
  for s in "$@"; do
    known=
    for k in "${SW_SERVICES[@]}"; do [[ $s == "$k" ]] && known=1; done
    [[ -n $known ]] || die "unknown service '$s' (known: ${SW_SERVICES[*]})"
    SERVICES+=("$s")
  done
  ((${#SERVICES[@]})) || SERVICES=("${SW_SERVICES[@]}")
}

# Serialises up and down, so that two callers (parallel test workers, CI steps) cannot
# start the same service twice. Held until the script exits.
lock_state() {
  mkdir -p "$SW_STATE"
  exec 9>"$SW_STATE/lock"
  flock 9
}

svc_dir() { printf '%s/%s' "$SW_STATE" "$1"; }

# The variables holding a service's ports.
svc_port_vars() {
  case $1 in
    kafka) echo KAFKA_PORT KAFKA_CONTROLLER_PORT ;;
    influxdb) echo INFLUX_PORT INFLUX_RPC_PORT ;;
    redis) echo REDIS_PORT ;;
  esac
}

svc_ports() {
  local v ports=()
  for v in $(svc_port_vars "$1"); do ports+=("${!v}"); done
  (IFS=,; echo "${ports[*]}")
}

# NAME=port lines, as recorded in <state>/<svc>/ports when the service starts.
svc_port_record() {
  local v
  for v in $(svc_port_vars "$1"); do echo "$v=${!v}"; done
}

# The process name each service runs as, so a recycled pid is not taken for ours.
svc_comm() {
  case $1 in
    kafka) echo java ;;
    influxdb) echo influxd ;;
    redis) echo redis-server ;;
  esac
}

# True while the process exists and is not a zombie: an orphaned service is reaped by
# pid 1, which in some containers happens seconds after it died.
pid_alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

# Prints the pid of the service if its pid file names a live process of the right kind.
svc_pid() {
  local file pid
  file=$(svc_dir "$1")/pid
  [[ -s $file ]] || return 1
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ ]] && pid_alive "$pid" || return 1
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$(svc_comm "$1")" ]] || return 1
  echo "$pid"
}

# Like svc_pid, without the process name: just after spawn the recorded pid is still the shell
# or setsid that is about to exec the server, which on a busy machine can take a while.
svc_running() {
  local file pid
  file=$(svc_dir "$1")/pid
  [[ -s $file ]] || return 1
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ ]] && pid_alive "$pid"
}

# Ports come from the environment, else from what a running service was started with (so
# `status` and `down` need no variables repeated), else the defaults.
resolve_ports() {
  local svc name value
  for svc in "${SW_SERVICES[@]}"; do
    if [[ -f $(svc_dir "$svc")/ports ]] && svc_pid "$svc" >/dev/null; then
      while IFS='=' read -r name value; do
        [[ -n ${!name:-} ]] || printf -v "$name" %s "$value"
      done <"$(svc_dir "$svc")/ports"
    fi
  done
  KAFKA_PORT=${KAFKA_PORT:-9092}
  KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
  INFLUX_PORT=${INFLUX_PORT:-8086}
  INFLUX_RPC_PORT=${INFLUX_RPC_PORT:-8088}
  REDIS_PORT=${REDIS_PORT:-6379}
  for svc in "${SW_SERVICES[@]}"; do
    for name in $(svc_port_vars "$svc"); do
      if ! [[ ${!name} =~ ^[0-9]+$ ]] || ((${!name} < 1 || ${!name} > 65535)); then
        die "$name=${!name} is not a port number"
      fi
    done
  done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Cheap liveness probe, used by `status` and before starting a service.
svc_healthy() {
  case $1 in
    kafka) port_open "$KAFKA_PORT" ;;
    influxdb) [[ $(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$INFLUX_PORT/ping") == 204 ]] ;;
    redis) [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]] ;;
  esac
}

# Dies if a port the service needs is held by a process that is not this service.
check_ports_free() {
  local v
  for v in $(svc_port_vars "$1"); do
    if port_open "${!v}"; then
      die "$1: port ${!v} ($v) is already in use by another process (not $(svc_dir "$1")/pid); stop it or pick other ports (see infra/local/README.md)"
    fi
  done
}

show_logs() {
  local f
  for f in "$(svc_dir "$1")"/log/*; do
    [[ -f $f ]] || continue
    say "---- last lines of $f"
    tail -n 30 "$f" >&2
  done
}

fail() {
  say "error: $1: $2"
  show_logs "$1"
  exit 1
}

# wait_for <svc> <timeout-seconds> <what> <command...>: polls the command until it succeeds.
# Fails early, with the log, if the service process exits.
wait_for() {
  local svc=$1 timeout=$2 what=$3
  shift 3
  local deadline=$((SECONDS + timeout))
  until "$@"; do
    svc_running "$svc" || fail "$svc" "the process exited while waiting for $what"
    ((SECONDS < deadline)) || fail "$svc" "no $what after ${timeout}s"
    sleep 0.5
  done
}

# Starts a command in its own session (so it outlives the calling shell and its
# process group), without the lock's descriptor, and records its pid.
spawn() {
  local svc=$1 out=$2
  shift 2
  echo "---- $(date -Is) infra/local/up: $*" >>"$out"
  setsid "$@" </dev/null >>"$out" 2>&1 9>&- &
  echo $! >"$(svc_dir "$svc")/pid"
}

stop_svc() {
  local svc=$1 pid deadline
  if ! pid=$(svc_pid "$svc"); then
    rm -f "$(svc_dir "$svc")/pid"
    say "$svc: not running"
    return 0
  fi
  say "$svc: stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STOP_TIMEOUT))
  while pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
  if pid_alive "$pid"; then
    say "$svc: still running after ${STOP_TIMEOUT}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while pid_alive "$pid"; do sleep 0.1; done
  fi
  rm -f "$(svc_dir "$svc")/pid"
}

# java -cp <kafka jars> <class> <args...> with the tools' quiet logging and a quick-starting JVM.
kafka_tool() {
  java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xmx256m \
    -Dlog4j.configuration="file:$SW_LOCAL_DIR/kafka/tools-log4j.properties" \
    -cp "$KAFKA_HOME/libs/*" "$@"
}

svc_env() {
  case $1 in
    kafka) echo "KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT" ;;
    influxdb)
      # InfluxDB 1.8 serves the v2 write/query API: the bucket is "<database>/<retention policy>",
      # the org is ignored, and with auth disabled any "Token user:password" is accepted.
      echo "INFLUX_URL=http://127.0.0.1:$INFLUX_PORT"
      echo "INFLUX_TOKEN=user:password"
      echo "INFLUX_ORG=streetwatch"
      echo "INFLUX_BUCKET=$INFLUX_DATABASE/autogen"
      ;;
    redis) echo "REDIS_URL=redis://127.0.0.1:$REDIS_PORT" ;;
  esac
}

# Rewrites $SW_STATE/env with the settings of every running service.
write_env() {
  local svc lines=
  for svc in "${SW_SERVICES[@]}"; do
    if svc_pid "$svc" >/dev/null; then lines+=$(svc_env "$svc")$'\n'; fi
  done
  mkdir -p "$SW_STATE"
  if [[ -n $lines ]]; then printf '%s' "$lines" >"$SW_STATE/env"; else rm -f "$SW_STATE/env"; fi
}

resolve_ports
