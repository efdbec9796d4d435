/**
 * Issue #4: the qemu driver on this machine (TCG unless /dev/kvm works).
 * - image cache miss vs hit: `ensureImage` (download + SHA-512 check + atomic store, or
 *   the checksum fetch alone) of the test bed's Debian cloud image from a local server;
 * - `tsm create -d qemu`: time to SSH ready (the guest's sshd answers its banner) and to
 *   engine ready (Docker answers over mutual TLS), from the progress lines' arrival;
 * - a second machine from the cached image: time until its disk overlay and seed are
 *   ready and QEMU is launched (goal < 2 s); those runs are interrupted there.
 * Skipped with the reason when QEMU or the VM test bed cannot run; BENCH_QEMU=0 skips it.
 */
import { spawn } from "node:child_process";
import { createReadStream, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

interface Marks {
  code: number;
  /** ms after spawn at which the first line matching each pattern arrived */
  at: Record<string, number>;
  stderr: string;
}

/** Runs tsm, timestamping stderr lines; `stopAt` interrupts (SIGINT) once that mark is seen. */
function runMarked(tsm: string, args: string[], env: Record<string, string>, patterns: Record<string, RegExp>, stopAt?: string): Promise<Marks> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [tsm, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
    const at: Record<string, number> = {};
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
      for (const [k, re] of Object.entries(patterns)) {
        if (at[k] === undefined && re.test(stderr)) {
          at[k] = performance.now() - started;
          if (k === stopAt) child.kill("SIGINT");
        }
      }
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, at, stderr }));
  });
}

export async function benchQemu(tsm: string): Promise<void> {
  if (process.env.BENCH_QEMU === "0") return void console.log("\nqemu: skipped (BENCH_QEMU=0)");
  const { vmPrerequisites } = await import("../test/vm/qemu.js");
  const pre = vmPrerequisites();
  if (!pre.ok) return void console.log(`\nqemu: skipped (${pre.missing.join("; ")})`);
  const { ensureVmImage, VM_IMAGE_FILE } = await import("../test/vm/image.js");
  const image = await ensureVmImage("debian12-cloud-docker");
  const server = http.createServer((req, res) => {
    if (req.url?.endsWith("/SHA512SUMS")) return void res.end(image.sha512sumsText);
    res.writeHead(200, { "content-length": String(statSync(image.qcow2Path).size) });
    createReadStream(image.qcow2Path).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/latest/${VM_IMAGE_FILE}`;
  const tmp = await mkdtemp(path.join(os.tmpdir(), "tsm-bench-qemu-"));
  const store = path.join(tmp, "store");
  const env = { TSM_STORAGE_PATH: store };
  try {
    // Image cache: miss then hits, through the library tsm uses.
    const { ensureImage } = await import("../src/images/cache.js");
    const quiet = { step: () => undefined, bytes: () => undefined };
    const timeEnsure = async (cacheDir: string) => {
      const t = performance.now();
      const got = await ensureImage({ cacheDir, source: url, progress: quiet, signal: new AbortController().signal });
      return { ms: performance.now() - t, hit: got.cacheHit };
    };
    const misses: number[] = [];
    const hits: number[] = [];
    for (let i = 0; i < 3; i++) {
      const dir = path.join(tmp, `cache-${i}`);
      const miss = await timeEnsure(dir);
      if (miss.hit) throw new Error("expected a cache miss");
      misses.push(miss.ms);
      for (let j = 0; j < 3; j++) {
        const hit = await timeEnsure(dir);
        if (!hit.hit) throw new Error("expected a cache hit");
        hits.push(hit.ms);
      }
      await rm(dir, { recursive: true, force: true });
    }

    const marks = { prepared: /Starting the VM with/, launched: /Waiting for SSH on/, ssh: /Provisioning the host over SSH/, engine: /is up and running/ };
    const first = await runMarked(tsm, ["create", "-d", "qemu", "--qemu-image-url", url, "--qemu-disk-size", "6000", "b1"], env, marks);
    if (first.code !== 0) throw new Error(`qemu create exited ${first.code}:\n${first.stderr}`);
    const accel = /Starting the VM with ([^.(]+)/.exec(first.stderr)?.[1]?.trim() ?? "?";

    const second: number[] = [];
    const secondLaunched: number[] = [];
    const runs = Number(process.env.BENCH_QEMU_RUNS ?? 5);
    for (let i = 0; i < runs; i++) {
      const name = `c${i}`;
      const r = await runMarked(tsm, ["create", "-d", "qemu", "--qemu-image-url", url, "--qemu-disk-size", "6000", name], env, marks, "launched");
      if (r.at.launched === undefined) throw new Error(`second create never launched QEMU:\n${r.stderr}`);
      second.push(r.at.prepared!);
      secondLaunched.push(r.at.launched);
      await runMarked(tsm, ["rm", "-f", name], env, {});
    }
    await runMarked(tsm, ["rm", "-f", "b1"], env, {});

    const f = (ms: number | undefined) => (ms === undefined ? "-" : (ms / 1000).toFixed(2));
    console.log(`\n| qemu driver (${accel}) | seconds | goal |`);
    console.log("|---|---:|---|");
    console.log(`| image cache miss: download ${Math.round(statSync(image.qcow2Path).size / 1048576)} MiB from a local server + SHA-512 (median of 3) | ${f(median(misses))} | - |`);
    console.log(`| image cache hit: checksum file only (median of 9) | ${f(median(hits))} | - |`);
    console.log(`| first create (downloads the image) -> QEMU launched | ${f(first.at.launched)} | - |`);
    console.log(`| create -> SSH ready | ${f(first.at.ssh)} | - |`);
    console.log(`| create -> engine ready (Docker over TLS) | ${f(first.at.engine)} | - |`);
    console.log(`| second machine: command start -> disk overlay + seed ready (median of ${runs}) | ${f(median(second))} | < 2 s |`);
    console.log(`| second machine: command start -> QEMU launched and detached (median of ${runs}) | ${f(median(secondLaunched))} | - |`);
  } finally {
    server.close();
    await rm(tmp, { recursive: true, force: true });
  }
}
