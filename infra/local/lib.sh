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

# ---- The clustered MQTT tier (up --brokers N): broker nodes and HAProxy in front of them.
#   $SW_STATE/broker-<i>/{pid,ports,data/,log/}   node i: `--stages broker,api` from this checkout
#   $SW_STATE/haproxy/{pid,haproxy.cfg,log/}      TCP on MQTT_PUBLIC_PORT, /readyz checks per node
#   $SW_STATE/brokers.env                         the tokens every node shares (generated once)
SW_REPO=$(cd "$SW_LOCAL_DIR/../.." && pwd)
MQTT_PUBLIC_PORT=${MQTT_PUBLIC_PORT:-1883}
# Node i listens on MQTT <base>+i and HTTP (/readyz, /metrics, the API) <base>+i.
BROKER_MQTT_PORT_BASE=${BROKER_MQTT_PORT_BASE:-18830}
BROKER_HTTP_PORT_BASE=${BROKER_HTTP_PORT_BASE:-18080}
BROKER_READY_TIMEOUT=60
# More nodes than this on one machine only compete for its cores.
MAX_BROKERS=16

broker_dirs() { compgen -G "$SW_STATE/broker-*" | sort -t- -k2 -n || true; }

# pid of a node or of HAProxy, if its pid file names a live process of the right kind.
part_pid() {
  local file=$SW_STATE/$1/pid pid
  [[ -s $file ]] || return 1
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ ]] && pid_alive "$pid" || return 1
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$2" ]] || return 1
  echo "$pid"
}

stop_part() {
  local part=$1 comm=$2 pid deadline
  pid=$(part_pid "$part" "$comm") || { rm -f "$SW_STATE/$part/pid"; return 0; }
  say "$part: stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STOP_TIMEOUT))
  while pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
  if pid_alive "$pid"; then
    say "$part: still running after ${STOP_TIMEOUT}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$SW_STATE/$part/pid"
}

brokers_tokens() {
  local file=$SW_STATE/brokers.env
  if [[ ! -s $file ]]; then
    (umask 077 && printf 'STREETWATCH_ADMIN_TOKEN=%s\nSTREETWATCH_OPERATOR_TOKEN=%s\n' \
      "$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')" "$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')" >"$file")
  fi
  echo "$file"
}

