# shellcheck shell=bash
# Helpers shared by examples/run-demo, tests/run-all and the benchmark. Source it; it
# defines functions and STRATA_* variables and changes nothing else.

STRATA_REPO="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
STRATA_CACHE="${STRATA_CACHE:-$HOME/.cache/strata}"
STRATA_VENV="$STRATA_CACHE/venv"
export STRATA_CACHE

# A progress line: what the script is doing now.
strata_step() {
  printf '\n==> %s\n' "$*"
}

strata_die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# cargo's target directory (honours CARGO_TARGET_DIR and .cargo/config.toml).
strata_target_dir() {
  (cd "$STRATA_REPO" && cargo metadata --no-deps --format-version 1) |
    "$STRATA_VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])'
}

# Build the provider; sets STRATA_PROVIDER_BIN to the binary. $1: "debug" or "release".
strata_build_provider() {
  local profile="${1:-debug}" flags=()
  [[ "$profile" == release ]] && flags=(--release)
  (cd "$STRATA_REPO" && cargo build -p terraform-provider-strata "${flags[@]}")
  STRATA_PROVIDER_BIN="$(strata_target_dir)/$profile/terraform-provider-strata"
  [[ -x "$STRATA_PROVIDER_BIN" ]] || strata_die "cargo built no $STRATA_PROVIDER_BIN"
}

# Copy the provider into plugin dir $2 and write a Terraform CLI configuration $1 whose
# dev_overrides make `strata/strata` that binary. $3: the binary.
strata_write_cli_config() {
  local config="$1" plugin_dir="$2" binary="$3"
  mkdir -p "$plugin_dir"
  cp "$binary" "$plugin_dir/terraform-provider-strata"
  cat >"$config" <<HCL
provider_installation {
  dev_overrides {
    "strata/strata" = "$plugin_dir"
  }
  direct {}
}
HCL
}

# Environment for running Terraform with the launcher and the dev_overrides config $1,
# against moto: dummy credentials, nothing from the host's AWS or Terraform settings.
strata_terraform_env() {
  export PATH="$STRATA_REPO/tests/bin:$PATH"
  export TF_CLI_CONFIG_FILE="$1"
  export CHECKPOINT_DISABLE=1
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
  export AWS_EC2_METADATA_DISABLED=true
  unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_REGION AWS_REGION
  unset TF_PLUGIN_CACHE_DIR TF_DATA_DIR TF_WORKSPACE
}

# Start moto on a free loopback port, logging to $1; sets MOTO_PID and MOTO_URL.
strata_start_moto() {
  local log="$1" port attempt
  for attempt in 1 2 3; do
    port="$("$STRATA_VENV/bin/python" -c \
      'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    # moto_ext.py is moto_server plus the EKS operations moto lacks (see its docstring).
    "$STRATA_VENV/bin/python" "$STRATA_REPO/tests/support/moto_ext.py" -H 127.0.0.1 -p "$port" \
      </dev/null >>"$log" 2>&1 &
    MOTO_PID=$!
    MOTO_URL="http://127.0.0.1:$port"
    if "$STRATA_VENV/bin/python" - "$MOTO_URL" "$MOTO_PID" <<'PY'; then
import os, sys, time, urllib.request
url, pid = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit(1)  # moto exited (port taken meanwhile?)
    try:
        urllib.request.urlopen(url + "/moto-api/", timeout=2)
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
PY
      return 0
    fi
    strata_stop_moto
    echo "moto did not start on port $port (attempt $attempt)" >&2
  done
  tail -n 30 "$log" >&2
  strata_die "could not start moto (log: $log)"
}

strata_stop_moto() {
  if [[ -n "${MOTO_PID:-}" ]]; then
    kill "$MOTO_PID" 2>/dev/null || true
    wait "$MOTO_PID" 2>/dev/null || true
    MOTO_PID=""
  fi
}
