/**
 * The one lock helper across real processes: a child Node process (the lock module bundled
 * with esbuild, as tsm's own bundle has it) takes a lock, then is stopped, killed or told to
 * let go. Assertions are about who got the lock and what was said, never about how fast;
 * the budgets are generous so that a loaded machine cannot make them flake.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdir, readFile, readdir, utimes, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { redactCommand, withLock } from "../../../src/store/lock.js";
import { ROOT, tempDir } from "../../helpers/cli.js";

let bundleDir: string;
let removeBundle: () => Promise<void>;
let bundle: string;

beforeAll(async () => {
  ({ dir: bundleDir, cleanup: removeBundle } = await tempDir("tsm-lock-bundle-"));
  bundle = path.join(bundleDir, "lock.cjs");
  const { build } = await import("esbuild");
  await build({
    entryPoints: [path.join(ROOT, "src/store/lock.ts")],
    outfile: bundle,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    logLevel: "silent",
  });
});
afterAll(() => removeBundle());

let dir: string;
let cleanup: () => Promise<void>;
const children: ChildProcessWithoutNullStreams[] = [];
beforeEach(async () => ({ dir, cleanup } = await tempDir("tsm-lock-")));
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill("SIGCONT");
      c.kill("SIGKILL");
    }
  }
  await cleanup();
});

interface Holder {
  child: ChildProcessWithoutNullStreams;
  pid: number;
  /** Lets the holder's function return: it releases the lock and exits. */
  release(): void;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** A child process that holds `name` in `dir` (as `command`) until released. */
function holdLock(name: string, command = "tsm create x"): Promise<Holder> {
  const script = `
    const m = require(${JSON.stringify(bundle)});
    const [dir, name, command] = JSON.parse(process.env.LOCK_ARGS);
    m.withLock(dir, name, () => new Promise((resolve) => {
      process.stdout.write("held\\n");
      process.stdin.once("data", () => resolve());
    }), { command, waitMs: 30000 }).then(
      () => { process.stdout.write("released\\n"); process.exit(0); },
      (e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
  `;
  const child = spawn(process.execPath, ["-e", script], {
    env: { ...process.env, LOCK_ARGS: JSON.stringify([dir, name, command]) },
    stdio: ["pipe", "pipe", "pipe"],
  });
  children.push(child);
  let stdout = "";
  let stderr = "";
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return new Promise((resolve, reject) => {
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      if (stdout.startsWith("held\n")) resolve({ child, pid: child.pid!, release: () => child.stdin.write("go\n"), exited });
    });
    void exited.then((r) => reject(new Error(`the holder exited before holding the lock: ${r.stderr}`)));
  });
}

const lockFile = (name: string) => path.join(dir, `${name}.lock`);

