//! The files the Redis pods read: `redis.conf`, the Sentinels' `sentinel.conf` template,
//! and the start-up, health, Sentinel set-up and backup scripts. They go into the
//! ConfigMaps `<name>-config` and `<name>-sentinel-config`, mounted read-only.
//!
//! No file holds the password. The servers get it as `--requirepass` / `--masterauth`
//! arguments that Kubernetes fills in from the Secret; `redis-cli` reads it from
//! `REDISCLI_AUTH`; the Sentinels' set-up script writes it into the Sentinel's own
//! volume, because Sentinel rewrites its config file and cannot expand variables.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{BUS_PORT, REDIS_PORT, Redis, SENTINEL_PORT};
use crate::spec::redis::SentinelSpec;

/// Where the servers' ConfigMap is mounted.
pub const CONFIG_DIR: &str = "/etc/redis";
/// Where the Sentinels' ConfigMap (template and scripts) is mounted.
pub const SENTINEL_CONFIG_DIR: &str = "/etc/redis-sentinel";
/// Where the Sentinels' writable config lives (their volume).
pub const SENTINEL_CONF: &str = "/data/sentinel.conf";
/// Where the backup jobs mount the backup volume.
pub const BACKUP_DIR: &str = "/backup";

/// The backup script's key in `<name>-config`.
pub const BACKUP_SCRIPT: &str = "backup.sh";

/// Slow log threshold: commands slower than 10 ms are logged (seed 002), in µs.
const SLOWLOG_MICROS: u32 = 10_000;

/// The server pods that start as masters: in a cluster, pods `0..masters` (the operate
/// step forms the cluster with them as masters, in order, and the others as their
/// replicas); with Sentinels, pod 0.
pub fn initial_masters(redis: &Redis) -> Vec<u32> {
    if redis.is_cluster() {
        (0..redis.spec.masters()).collect()
    } else {
        vec![0]
    }
}

/// The name Sentinels know the primary of server pod `pod` by: the workload's name with
/// `topology: sentinel`, `<name>-shard-<pod>` for the masters of a cluster.
pub fn sentinel_master_name(redis: &Redis, pod: u32) -> String {
    if redis.is_cluster() {
        format!("{}-shard-{pod}", redis.name)
    } else {
        redis.name.to_owned()
    }
}

/// `<name>-config`: redis.conf and the servers' scripts (and the backup script).
pub fn server_files(redis: &Redis) -> BTreeMap<String, String> {
    let mut files = BTreeMap::from([
        ("redis.conf".to_owned(), redis_conf(redis)),
        ("start.sh".to_owned(), start_script(redis)),
        ("health.sh".to_owned(), health_script()),
    ]);
    if redis.spec.backup.enabled {
        files.insert(BACKUP_SCRIPT.to_owned(), backup_script(redis));
    }
    files
}

/// `<name>-sentinel-config`: the sentinel.conf template and the Sentinels' scripts.
pub fn sentinel_files(redis: &Redis, sentinel: &SentinelSpec) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("sentinel.conf".to_owned(), sentinel_conf(redis, sentinel)),
        ("init.sh".to_owned(), sentinel_init_script(redis)),
        ("health.sh".to_owned(), health_script()),
    ])
}

/// Fills `@KEY@` placeholders (shell and awk are full of braces, so no `format!`).
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(template.to_owned(), |text, (key, value)| {
            text.replace(key, value)
        })
}

