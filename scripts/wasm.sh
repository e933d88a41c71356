#!/usr/bin/env bash
# leap0-core in a WASM host, proven: builds leap0-core for wasm32-unknown-unknown
# (with and without default features), runs its unit and integration tests on
# wasm32-wasip1 under Node's node:wasi, builds examples/wasm-host (a
# wasm32-unknown-unknown module with a JSON ABI) and runs its Node host against
# the emulator on loopback.
#
#   scripts/wasm.sh                 everything
#   scripts/wasm.sh --host-example  only the examples/wasm-host module and its host
#
# Toolchain, all from Debian's packages (installed here when missing, as root):
# rustc-web/cargo-web/rust-web-src (Rust 1.96 with std's sources, built with
# -Zbuild-std under RUSTC_BOOTSTRAP=1: no prebuilt std for wasm is fetched),
# wasi-libc, lld-22 (wasm-ld-22), llvm-22 (llc-22). Node 20 or later is needed
# (node:wasi and fetch). The rustup toolchain on PATH is left alone: Debian's
# cargo and rustc are called by path, and builds go to target/wasm so the
# workspace's own cache is untouched. A cold run takes several minutes on 2 cores
# (std is compiled twice: once per wasm target).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

host_only=false
case "${1:-}" in
    "") ;;
    --host-example) host_only=true ;;
    *)
        echo "usage: scripts/wasm.sh [--host-example]" >&2
        exit 2
        ;;
esac

section() { printf '== %s\n' "$*"; }
elapsed() { printf '%ds' "$((SECONDS - $1))"; }

# ---- the toolchain -------------------------------------------------------------
section "toolchain (Debian packages)"
packages=(rustc-web cargo-web rust-web-src wasi-libc lld-22 llvm-22)
command -v node >/dev/null || packages+=(nodejs)
missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$package")
    fi
done
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    if [[ $(id -u) != 0 ]]; then
        echo "scripts/wasm.sh: run as root, or install these Debian packages first: ${missing[*]}" >&2
        exit 1
    fi
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if ((node_major < 20)); then
    echo "scripts/wasm.sh: Node $(node --version) is too old: node:wasi with version 'preview1' needs Node 20 or later" >&2
    exit 1
fi
/usr/bin/rustc --version
echo "node $(node --version), $(wasm-ld-22 --version | head -1)"

# Debian's wasi-libc (2022) lacks pthread_join and pthread_detach, which std 1.96
# links on wasm32-wasip1: a two-function stub object stands in (they answer ENOTSUP;
# no thread can be created there anyway).
stubs=$root/target/wasm/pthread-stubs.o
mkdir -p "$root/target/wasm"
if [[ ! -f $stubs || $root/scripts/wasm/pthread-stubs.ll -nt $stubs ]]; then
    llc-22 -filetype=obj "$root/scripts/wasm/pthread-stubs.ll" -o "$stubs"
fi

# Debian's cargo and rustc, by path, with their settings; never exported, so the
# rustup cargo used for the emulator below sees none of this.
wasm_cargo() {
    env RUSTC=/usr/bin/rustc \
        RUSTDOC=/usr/bin/rustdoc \
        RUSTC_BOOTSTRAP=1 \
        CARGO_TARGET_DIR="$root/target/wasm" \
        CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-22 \
        CARGO_TARGET_WASM32_WASIP1_LINKER=wasm-ld-22 \
        CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS="-C link-self-contained=no -L native=/usr/lib/wasm32-wasi -C link-arg=/usr/lib/wasm32-wasi/crt1-command.o -C link-arg=$stubs" \
        CARGO_TARGET_WASM32_WASIP1_RUNNER="node --no-warnings $root/scripts/wasi-run.mjs" \
        /usr/bin/cargo "$@"
}
build_std=(-Zbuild-std=std,panic_abort)
host_manifest=(--manifest-path "$root/examples/wasm-host/Cargo.toml")
unknown=$root/target/wasm/wasm32-unknown-unknown/release
size() { stat -c %s "$1"; }
# The rlib cargo reports for leap0-core in its JSON messages (fresh or rebuilt).
core_rlib() {
    node -e '
        let out = "";
        for (const line of require("fs").readFileSync(0, "utf8").split("\n")) {
            if (!line.startsWith("{")) continue;
            const m = JSON.parse(line);
            if (m.reason === "compiler-artifact" && m.target?.name === "leap0_core")
                out = m.filenames.find((f) => f.endsWith(".rlib")) ?? out;
        }
        console.log(out);'
}

