/**
 * Locks as a user meets them: another process holds a machine's lock or the store lock
 * (the lock module bundled and run by a child Node process, as a stalled or killed tsm
 * would leave it) while a real `tsm create` runs. Assertions are about what was printed
 * and who got the lock, not about timings.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { baseEnv, ROOT, runTsm, tempDir, TSM_BIN, type RunResult } from "../helpers/cli.js";

let bundleDir: string;
let removeBundle: () => Promise<void>;
let bundle: string;
beforeAll(async () => {
  ({ dir: bundleDir, cleanup: removeBundle } = await tempDir("tsm-lock-bundle-"));
  bundle = path.join(bundleDir, "lock.cjs");
  const { build } = await import("esbuild");
  await build({ entryPoints: [path.join(ROOT, "src/store/lock.ts")], outfile: bundle, bundle: true, platform: "node", target: "node20", format: "cjs", logLevel: "silent" });
});
afterAll(() => removeBundle());

let store: string;
let cleanup: () => Promise<void>;
const children: ChildProcessWithoutNullStreams[] = [];
beforeEach(async () => ({ dir: store, cleanup } = await tempDir()));
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await cleanup();
});

/** A process holding `<store>/locks/<name>.lock` as `command` would, until killed. */
function holdLock(name: string, command: string): Promise<{ pid: number; kill: () => Promise<void> }> {
  const script = `
    const m = require(${JSON.stringify(bundle)});
    const [dir, name, command] = JSON.parse(process.env.LOCK_ARGS);
    m.withLock(dir, name, () => new Promise(() => { process.stdout.write("held\\n"); setInterval(() => {}, 1000); }), { command })
      .catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
  `;
  const child = spawn(process.execPath, ["-e", script], { env: { ...process.env, LOCK_ARGS: JSON.stringify([path.join(store, "locks"), name, command]) } });
  children.push(child);
  const closed = new Promise<void>((resolve) => child.on("close", () => resolve()));
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.startsWith("held\n")) resolve({ pid: child.pid!, kill: () => (child.kill("SIGKILL"), closed) });
    });
    void closed.then(() => reject(new Error(`the holder exited: ${err}`)));
  });
}

/** Runs tsm; `onStderr` sees stderr as it grows. */
function runWatching(args: readonly string[], onStderr: (stderr: string, pid: number) => void): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TSM_BIN, ...args], { env: { ...baseEnv(), TSM_STORAGE_PATH: store }, cwd: ROOT });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
      onStderr(stderr, child.pid!);
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ stdout, stderr, exitCode: code ?? -1 }));
    child.stdin.end();
  });
}

const createArgs = (name: string) => ["create", "-d", "none", "--url", "tcp://127.0.0.1:2376", name];

describe("waiting for a lock (issue 11, defect 3)", () => {
  it("says, after a second, which machine's lock it waits for and who holds it; goes on once the holder dies", async () => {
    const holder = await holdLock("machine-x", "tsm create x");
    const message = `Waiting for the lock of machine "x", held by tsm create x (pid ${holder.pid})...`;
    let killed: Promise<void> | undefined;
    const r = await runWatching(createArgs("x"), (stderr) => {
      if (!killed && stderr.includes(message)) killed = holder.kill();
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr.split("\n").filter((l) => l.includes("Waiting for"))).toEqual([message]);
    expect(JSON.parse(await readFile(path.join(store, "machines", "x", "config.json"), "utf8")).name).toBe("x");
  });

  it("says so for the store lock too", async () => {
    const holder = await holdLock("store", "tsm regenerate-certs --client-certs -f y");
    const message = `Waiting for the store lock, held by tsm regenerate-certs --client-certs -f y (pid ${holder.pid})...`;
    let killed: Promise<void> | undefined;
    const r = await runWatching(createArgs("y"), (stderr) => {
      if (!killed && stderr.includes(message)) killed = holder.kill();
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(message);
  });

  it("takes a killed holder's lock without waiting or saying anything", async () => {
    const holder = await holdLock("machine-x", "tsm create x");
    await holder.kill();
    const r = await runTsm(store, createArgs("x"));
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).not.toContain("Waiting for");
  });
});

describe("a lock wait is interruptible (issue 11)", () => {
  for (const [sig, status] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    it(`${sig} while waiting for the store lock exits ${status} with one line naming the wait, before the holder lets go, leaving no lock of its own`, async () => {
      // The holder holds indefinitely: the waiter can only finish by being interrupted.
      const holder = await holdLock("store", "tsm regenerate-certs --client-certs -f y");
      let sent = false;
      let waiterPid = 0;
      const r = await runWatching(createArgs("y"), (stderr, pid) => {
        waiterPid = pid;
        if (!sent && stderr.includes("Waiting for the store lock")) {
          sent = true;
          process.kill(pid, sig);
        }
      });
      expect(sent, r.stderr).toBe(true);
      expect(r.exitCode, r.stderr).toBe(status);
      // One line: what it was waiting for and what is left.
      expect(r.stderr).toMatch(/^(Error: )?Interrupted while waiting for the store lock: nothing was created for "y"$/m);
      expect(r.stderr.split("\n").filter((l) => l.includes("Interrupted"))).toHaveLength(1);
      expect(r.stderr).not.toMatch(/forced|still running|at\s+\S+:\d+/i);
      // The holder still holds: the waiter stopped on its own, not because the lock came free.
      const lock = JSON.parse(await readFile(path.join(store, "locks", "store.lock"), "utf8")) as { pid: number };
      expect(lock.pid).toBe(holder.pid);
      expect(lock.pid).not.toBe(waiterPid);
      const left = (await readdir(path.join(store, "locks"))).filter((f) => f !== "store.lock");
      expect(left).toEqual([]);
    });
  }
});

describe("many lock waits at once (issue 11, defect 10)", () => {
  it("regenerate-certs over 12 machines whose locks are held waits for all of them without a MaxListeners warning", async () => {
    const names = Array.from({ length: 12 }, (_, i) => `m${i + 1}`);
    for (const n of names) expect((await runTsm(store, createArgs(n))).exitCode).toBe(0);
    const holders = await Promise.all(names.map((n) => holdLock(`machine-${n}`, `tsm create ${n}`)));
    let killed: Promise<unknown> | undefined;
    const r = await runWatching(["regenerate-certs", "-f", ...names], (stderr) => {
      // Every machine's wait has begun (each said so) before the holders go.
      if (!killed && names.every((n) => stderr.includes(`Waiting for the lock of machine "${n}"`))) killed = Promise.all(holders.map((h) => h.kill()));
    });
    expect(killed, r.stderr).toBeDefined();
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/MaxListeners|Warning: Possible/);
  });
});