pub fn redis_conf(redis: &Redis) -> String {
    let spec = redis.spec;
    let mut conf = String::new();
    let mut line = |text: &str| {
        conf.push_str(text);
        conf.push('\n');
    };
    line(&format!(
        "# redis.conf of RedisCluster {}/{}, rendered by strata-agent: change the document, not this file.",
        redis.namespace, redis.name
    ));
    line(
        "# The password is not here: the pod passes it as --requirepass/--masterauth from the Secret.",
    );
    line(&format!("port {REDIS_PORT}"));
    line("bind * -::*");
    line("protected-mode yes");
    line("dir /data");
    line("daemonize no");
    line("logfile \"\"");
    line("");
    line("# Persistence");
    let persistence = &spec.persistence;
    line(&format!(
        "appendonly {}",
        if persistence.aof { "yes" } else { "no" }
    ));
    line(&format!("appendfsync {}", persistence.appendfsync.as_str()));
    if persistence.save.is_empty() {
        line("save \"\"");
    }
    for point in &persistence.save {
        line(&format!("save {} {}", point.seconds, point.changes));
    }
    line("");
    line("# Memory");
    line(&format!("maxmemory {}", spec.memory.maxmemory.trim()));
    line(&format!("maxmemory-policy {}", spec.memory.policy.as_str()));
    line("lazyfree-lazy-eviction yes");
    line("");
    line("# Threads");
    line(&format!("io-threads {}", spec.io_threads));
    if spec.io_threads > 1 {
        line("io-threads-do-reads yes");
    }
    line("");
    line("# Slow queries");
    line(&format!("slowlog-log-slower-than {SLOWLOG_MICROS}"));
    line("slowlog-max-len 128");
    if redis.is_cluster() {
        line("");
        line("# Redis Cluster");
        line("cluster-enabled yes");
        line("cluster-config-file /data/nodes.conf");
        line(&format!(
            "cluster-node-timeout {}",
            spec.cluster_node_timeout_ms
        ));
        line(&format!("cluster-port {BUS_PORT}"));
    }
    conf
}

const CLUSTER_START: &str = r#"#!/bin/sh
# Starts Redis Cluster node $POD_NAME of RedisCluster @NAMESPACE@/@NAME@.
# The arguments (--requirepass, --masterauth) come from the pod spec, which takes the
# password from the Secret.
set -eu
# A rescheduled pod has a new IP: announcing it (and the pod's stable name) lets the
# other nodes update their view of the cluster.
exec redis-server @CONFIG_DIR@/redis.conf \
    --cluster-announce-ip "$POD_IP" \
    --cluster-announce-hostname "$POD_NAME.@DOMAIN@" \
    "$@"
"#;

const SENTINEL_START: &str = r#"#!/bin/sh
# Starts Redis server $POD_NAME of RedisCluster @NAMESPACE@/@NAME@: the primary, or a
# replica of the current primary. The arguments (--requirepass, --masterauth) come from
# the pod spec, which takes the password from the Secret.
set -eu
self="$POD_NAME.@DOMAIN@"
primary=""
port=@PORT@
@ASK_SENTINELS@# First start, or no Sentinel answers: pod 0 is the primary.
if [ -z "$primary" ]; then
    primary="@INITIAL@"
    port=@PORT@
fi
if [ "$primary" = "$self" ] || [ "$primary" = "$POD_IP" ]; then
    echo "starting as the primary"
    exec redis-server @CONFIG_DIR@/redis.conf --replica-announce-ip "$self" "$@"
fi
echo "starting as a replica of $primary:$port"
exec redis-server @CONFIG_DIR@/redis.conf --replica-announce-ip "$self" \
    --replicaof "$primary" "$port" "$@"
"#;

const ASK_SENTINELS: &str = r#"# After a failover the primary is no longer pod 0, so ask the Sentinels who it is now.
# Their Service lists only ready Sentinels; REDISCLI_AUTH (from the Secret) authenticates.
reply=$(timeout 5 redis-cli -h @SENTINEL_SERVICE@ -p @SENTINEL_PORT@ --raw \
    SENTINEL get-master-addr-by-name @MASTER@ 2>/dev/null) || reply=""
host=$(printf '%s\n' "$reply" | sed -n 1p)
answer=$(printf '%s\n' "$reply" | sed -n 2p)
case "$answer" in
'' | *[!0-9]*) echo "no Sentinel named the primary" ;;
*)
    primary="$host"
    port="$answer"
    ;;
esac
"#;