# ---- leap0-core for wasm32-unknown-unknown -------------------------------------
# Built inside the example's workspace (leap0-core is its path dependency), so it
# shares that workspace's release profile and with it one build of std.
if ! $host_only; then
    section "leap0-core for wasm32-unknown-unknown, default features"
    start=$SECONDS
    # Cargo takes features only for its workspace's members: the example's `tracing`
    # feature turns on leap0-core's default feature, so this builds (and links) the
    # example module over leap0-core with its default features.
    default_rlib=$(wasm_cargo build "${host_manifest[@]}" --features tracing \
        --target wasm32-unknown-unknown --release "${build_std[@]}" \
        --message-format=json-render-diagnostics | core_rlib)
    traced_module_size=$(size "$unknown/leap0_wasm_host.wasm")
    default_size=$(size "$default_rlib")
    echo "built in $(elapsed "$start")"

    section "leap0-core for wasm32-unknown-unknown, --no-default-features"
    start=$SECONDS
    bare_rlib=$(wasm_cargo build "${host_manifest[@]}" -p leap0-core \
        --target wasm32-unknown-unknown --release "${build_std[@]}" \
        --message-format=json-render-diagnostics | core_rlib)
    bare_size=$(size "$bare_rlib")
    echo "built in $(elapsed "$start")"
fi

# ---- the example module ----------------------------------------------------------
section "examples/wasm-host for wasm32-unknown-unknown"
start=$SECONDS
wasm_cargo build -q "${host_manifest[@]}" --target wasm32-unknown-unknown --release "${build_std[@]}"
module=$unknown/leap0_wasm_host.wasm
echo "built in $(elapsed "$start")"

# ---- leap0-core's tests on wasm32-wasip1 under node:wasi -------------------------
if ! $host_only; then
    section "leap0-core's tests (lib and core/tests) on wasm32-wasip1 under node:wasi"
    start=$SECONDS
    log=$root/target/wasm/wasip1-tests.log
    # Doc tests are not run: rustdoc cannot run them for another target on this
    # toolchain without -Zdoctest-xcompile and a runner of its own; they run on the host.
    if ! wasm_cargo test -p leap0-core --target wasm32-wasip1 --release "${build_std[@]}" \
        --lib --tests 2>&1 | tee "$log" | grep -E '^(test result|     Running|error|failures:)'; then
        echo "scripts/wasm.sh: leap0-core's tests failed on wasm32-wasip1 (full log: $log)" >&2
        exit 1
    fi
    wasi_passed=$(awk '/^test result:/ { for (i = 1; i <= NF; i++) if ($(i + 1) ~ /^passed/) n += $i } END { print n + 0 }' "$log")
    wasi_failed=$(awk '/^test result:/ { for (i = 1; i <= NF; i++) if ($(i + 1) ~ /^failed/) n += $i } END { print n + 0 }' "$log")
    wasi_binaries=$(grep -c '^test result:' "$log" || true)
    echo "ran in $(elapsed "$start")"
fi

# ---- the host example against the emulator ---------------------------------------
section "examples/wasm-host/host.mjs against the emulator"
start=$SECONDS
cargo build -q -p leap0-emulator
LEAP0_EMULATOR_BIN=$root/target/debug/leap0-emulator node "$root/examples/wasm-host/host.mjs" "$module"
echo "ran in $(elapsed "$start")"

# ---- summary ------------------------------------------------------------------------
section "summary"
if ! $host_only; then
    echo "leap0-core rlib, wasm32-unknown-unknown: $default_size bytes (default features), $bare_size bytes (--no-default-features)"
    echo "examples/wasm-host module with leap0-core's default features (tracing): $traced_module_size bytes"
    echo "leap0-core tests on wasm32-wasip1: $wasi_passed passed, $wasi_failed failed, in $wasi_binaries test binaries"
fi
echo "examples/wasm-host module: $(size "$module") bytes ($module)"
if ! $host_only; then
    echo "wasm: $wasi_passed passed, $wasi_failed failed"
fi
