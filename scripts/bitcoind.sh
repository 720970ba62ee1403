#!/usr/bin/env bash
# Builds (or reuses) a real Bitcoin Core `bitcoind` for the test suite and prints its path.
#
# The source is the Bitcoin Core tree that the crates.io crate `libbitcoinkernel-sys` vendors under
# `bitcoin/` (a v31.99 development snapshot for 0.4.1). It is fetched through cargo, the only source
# registry these machines reach, so nothing of Core's is kept in this repository. The tree lacks
# `src/wallet`, `src/zmq` and the embedded ASN map; a regtest daemon needs none of them.
#
# Binaries are cached under ~/.cache/petrel/bitcoind-<crate version>/ (bin/bitcoind,
# bin/bitcoin-cli), so a second run on the same machine only checks the cache. A first run takes
# about 5 minutes on 2 cores. Progress goes to stderr; stdout is only the path of `bitcoind`.
#
# Environment:
#   PETREL_KERNEL_CRATE_VERSION  crate version to build from (default 0.4.1)
#   PETREL_CACHE_DIR             cache root (default ~/.cache/petrel)
#   JOBS                         parallel build jobs (default: number of cores)
set -euo pipefail

VERSION=${PETREL_KERNEL_CRATE_VERSION:-0.4.1}
CACHE_ROOT=${PETREL_CACHE_DIR:-$HOME/.cache/petrel}
PREFIX="$CACHE_ROOT/bitcoind-$VERSION"
BITCOIND="$PREFIX/bin/bitcoind"
CLI="$PREFIX/bin/bitcoin-cli"
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

log() { printf 'bitcoind.sh: %s\n' "$*" >&2; }

# A cached build is reused only if the daemon runs and reports a version.
if [[ -x "$BITCOIND" && -x "$CLI" ]] && "$BITCOIND" -version >/dev/null 2>&1; then
    log "reusing $("$BITCOIND" -version | head -n1) from $PREFIX"
    printf '%s\n' "$BITCOIND"
    exit 0
fi

# Debian build dependencies, installed only when missing (CI runs as root; elsewhere sudo).
need=()
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v c++ >/dev/null 2>&1 || need+=(g++)
command -v make >/dev/null 2>&1 || need+=(make)
[[ -e /usr/include/boost/version.hpp ]] || need+=(libboost-dev)
pkg-config --exists libevent 2>/dev/null || need+=(libevent-dev)
if ((${#need[@]})); then
    log "installing Debian packages: ${need[*]}"
    SUDO=()
    if [[ $(id -u) -ne 0 ]]; then SUDO=(sudo); fi
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get update -qq >&2
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/petrel-bitcoind.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# A throwaway manifest that depends on the crate: `cargo fetch` downloads and unpacks it into the
# cargo registry, and `cargo metadata` tells where.
mkdir -p "$WORK/fetch/src"
cat >"$WORK/fetch/Cargo.toml" <<EOF
[package]
name = "petrel-fetch-bitcoin-core"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
libbitcoinkernel-sys = "=$VERSION"
EOF
: >"$WORK/fetch/src/lib.rs"
log "fetching libbitcoinkernel-sys $VERSION through cargo"
cargo fetch --quiet --manifest-path "$WORK/fetch/Cargo.toml" >&2
MANIFEST=$(cargo metadata --format-version 1 --manifest-path "$WORK/fetch/Cargo.toml" |
    python3 -c '
import json, sys
meta = json.load(sys.stdin)
print(next(p["manifest_path"] for p in meta["packages"] if p["name"] == "libbitcoinkernel-sys"))
')
CRATE_DIR=$(dirname "$MANIFEST")
[[ -f "$CRATE_DIR/bitcoin/CMakeLists.txt" ]] || {
    log "no Bitcoin Core tree under $CRATE_DIR/bitcoin"
    exit 1
}

# The registry copy is read-only by convention: build in a copy.
log "copying the Core tree from $CRATE_DIR/bitcoin"
cp -r "$CRATE_DIR/bitcoin" "$WORK/bitcoin"
cd "$WORK/bitcoin"

# -O1 instead of Core's -O2 (CMAKE_CXX_FLAGS_RELEASE given on the command line is kept as is):
# about a minute less to build on 2 cores, and a test daemon needs no more speed. Assertions
# stay on, as in every Core build.
log "configuring (daemon and cli only: no wallet, zmq, ipc, gui, tests; -O1)"
cmake -B build -DBUILD_DAEMON=ON -DBUILD_BITCOIN_BIN=OFF -DENABLE_WALLET=OFF -DWITH_ZMQ=OFF \
    -DBUILD_TESTS=OFF -DBUILD_BENCH=OFF -DBUILD_GUI=OFF -DBUILD_CLI=ON -DBUILD_TX=OFF \
    -DBUILD_UTIL=OFF -DENABLE_IPC=OFF -DBUILD_KERNEL_LIB=OFF -DWITH_EMBEDDED_ASMAP=OFF \
    -DINSTALL_MAN=OFF -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE=-O1 >"$WORK/configure.log" 2>&1 || {
    cat "$WORK/configure.log" >&2
    exit 1
}

log "building bitcoind and bitcoin-cli with $JOBS jobs (about 5 minutes on 2 cores)"
cmake --build build -j"$JOBS" --target bitcoind bitcoin-cli >"$WORK/build.log" 2>&1 || {
    tail -n 100 "$WORK/build.log" >&2
    exit 1
}

# Install atomically: a half-copied cache must never look complete.
mkdir -p "$CACHE_ROOT"
STAGE=$(mktemp -d "$CACHE_ROOT/.bitcoind-$VERSION.XXXXXX")
mkdir -p "$STAGE/bin"
cp build/bin/bitcoind build/bin/bitcoin-cli "$STAGE/bin/"
strip "$STAGE/bin/bitcoind" "$STAGE/bin/bitcoin-cli" 2>/dev/null || true
rm -rf "$PREFIX"
mv "$STAGE" "$PREFIX"
log "built $("$BITCOIND" -version | head -n1) into $PREFIX"
printf '%s\n' "$BITCOIND"
