// A WASM host for leap0-core: loads the module built from this folder (see
// README.md), owns the network (`fetch`) and the timers (`setTimeout`), and runs
// create snapshot, pause into a snapshot, resume-and-wait, list, delete against
// the leap0 emulator on loopback, checking every result. Exits non-zero on any
// mismatch.
//
//   node examples/wasm-host/host.mjs [MODULE.wasm]
//
// MODULE.wasm defaults to target/wasm/wasm32-unknown-unknown/release/leap0_wasm_host.wasm.
// The emulator is LEAP0_EMULATOR_BIN if set, else `cargo run -q -p leap0-emulator`
// (started here on a free port and stopped at the end).
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { dirname, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import process from "node:process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const modulePath =
  process.argv[2] ??
  resolve(root, "target/wasm/wasm32-unknown-unknown/release/leap0_wasm_host.wasm");
const API_KEY = "wasm-host-key";

// ---- the module and its ABI (documented in src/lib.rs) ----------------------

class Leap0Module {
  static async load(path) {
    const { instance } = await WebAssembly.instantiate(await readFile(path), {});
    return new Leap0Module(instance.exports);
  }

  constructor(exports) {
    this.x = exports;
    this.encoder = new TextEncoder();
    this.decoder = new TextDecoder();
  }

  // Copies bytes into module memory for the length of `f`, then frees them.
  withBytes(bytes, f) {
    const ptr = this.x.alloc(bytes.length);
    if (ptr === 0 && bytes.length > 0) throw new Error("module out of memory");
    // A fresh view each time: memory may have grown (and detached old views).
    new Uint8Array(this.x.memory.buffer, ptr, bytes.length).set(bytes);
    try {
      return f(ptr, bytes.length);
    } finally {
      this.x.dealloc(ptr, bytes.length);
    }
  }

  withJson(value, f) {
    return this.withBytes(this.encoder.encode(JSON.stringify(value)), f);
  }

  // Reads the length-prefixed JSON answer at `ptr` (owned by the module).
  read(ptr) {
    const view = new DataView(this.x.memory.buffer);
    const len = view.getUint32(ptr, true);
    const text = this.decoder.decode(new Uint8Array(this.x.memory.buffer, ptr + 4, len));
    return JSON.parse(text);
  }

  // Calls an export that answers `{}` or `{"error": ...}`; throws on the latter.
  checked(ptr, what) {
    const out = this.read(ptr);
    if (out.error) throw new Error(`${what}: ${out.error.message}`);
    return out;
  }

  start(config, call) {
    const out = this.withJson({ config, call }, (p, n) => this.read(this.x.start(p, n)));
    if (out.error) throw new Error(`start: ${out.error.message}`);
    return out.machine;
  }

  poll(id, now) {
    return this.read(this.x.poll(id, now));
  }

  respond(id, now, status, headers, body) {
    return this.withJson(headers, (hp, hn) =>
      this.withBytes(body, (bp, bn) =>
        this.checked(this.x.respond(id, now, status, hp, hn, bp, bn), "respond"),
      ),
    );
  }

  fail(id, now, error) {
    return this.withJson(error, (p, n) => this.checked(this.x.fail(id, now, p, n), "fail"));
  }
}

// ---- the host's side: network and timers -------------------------------------

const now = () => performance.now();
const sleepUntil = (at) => new Promise((ok) => setTimeout(ok, Math.max(0, at - now())));

// Sends one request; resolves to the module's `respond` or `fail` arguments.
async function send({ method, url, headers, body, timeout_ms }) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), Math.min(timeout_ms, 2 ** 31 - 1));
  let sent = false;
  try {
    const response = await fetch(url, {
      method,
      headers,
      body: body ?? undefined,
      signal: controller.signal,
    });
    sent = true;
    const bytes = new Uint8Array(await response.arrayBuffer());
    return { status: response.status, headers: [...response.headers], body: bytes };
  } catch (err) {
    // fetch reports a refused connection as a TypeError whose cause has a code.
    const code = err?.cause?.code ?? "";
    const kind = controller.signal.aborted
      ? "timeout"
      : code === "ECONNREFUSED" || code === "ENOTFOUND"
        ? "connect"
        : sent || code === "ECONNRESET" || code === "UND_ERR_SOCKET"
          ? "reset"
          : "other";
    return {
      error: {
        kind,
        may_have_been_sent: kind !== "connect",
        message: `${err?.message ?? err}${code ? ` (${code})` : ""}`,
      },
    };
  } finally {
    clearTimeout(timer);
  }
}