# start_brokers N: nodes 1..N running (extra ones stopped), HAProxy in front of exactly them.
start_brokers() {
  local n=$1 i dir mqtt http nodes=() dir_n tokens
  [[ $n =~ ^[0-9]+$ ]] && ((n >= 1 && n <= MAX_BROKERS)) || die "--brokers takes 1 to $MAX_BROKERS, not '$n'"
  need haproxy "install HAProxy (apt-get install haproxy)"
  svc_pid kafka >/dev/null && svc_pid redis >/dev/null || die "broker nodes need Kafka and Redis up: run infra/local/up first"
  for dir in $(broker_dirs); do
    dir_n=${dir##*-}
    ((dir_n > n)) && stop_part "broker-$dir_n" node
  done
  tokens=$(brokers_tokens)
  for ((i = 1; i <= n; i++)); do
    mqtt=$((BROKER_MQTT_PORT_BASE + i)) http=$((BROKER_HTTP_PORT_BASE + i))
    nodes+=("node-$i=$mqtt:$http")
    dir=$SW_STATE/broker-$i
    if pid=$(part_pid "broker-$i" node); then
      say "broker-$i: already running (pid $pid)"
      continue
    fi
    port_open "$mqtt" && die "broker-$i: port $mqtt is in use by another process (BROKER_MQTT_PORT_BASE)"
    port_open "$http" && die "broker-$i: port $http is in use by another process (BROKER_HTTP_PORT_BASE)"
    mkdir -p "$dir/data" "$dir/log"
    say "broker-$i: starting node-$i on MQTT $mqtt, HTTP $http"
    echo "---- $(date -Is) infra/local/up: broker node-$i" >>"$dir/log/broker.log"
    (
      set -a
      . "$SW_STATE/env"
      . "$tokens"
      set +a
      cd "$SW_REPO"
      MQTT_NODE_ID=node-$i MQTT_PROXY_PROTOCOL=on MQTT_HOST=127.0.0.1 MQTT_PORT=$mqtt HTTP_HOST=127.0.0.1 HTTP_PORT=$http \
        STREETWATCH_DATA_DIR=$dir/data exec setsid node --import ./app/ts-loader.mjs app/main.ts --stages broker,api \
        </dev/null >>"$dir/log/broker.log" 2>&1 9>&-
    ) &
    echo $! >"$dir/pid"
    printf 'MQTT=%s\nHTTP=%s\n' "$mqtt" "$http" >"$dir/ports"
  done
  for ((i = 1; i <= n; i++)); do
    http=$((BROKER_HTTP_PORT_BASE + i))
    local deadline=$((SECONDS + BROKER_READY_TIMEOUT))
    until [[ $(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$http/readyz") == 200 ]]; do
      part_pid "broker-$i" node >/dev/null || { tail -n 30 "$SW_STATE/broker-$i/log/broker.log" >&2; die "broker-$i: the process exited while starting"; }
      ((SECONDS < deadline)) || { tail -n 30 "$SW_STATE/broker-$i/log/broker.log" >&2; die "broker-$i: not ready after ${BROKER_READY_TIMEOUT}s"; }
      sleep 0.5
    done
    say "broker-$i: ready"
  done

  # HAProxy is restarted on the new list of nodes: clients it held reconnect, as after any restart.
  stop_part haproxy haproxy
  port_open "$MQTT_PUBLIC_PORT" && die "haproxy: port $MQTT_PUBLIC_PORT is in use by another process (MQTT_PUBLIC_PORT)"
  mkdir -p "$SW_STATE/haproxy/log"
  "$SW_LOCAL_DIR/haproxy-cfg" "$MQTT_PUBLIC_PORT" "${nodes[@]}" >"$SW_STATE/haproxy/haproxy.cfg"
  haproxy -c -q -f "$SW_STATE/haproxy/haproxy.cfg" || die "haproxy: the generated configuration is invalid ($SW_STATE/haproxy/haproxy.cfg)"
  say "haproxy: MQTT on port $MQTT_PUBLIC_PORT in front of ${#nodes[@]} node(s)"
  echo "---- $(date -Is) infra/local/up: haproxy" >>"$SW_STATE/haproxy/log/haproxy.log"
  setsid haproxy -db -f "$SW_STATE/haproxy/haproxy.cfg" </dev/null >>"$SW_STATE/haproxy/log/haproxy.log" 2>&1 9>&- &
  echo $! >"$SW_STATE/haproxy/pid"
  echo "MQTT=$MQTT_PUBLIC_PORT" >"$SW_STATE/haproxy/ports"
  local deadline=$((SECONDS + 10))
  until port_open "$MQTT_PUBLIC_PORT"; do
    ((SECONDS < deadline)) || { tail -n 30 "$SW_STATE/haproxy/log/haproxy.log" >&2; die "haproxy: not listening on $MQTT_PUBLIC_PORT after 10s"; }
    sleep 0.2
  done
}

stop_brokers() {
  local dir
  stop_part haproxy haproxy
  for dir in $(broker_dirs); do stop_part "${dir##*/}" node; done
}

# One line per node and for HAProxy, as `status` prints services; false if one is not up.
status_brokers() {
  local dir part pid state ok=0 http
  for dir in $(broker_dirs); do
    part=${dir##*/}
    http=$(sed -n 's/^HTTP=//p' "$dir/ports" 2>/dev/null)
    if pid=$(part_pid "$part" node); then
      if [[ $(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$http/readyz") == 200 ]]; then state=up; else state=unhealthy ok=1; fi
    else
      pid=- state=down ok=1
    fi
    printf '%-9s %-10s pid %-8s port %s\n' "$part" "$state" "$pid" "$(sed -n 's/^MQTT=//p' "$dir/ports" 2>/dev/null),$http"
  done
  if [[ -d $SW_STATE/haproxy ]]; then
    if pid=$(part_pid haproxy haproxy); then state=up; else pid=- state=down ok=1; fi
    printf '%-9s %-10s pid %-8s port %s\n' haproxy "$state" "$pid" "$(sed -n 's/^MQTT=//p' "$SW_STATE/haproxy/ports" 2>/dev/null)"
  fi
  return $ok
}
