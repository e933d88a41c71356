// Runs a wasm32-wasip1 program under Node's `node:wasi`: the cargo runner for
// `cargo test --target wasm32-wasip1` (CARGO_TARGET_WASM32_WASIP1_RUNNER, set by
// scripts/wasm.sh). Usage: node scripts/wasi-run.mjs PROGRAM.wasm [ARGS...]
//
// The program gets its arguments, the environment, and the current directory
// preopened under its own absolute path, so a test that reads
// `env!("CARGO_MANIFEST_DIR")/...` finds the files (cargo runs each test binary
// in its package's directory). Nothing else of the file system is visible.
import { readFile } from "node:fs/promises";
import process from "node:process";
import { WASI } from "node:wasi";

const [program, ...args] = process.argv.slice(2);
if (!program) {
  console.error("usage: node scripts/wasi-run.mjs PROGRAM.wasm [ARGS...]");
  process.exit(2);
}

const wasi = new WASI({
  version: "preview1",
  args: [program, ...args],
  env: process.env,
  preopens: { [process.cwd()]: process.cwd() },
  returnOnExit: true,
});
const module = await WebAssembly.compile(await readFile(program));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