describe("withLock across processes", () => {
  it("never takes the lock of a live holder, even one stopped for longer than any stale timeout (issue 11, defect 2)", async () => {
    const holder = await holdLock("machine-x");
    holder.child.kill("SIGSTOP");
    let ran = false;
    const err = await withLock(dir, "machine-x", async () => void (ran = true), { waitMs: 15_000, what: 'the lock of machine "x"' }).catch((e: unknown) => e);
    expect(ran).toBe(false);
    expect(err).toMatchObject({ code: "LOCKED" });
    expect((err as Error).message).toContain(`waiting for the lock of machine "x", held by tsm create x (pid ${holder.pid})`);
    // Woken up, the holder still owns its lock: it finishes cleanly, no ECOMPROMISED crash.
    holder.child.kill("SIGCONT");
    holder.release();
    const done = await holder.exited;
    expect(done.stderr).toBe("");
    expect(done.code).toBe(0);
    expect(await readdir(dir)).toEqual([]);
  }, 60_000);

  it("takes the lock of a SIGKILLed holder at once (issue 11, defects 2 and 3)", async () => {
    const holder = await holdLock("machine-x");
    holder.child.kill("SIGKILL");
    expect((await holder.exited).signal).toBe("SIGKILL");
    let ran = false;
    // 5 s is far less than the 10 s after which the old mtime rule called a lock stale.
    await withLock(dir, "machine-x", async () => void (ran = true), { waitMs: 5_000 });
    expect(ran).toBe(true);
    expect(await readdir(dir)).toEqual([]);
  });

  it.runIf(process.platform === "linux")("takes a lock whose pid now belongs to another process (a reused pid)", async () => {
    const holder = await holdLock("machine-x");
    holder.child.kill("SIGKILL");
    await holder.exited;
    // The dead holder's pid is given to a live process (this one): its start time differs.
    const recorded = JSON.parse(await readFile(lockFile("machine-x"), "utf8")) as { pid: number };
    await writeFile(lockFile("machine-x"), JSON.stringify({ ...recorded, pid: process.pid }));
    let ran = false;
    await withLock(dir, "machine-x", async () => void (ran = true), { waitMs: 5_000 });
    expect(ran).toBe(true);
  });

  it("never takes a lock held from another host (a store shared over the network), and says why", async () => {
    const holder = await holdLock("machine-x");
    holder.child.kill("SIGKILL");
    await holder.exited;
    const recorded = JSON.parse(await readFile(lockFile("machine-x"), "utf8")) as Record<string, unknown>;
    await writeFile(lockFile("machine-x"), JSON.stringify({ ...recorded, host: "elsewhere.example" }));
    let ran = false;
    const err = await withLock(dir, "machine-x", async () => void (ran = true), { waitMs: 1_500, what: 'the lock of machine "x"' }).catch((e: unknown) => e);
    expect(ran).toBe(false);
    expect(err).toMatchObject({ code: "LOCKED" });
    const message = (err as Error).message;
    expect(message).toContain(`held by tsm create x (pid ${holder.pid} on host elsewhere.example)`);
    expect(message).toContain("never takes over a lock held on another host");
    expect(message).toContain(lockFile("machine-x"));
    expect(os.hostname()).not.toBe("elsewhere.example");
  });

  it("tells a waiter, after a second, what it waits for and who holds it (issue 11, defect 3)", async () => {
    const holder = await holdLock("machine-x");
    const told: { message: string; afterMs: number }[] = [];
    const started = Date.now();
    let ran = false;
    await withLock(dir, "machine-x", async () => void (ran = true), {
      waitMs: 30_000,
      what: 'the lock of machine "x"',
      onWait: (wait) => {
        told.push({ message: wait.message, afterMs: Date.now() - started });
        holder.release();
      },
    });
    expect(ran).toBe(true);
    expect(told.map((t) => t.message)).toEqual([`Waiting for the lock of machine "x", held by tsm create x (pid ${holder.pid})...`]);
    expect(told[0]!.afterMs).toBeGreaterThanOrEqual(900);
    expect((await holder.exited).code).toBe(0);
  });

  it("says nothing when the lock comes free within the second", async () => {
    const holder = await holdLock("machine-x");
    setTimeout(() => holder.release(), 100);
    const told: string[] = [];
    await withLock(dir, "machine-x", async () => undefined, { onWait: (w) => void told.push(w.message) });
    expect(told).toEqual([]);
  });

  it("keeps mutual exclusion among processes that race for a dead holder's lock", async () => {
    const holder = await holdLock("machine-x");
    holder.child.kill("SIGKILL");
    await holder.exited;
    const counter = path.join(dir, "counter");
    await writeFile(counter, "0");
    const script = `
      const fs = require("node:fs");
      const m = require(${JSON.stringify(bundle)});
      const [dir, counter] = JSON.parse(process.env.LOCK_ARGS);
      (async () => {
        for (let i = 0; i < 15; i++) {
          await m.withLock(dir, "machine-x", async () => {
            const n = Number(fs.readFileSync(counter, "utf8"));
            await new Promise((r) => setTimeout(r, 2));
            fs.writeFileSync(counter, String(n + 1));
          }, { waitMs: 60000 });
        }
      })().then(() => process.exit(0), (e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
    `;
    const runs = Array.from({ length: 4 }, () => {
      const child = spawn(process.execPath, ["-e", script], { env: { ...process.env, LOCK_ARGS: JSON.stringify([dir, counter]) } });
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      return new Promise<{ code: number | null; stderr: string }>((resolve) => child.on("close", (code) => resolve({ code, stderr })));
    });
    const results = await Promise.all(runs);
    for (const r of results) expect(r, r.stderr).toEqual({ code: 0, stderr: "" });
    expect(await readFile(counter, "utf8")).toBe("60");
    expect((await readdir(dir)).sort()).toEqual(["counter"]);
  }, 60_000);
});

describe("lock file names", () => {
  it("stay within the 255-byte file-name limit, however long the lock's name (issue 11, defect 7)", async () => {
    const long = `machine-${"a".repeat(300)}`;
    const seen: string[] = [];
    await withLock(dir, long, async () => void seen.push(...(await readdir(dir))));
    expect(seen).toHaveLength(1);
    expect(Buffer.byteLength(seen[0]!)).toBeLessThanOrEqual(120);
    expect(seen[0]).toMatch(/^machine-a+-[0-9a-f]{32}\.lock$/);
    // Two long names that share their beginning are two locks.
    const other = `machine-${"a".repeat(299)}b`;
    await withLock(dir, long, async () => {
      await withLock(dir, other, async () => expect(await readdir(dir)).toHaveLength(2), { waitMs: 1_000 });
    });
    expect(await readdir(dir)).toEqual([]);
  });

  it("keep a short plain name as it is", async () => {
    await withLock(dir, "machine-dev", async () => expect(await readdir(dir)).toEqual(["machine-dev.lock"]));
  });
});

describe("withLock and locks left by older tsm versions (proper-lockfile directories)", () => {
  it("takes one whose holder stopped refreshing it, and waits for a fresh one", async () => {
    await mkdir(lockFile("store"));
    const old = new Date(Date.now() - 60_000);
    await utimes(lockFile("store"), old, old);
    let ran = false;
    await withLock(dir, "store", async () => void (ran = true), { waitMs: 5_000 });
    expect(ran).toBe(true);
    await mkdir(lockFile("store"));
    const err = await withLock(dir, "store", async () => undefined, { waitMs: 300 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "LOCKED" });
  });
});

describe("the command line a lock records", () => {
  it("carries no credentials and stays one short line", () => {
    expect(redactCommand("tsm create -d none --url tcp://h:2376 x")).toBe("tsm create -d none --url tcp://h:2376 x");
    expect(redactCommand("tsm create --engine-env HTTP_PROXY=http://user:pw@proxy:3128 --engine-env API_TOKEN=abc x")).toBe(
      "tsm create --engine-env HTTP_PROXY=http://***@proxy:3128 --engine-env API_TOKEN=*** x",
    );
    expect(redactCommand("tsm\ncreate\tx")).toBe("tsm create x");
    const long = redactCommand(`tsm create ${"a".repeat(300)}`);
    expect(long).toHaveLength(160);
    expect(long.endsWith("…")).toBe(true);
  });
});