// Drives one call's machine to the end; resolves to `{ok}` or `{error}`.
async function run(module, config, call) {
  const id = module.start(config, call);
  for (;;) {
    const action = module.poll(id, now());
    if (action.send) {
      const answer = await send(action.send);
      if (answer.error) module.fail(id, now(), answer.error);
      else module.respond(id, now(), answer.status, answer.headers, answer.body);
    } else if (action.wait_until !== undefined) {
      await sleepUntil(action.wait_until);
    } else if (action.done) {
      return action.done;
    } else if (action === "awaiting") {
      throw new Error("the machine awaits an answer this host already delivered");
    } else if (action.error) {
      throw new Error(`poll: ${action.error.message}`);
    } else {
      throw new Error(`unknown action ${JSON.stringify(action)}`);
    }
  }
}

// ---- the emulator ----------------------------------------------------------

function startEmulator() {
  const args = ["--port", "0", "--api-key", API_KEY];
  const child = process.env.LEAP0_EMULATOR_BIN
    ? spawn(process.env.LEAP0_EMULATOR_BIN, args, { stdio: ["ignore", "pipe", "inherit"] })
    : spawn("cargo", ["run", "-q", "-p", "leap0-emulator", "--", ...args], {
        cwd: root,
        stdio: ["ignore", "pipe", "inherit"],
      });
  return new Promise((ok, fail) => {
    const lines = createInterface({ input: child.stdout });
    // The first line is "leap0 emulator listening on http://127.0.0.1:PORT".
    lines.once("line", (line) => {
      const url = line.match(/listening on (\S+)/)?.[1];
      if (url) ok({ url, stop: () => child.kill() });
      else fail(new Error(`unexpected emulator banner: ${line}`));
    });
    child.once("exit", (code) => fail(new Error(`the emulator exited (${code}) before listening`)));
    child.once("error", fail);
  });
}

// A loopback port nothing listens on: one the system just handed out and took back.
function closedPort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

// ---- the scenario --------------------------------------------------------------

let failures = 0;
function check(what, ok, detail) {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}${ok ? "" : `: ${JSON.stringify(detail)}`}`);
  if (!ok) failures += 1;
}

async function main() {
  const module = await Leap0Module.load(modulePath);
  const emulator = await startEmulator();
  try {
    const config = {
      api_key: API_KEY,
      base_url: emulator.url,
      wait_interval_ms: 50,
      timeout_ms: 10_000,
    };
    const sandbox = "sb-seed-1"; // the emulator's running seed sandbox
    const call = (name, inputs) => run(module, config, { call: name, inputs });

    const created = await call("create_snapshot", { sandbox_id: sandbox, name: "wasm-warm" });
    check("create_snapshot", created.ok?.name === "wasm-warm" && !!created.ok?.id, created);

    const paused = await call("pause_into_snapshot", { sandbox_id: sandbox, name: "wasm-paused" });
    check("pause_into_snapshot", paused.ok?.name === "wasm-paused" && !!paused.ok?.id, paused);

    const resumed = await call("resume_and_wait", { snapshot_name: "wasm-paused" });
    check(
      "resume_and_wait",
      resumed.ok?.state === "running" && !!resumed.ok?.id && resumed.ok.id !== sandbox,
      resumed,
    );

    const listed = await call("list_all_snapshots", {});
    const names = (listed.ok?.items ?? []).map((s) => s.name).sort();
    check(
      "list_all_snapshots",
      names.includes("wasm-warm") && names.includes("wasm-paused"),
      listed,
    );

    const deleted = await call("delete_snapshot", { snapshot_id: created.ok?.id });
    check("delete_snapshot", deleted.ok === "deleted", deleted);

    const after = await call("list_all_snapshots", {});
    const left = (after.ok?.items ?? []).map((s) => s.name);
    check("deleted snapshot is gone", !!after.ok && !left.includes("wasm-warm"), after);

    // An API error travels back as data, typed.
    const missing = await call("create_snapshot", { sandbox_id: "sb-nope" });
    check(
      "create_snapshot on a missing sandbox is not_found",
      missing.error?.kind === "not_found" && missing.error?.status === 404,
      missing,
    );

    // A transport failure too: nothing listens on a port just closed. Connect
    // failures are retried (the request never left), then reported.
    const dead = await run(
      module,
      { ...config, base_url: `http://127.0.0.1:${await closedPort()}` },
      { call: "delete_snapshot", inputs: { snapshot_id: "snap-x" } },
    );
    check("an unreachable server is a connect error", dead.error?.kind === "connect", dead);
  } finally {
    emulator.stop();
  }
  console.log(`wasm-host: ${8 - failures} passed, ${failures} failed`);
  process.exitCode = failures === 0 ? 0 : 1;
}

main().catch((err) => {
  console.error(`wasm-host: ${err.stack ?? err}`);
  process.exitCode = 1;
});
