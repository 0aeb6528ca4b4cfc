#!/bin/sh
# Runs lb and ha-agent side by side in one container (a "host" of the pair).
# NODE_CONF selects /opt/hapair/docker/node/<name>/ with haproxy.cfg and keepalived.conf.
set -eu
conf="/opt/hapair/docker/node/${NODE_CONF:?set NODE_CONF to node-a or node-b}"
lb -W -f "$conf/haproxy.cfg" &
lb_pid=$!
ha-agent -f "$conf/keepalived.conf" --control-socket /run/ha-agent.sock &
agent_pid=$!
trap 'kill -TERM $agent_pid $lb_pid 2>/dev/null; wait' TERM INT
wait $agent_pid