/// The servers' entry point: `redis-server` with the announce settings, and in the
/// sentinel topology the choice between primary and replica.
pub fn start_script(redis: &Redis) -> String {
    let domain = redis.pod_domain();
    let port = REDIS_PORT.to_string();
    let common = [
        ("@NAMESPACE@", redis.namespace),
        ("@NAME@", redis.name),
        ("@CONFIG_DIR@", CONFIG_DIR),
        ("@DOMAIN@", domain.as_str()),
    ];
    if redis.is_cluster() {
        return fill(CLUSTER_START, &common);
    }
    let ask = match redis.spec.sentinel() {
        Some(_) => fill(
            ASK_SENTINELS,
            &[
                ("@SENTINEL_SERVICE@", redis.sentinel_name().as_str()),
                ("@SENTINEL_PORT@", SENTINEL_PORT.to_string().as_str()),
                ("@MASTER@", sentinel_master_name(redis, 0).as_str()),
            ],
        ),
        None => String::new(),
    };
    let script = fill(SENTINEL_START, &[("@ASK_SENTINELS@", ask.as_str())]);
    let script = fill(
        &script,
        &[
            ("@INITIAL@", redis.pod_host(0).as_str()),
            ("@PORT@", port.as_str()),
        ],
    );
    fill(&script, &common)
}

/// Readiness (`ready`) and liveness (`alive`) for servers and Sentinels alike.
pub fn health_script() -> String {
    r#"#!/bin/sh
# Probe: health.sh ready|alive PORT. redis-cli reads the password from REDISCLI_AUTH
# (from the Secret), so it is on no command line.
reply=$(timeout 3 redis-cli -h 127.0.0.1 -p "$2" ping 2>&1) || true
case "$reply" in
PONG) exit 0 ;;
# Loading its data set, or cut off from its primary: alive, but not ready.
LOADING* | MASTERDOWN*) [ "$1" = alive ] && exit 0 ;;
esac
echo "$reply"
exit 1
"#
    .to_owned()
}

/// The Sentinels' config template: what to monitor and how; `init.sh` adds the rest.
pub fn sentinel_conf(redis: &Redis, sentinel: &SentinelSpec) -> String {
    let mut conf = format!(
        "# sentinel.conf template of RedisCluster {}/{}, rendered by strata-agent.\n\
         # init.sh copies it to {SENTINEL_CONF} with the password and this Sentinel's own\n\
         # address added; Sentinel then keeps that copy up to date itself.\n\
         port {SENTINEL_PORT}\n\
         dir /data\n\
         sentinel resolve-hostnames yes\n\
         sentinel announce-hostnames yes\n",
        redis.namespace, redis.name
    );
    let down_after = sentinel.down_after_ms.unwrap_or(5_000);
    let failover = sentinel.failover_timeout_ms.unwrap_or(10_000);
    for pod in initial_masters(redis) {
        let master = sentinel_master_name(redis, pod);
        let _ = write!(
            conf,
            "sentinel monitor {master} {host} {REDIS_PORT} {quorum}\n\
             sentinel down-after-milliseconds {master} {down_after}\n\
             sentinel failover-timeout {master} {failover}\n\
             sentinel parallel-syncs {master} {syncs}\n",
            host = redis.pod_host(pod),
            quorum = sentinel.quorum,
            syncs = sentinel.parallel_syncs,
        );
    }
    conf
}

const SENTINEL_INIT: &str = r#"#!/bin/sh
# Writes @SENTINEL_CONF@ for Sentinel $POD_NAME of RedisCluster @NAMESPACE@/@NAME@ from
# the template next to this script. Sentinel rewrites its config file as it learns (the
# current primary, epochs, its peers) and cannot expand environment variables, so it
# runs from a writable copy on its own volume with the password (from the Secret)
# filled in. No Kubernetes object holds the password.
set -eu
template=@SENTINEL_CONFIG_DIR@/sentinel.conf
conf=@SENTINEL_CONF@
previous=/tmp/previous.conf
addresses=/tmp/addresses
: >"$previous"
: >"$addresses"
if [ -f "$conf" ]; then
    cp "$conf" "$previous"
