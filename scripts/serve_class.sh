#!/usr/bin/env bash
# Serve nnviz to a class from several app processes behind one nginx port, with sticky sessions
# (deploy/nginx/nnviz.conf). Needs Debian's nginx (`apt-get install nginx`), not root: nginx runs as
# you, with its configuration, pid, logs and temporary files in a folder of its own. Ctrl-C stops
# every process it started.
#
#   bash scripts/serve_class.sh [--processes 2] [--listen 127.0.0.1:8500] [--first-port 8601] [--dir DIR]
#
# --listen 0.0.0.0:8500 opens it to the other machines of the network (the default is this machine
# only). The processes share one user models folder ($NNVIZ_USER_MODELS, else ./user_models), so a
# network a student saved opens (by its name) in every process. --dir keeps nginx's folder (access.log: which
# student's cookie went to which process) instead of a temporary one removed on exit.
#
# The app processes run with ${PYTHON:-python3}: the python of any environment nnviz is installed in
# (e.g. PYTHON=.venv/bin/python, or the python of an activated virtual environment or conda env).
set -euo pipefail
cd "$(dirname "$0")/.."

processes=2 listen=127.0.0.1:8500 first_port=8601 dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --processes) processes=$2 ;;
    --listen) listen=$2 ;;
    --first-port) first_port=$2 ;;
    --dir) dir=$2 ;;
    *) echo "unknown option: $1 (see the top of $0)" >&2; exit 2 ;;
  esac
  shift 2
done
PATH=$PATH:/usr/sbin  # where Debian puts nginx, not on a normal user's PATH
command -v nginx >/dev/null || { echo "nginx is not installed: apt-get install nginx" >&2; exit 1; }
PYTHON=${PYTHON:-python3}
"$PYTHON" -c "import nnviz, streamlit" 2>/dev/null ||
  { echo "$PYTHON cannot import nnviz and streamlit: install them (the README's first command) and set PYTHON to that environment's python" >&2; exit 1; }
keep_dir=$([ -n "$dir" ] && echo yes || echo no)
dir=$(realpath -m "${dir:-$(mktemp -d)}") && mkdir -p "$dir/tmp"
export NNVIZ_USER_MODELS=$(realpath -m "${NNVIZ_USER_MODELS:-user_models}")
# The address students type, for the Home page's join link: the proxy's port, not an app process's.
host=${listen%:*}
[ "$host" = 0.0.0.0 ] && host=$(hostname -I | awk '{print $1}')
case "$host" in 127.*|localhost) ;; *) export NNVIZ_JOIN_URL=${NNVIZ_JOIN_URL:-http://$host:${listen##*:}} ;; esac

pids=()
stop() {
  trap - EXIT INT TERM
  echo "== stopping ${#pids[@]} processes"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  [ "$keep_dir" = yes ] || rm -rf "$dir"
}
trap stop EXIT
trap 'stop; exit 130' INT TERM

backends=""
for ((i = 0; i < processes; i++)); do
  port=$((first_port + i))
  backends+="    server 127.0.0.1:$port max_fails=1 fail_timeout=30s;  # nnviz:backend\n"
  "$PYTHON" -m streamlit run app.py --server.address 127.0.0.1 --server.port "$port" --server.headless true \
    >"$dir/app-$port.log" 2>&1 &
  pids+=($!)
done

# The shipped config with this run's processes and port; nginx's own paths all inside $dir.
awk -v backends="$backends" -v listen="$listen" '
  /^ *server .*# nnviz:backend$/ { if (!done++) printf "%s", backends; next }
  /^ *listen .*# nnviz:listen$/ { print "    listen " listen ";"; next }
  { print }' deploy/nginx/nnviz.conf >"$dir/nnviz.conf"
cat >"$dir/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 4096; }
http {
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    include $dir/nnviz.conf;
    access_log $dir/access.log nnviz_upstream;
}
EOF

for ((i = 0; i < processes; i++)); do
  until "$PYTHON" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" \
      "http://127.0.0.1:$((first_port + i))/_stcore/health" 2>/dev/null; do
    kill -0 "${pids[i]}" 2>/dev/null || { echo "app process $i did not start:" >&2; tail -20 "$dir/app-$((first_port + i)).log" >&2; exit 1; }
    sleep 0.5
  done
done
nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" &
nginx_pid=$!
pids+=($nginx_pid)
echo "== nnviz: $processes app processes behind http://$listen (nginx folder: $dir)"
# An app process that ends is reported and the others go on: nginx sends its students to them (as
# new sessions). Everything stops when nginx ends or no app process is left.
set +e
left=$processes
while :; do
  wait -n -p ended
  status=$?
  [ "$ended" = "$nginx_pid" ] && { echo "== nginx ended (exit status $status)"; break; }
  left=$((left - 1))
  echo "== an app process ended (exit status $status); $left left"
  [ "$left" -gt 0 ] || break
done