fi
masters=$(awk '$1 == "sentinel" && $2 == "monitor" { print $3 }' "$template")

# Waits until $1 resolves, for at most $2 seconds (0: for ever). Sentinel must resolve a
# primary's name when it starts, or it saves the primary with an empty address.
resolves() {
    command -v getent >/dev/null || return 0
    waited=0
    until getent hosts "$1" >/dev/null; do
        if [ "$2" -gt 0 ] && [ "$waited" -ge "$2" ]; then
            return 1
        fi
        [ $((waited % 30)) -eq 0 ] && echo "waiting for $1 to resolve"
        sleep 2
        waited=$((waited + 2))
    done
}

# Where each primary is now: what the other Sentinels say (their Service lists only
# ready Sentinels, so never this one while it starts), else what this Sentinel knew
# before it restarted (kept in its volume), else the template's initial primary.
for master in $masters; do
    initial=$(awk -v m="$master" '$1 == "sentinel" && $2 == "monitor" && $3 == m { print $4 " " $5 }' "$template")
    reply=$(timeout 5 redis-cli -h @SENTINEL_SERVICE@ -p @SENTINEL_PORT@ --raw \
        SENTINEL get-master-addr-by-name "$master" 2>/dev/null) || reply=""
    host=$(printf '%s\n' "$reply" | sed -n 1p)
    port=$(printf '%s\n' "$reply" | sed -n 2p)
    case "$port" in
    '' | *[!0-9]*) address="" ;;
    *) address="$host $port" ;;
    esac
    if [ -z "$address" ]; then
        address=$(awk -v m="$master" '$1 == "sentinel" && $2 == "monitor" && $3 == m && NF == 6 && $5 ~ /^[0-9]+$/ { print $4 " " $5 }' "$previous")
    fi
    if [ -z "$address" ]; then
        address="$initial"
    fi
    if ! resolves "${address% *}" 120; then
        echo "${address% *} does not resolve; watching the initial primary of $master instead"
        address="$initial"
        resolves "${address% *}" 0
    fi
    echo "$master $address" >>"$addresses"
done
# The password quoted for Redis's config parser: backslashes and double quotes escaped.
password=$(printf '%s' "$REDIS_PASSWORD" | sed 's/[\\"]/\\&/g')
{
    awk -v previous="$previous" -v addresses="$addresses" -v self="$POD_NAME.@DOMAIN@" '
        BEGIN {
            while ((getline line < addresses) > 0) {
                split(line, f, " ")
                host[f[1]] = f[2]
                port[f[1]] = f[3]
            }
            # What this Sentinel learned before it restarted: keeping its id and epochs
            # spares its peers a stale duplicate of it.
            while ((getline line < previous) > 0) {
                split(line, f, " ")
                if (f[1] != "sentinel") continue
                if (f[2] == "myid" || f[2] == "current-epoch") {
                    kept[++kept_n] = line
                } else if (f[2] == "config-epoch" || f[2] == "leader-epoch" || f[2] == "known-replica" || f[2] == "known-sentinel") {
                    learned[++learned_n] = line
                    learned_master[learned_n] = f[3]
                }
            }
        }
        $1 == "sentinel" && $2 == "monitor" {
            monitored[$3] = 1
            if ($3 in host) { $4 = host[$3]; $5 = port[$3] }
        }
        { print }
        END {
            for (i = 1; i <= kept_n; i++) print kept[i]
            for (i = 1; i <= learned_n; i++) if (learned_master[i] in monitored) print learned[i]
            print "sentinel announce-ip " self
            print "sentinel announce-port @SENTINEL_PORT@"
        }
    ' "$template"
    printf 'requirepass "%s"\n' "$password"
    printf 'sentinel sentinel-pass "%s"\n' "$password"
    for master in $masters; do
        printf 'sentinel auth-pass %s "%s"\n' "$master" "$password"
    done
} >"$conf.new"
mv "$conf.new" "$conf"
echo "wrote $conf for: $masters"
"#;

/// The Sentinels' init container: the writable sentinel.conf from the template.
pub fn sentinel_init_script(redis: &Redis) -> String {
    let domain = format!(
        "{}.{}.svc.cluster.local",
        redis.sentinel_headless(),
        redis.namespace
    );
    fill(
        SENTINEL_INIT,
        &[
            ("@SENTINEL_CONFIG_DIR@", SENTINEL_CONFIG_DIR),
            ("@SENTINEL_CONF@", SENTINEL_CONF),
            ("@SENTINEL_SERVICE@", redis.sentinel_name().as_str()),
            ("@SENTINEL_PORT@", SENTINEL_PORT.to_string().as_str()),
            ("@NAMESPACE@", redis.namespace),
            ("@NAME@", redis.name),
            ("@DOMAIN@", domain.as_str()),
        ],
    )
}

const BACKUP: &str = r#"#!/bin/sh
# Backup of RedisCluster @NAMESPACE@/@NAME@: backup.sh hourly|daily KEEP.
# Saves an RDB snapshot of every primary with `redis-cli --rdb` (REDISCLI_AUTH, from the
# Secret, authenticates) into @BACKUP_DIR@/<kind>/<UTC time>/ and keeps the newest KEEP.
set -eu
kind=$1
keep=$2
dir="@BACKUP_DIR@/$kind/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$dir"
saved=0
i=0
while [ "$i" -lt @PODS@ ]; do
    pod="@NAME@-$i"
    host="$pod.@DOMAIN@"
    role=$(timeout 10 redis-cli -h "$host" -p @PORT@ --raw ROLE 2>/dev/null | head -n 1) || role=""
    case "$role" in
    master)
        if redis-cli -h "$host" -p @PORT@ --rdb "$dir/$pod.rdb" >/dev/null; then
            saved=$((saved + 1))
@AFTER_SAVE@        else
            echo "$pod: the snapshot failed"
        fi
        ;;
    slave) ;;
    *) echo "$pod: no answer${role:+ ($role)}" ;;
    esac
    i=$((i + 1))
done
if [ "$saved" -lt @PRIMARIES@ ]; then
    echo "saved $saved of @PRIMARIES@ primaries; the partial snapshot is kept as $dir.incomplete"
    mv "$dir" "$dir.incomplete"
    exit 1
fi
echo "saved $saved primaries to $dir"
# Keep the newest $keep complete snapshots; drop incomplete ones now there is a newer one.
printf '%s\n' "@BACKUP_DIR@/$kind/"*Z | sort -r | tail -n +"$((keep + 1))" |
    while read -r old; do
        rm -rf "$old"
    done
rm -rf "@BACKUP_DIR@/$kind/"*.incomplete
"#;

const AFTER_SAVE_CLUSTER: &str = r#"            # Which node served which slots, for a restore.
            if [ ! -f "$dir/nodes.txt" ]; then
                redis-cli -h "$host" -p @PORT@ CLUSTER NODES >"$dir/nodes.txt"
            fi
"#;

/// The backup jobs' script: a snapshot of each primary, found by asking every server
/// pod its role (so it follows failovers in both topologies).
pub fn backup_script(redis: &Redis) -> String {
    let primaries = if redis.is_cluster() {
        redis.spec.masters()
    } else {
        1
    };
    let after = if redis.is_cluster() {
        AFTER_SAVE_CLUSTER
    } else {
        ""
    };
    let script = fill(BACKUP, &[("@AFTER_SAVE@", after)]);
    fill(
        &script,
        &[
            ("@NAMESPACE@", redis.namespace),
            ("@NAME@", redis.name),
            ("@BACKUP_DIR@", BACKUP_DIR),
            ("@DOMAIN@", redis.pod_domain().as_str()),
            ("@PODS@", redis.spec.server_pods().to_string().as_str()),
            ("@PRIMARIES@", primaries.to_string().as_str()),
            ("@PORT@", REDIS_PORT.to_string().as_str()),
        ],
    )
}
