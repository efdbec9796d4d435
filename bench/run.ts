/**
 * `npm run bench`: start-up and ls timings of the built tsm against bare
 * `node -e 0`, measured in the same run on the same machine. Not part of the
 * tests: figures vary with the machine, so they are reported, not asserted.
 *
 * Goals (issue #2): env median <= 1.25x bare Node; ls -q over 100 machines
 * <= 1.5x; ls over 100 machines whose engines never answer finishes within
 * --timeout + 1 s.
 */
import { spawn } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import https from "node:https";
import { createServer, type Server, type Socket } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const TSM = path.join(ROOT, process.env.TSM_DIST || "dist", "tsm.cjs");
const RUNS = Number(process.env.BENCH_RUNS ?? 30);

function run(args: readonly string[], env: Record<string, string>): Promise<{ ms: number; code: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { env: { ...cleanEnv(), ...env }, stdio: ["ignore", "pipe", "ignore"] });
    let stdout = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ ms: performance.now() - started, code: code ?? -1, stdout }));
  });
}

function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(DOCKER_|TSM_)/.test(k)) env[k] = v;
  env.SHELL = "/bin/bash";
  env.TSM_NO_CONTEXTS = "1"; // the bench's many machines leave the user's ~/.docker alone
  return env;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Interleaves the commands run by run, so load changes on the machine hit all of them alike. */
async function measure(cases: Record<string, { args: string[]; env?: Record<string, string> }>, runs: number): Promise<Record<string, number>> {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (const [, c] of Object.entries(cases)) await run(c.args, c.env ?? {}); // warm the page cache
  for (let i = 0; i < runs; i++) {
    for (const [name, c] of Object.entries(cases)) {
      const r = await run(c.args, c.env ?? {});
      if (r.code !== 0) throw new Error(`${name} exited ${r.code}`);
      samples[name]!.push(r.ms);
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
}

async function listen(server: Server | https.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return (server.address() as { port: number }).port;
}

/** A store with `count` none machines pointing at `url`, made by creating one and copying it (same CA, same certificates). */
async function makeStore(count: number, url: string): Promise<string> {
  const store = await mkdtemp(path.join(os.tmpdir(), "tsm-bench-"));
  const env = { TSM_STORAGE_PATH: store };
  const c = await run([TSM, "create", "-d", "none", "--url", url, "m000"], env);
  if (c.code !== 0) throw new Error("create failed");
  const src = path.join(store, "machines", "m000");
  const recText = await readFile(path.join(src, "config.json"), "utf8");
  for (let i = 1; i < count; i++) {
    const name = `m${String(i).padStart(3, "0")}`;
    const dst = path.join(store, "machines", name);
    await cp(src, dst, { recursive: true });
    const rec = JSON.parse(recText);
    rec.name = name;
    await writeFile(path.join(dst, "config.json"), JSON.stringify(rec, null, 2), { mode: 0o600 });
  }
  return store;
}

async function main(): Promise<void> {
  // BENCH_ONLY=faults: issue 11's fault figures alone (bench/faults.ts).
  if (process.env.BENCH_ONLY === "faults") return (await import("./faults.js")).benchFaults(TSM);
  const sockets: Socket[] = [];
  const silent = createServer((s) => sockets.push(s));
  const silentPort = await listen(silent);

  const answering = await makeStore(100, "tcp://127.0.0.1:1");
  const m = path.join(answering, "machines", "m000");
  const engine = https.createServer(
    {
      key: await readFile(path.join(m, "server-key.pem")),
      cert: await readFile(path.join(m, "server.pem")),
      ca: await readFile(path.join(m, "ca.pem")),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (_req, res) => res.end('{"Version":"20.10.24","ApiVersion":"1.41"}'),
  );
  const enginePort = await listen(engine);
  // Point all 100 at the answering engine.
  for (let i = 0; i < 100; i++) {
    const file = path.join(answering, "machines", `m${String(i).padStart(3, "0")}`, "config.json");
    await writeFile(file, (await readFile(file, "utf8")).replace("tcp://127.0.0.1:1", `tcp://127.0.0.1:${enginePort}`));
  }
  const mute = await makeStore(100, `tcp://127.0.0.1:${silentPort}`);

  const env = { TSM_STORAGE_PATH: answering };
  console.error(`bench: ${RUNS} runs per case, interleaved, on ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"})`);
  const fast = await measure(
    {
      "node -e 0": { args: ["-e", "0"] },
      "tsm env m000": { args: [TSM, "env", "m000"], env },
      "tsm ls -q (100 machines)": { args: [TSM, "ls", "-q"], env },
      "tsm ls (100 answering engines)": { args: [TSM, "ls"], env },
    },
    RUNS,
  );
  const timeoutS = 2;
  const muteRuns: number[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await run([TSM, "ls", "--timeout", String(timeoutS)], { TSM_STORAGE_PATH: mute });
    if (r.code !== 0) throw new Error(`ls over mute engines exited ${r.code}`);
    muteRuns.push(r.ms);
  }
  const base = fast["node -e 0"]!;
  const rows: Array<[string, number, string]> = [
    ["node -e 0", base, "-"],
    ["tsm env m000", fast["tsm env m000"]!, "<= 1.25x"],
    ["tsm ls -q (100 machines)", fast["tsm ls -q (100 machines)"]!, "<= 1.5x"],
    ["tsm ls (100 answering engines)", fast["tsm ls (100 answering engines)"]!, "-"],
    [`tsm ls --timeout ${timeoutS} (100 silent engines)`, median(muteRuns), `<= ${timeoutS + 1}000 ms`],
  ];
  console.log("| case | median ms | x node | goal |");
  console.log("|---|---:|---:|---|");
  for (const [name, ms, goal] of rows) console.log(`| ${name} | ${ms.toFixed(1)} | ${(ms / base).toFixed(2)} | ${goal} |`);

  for (const s of sockets) s.destroy();
  silent.close();
  engine.close();
  await rm(answering, { recursive: true, force: true });
  await rm(mute, { recursive: true, force: true });

  await benchGenericCreate();
  const { benchQemu } = await import("./qemu.js");
  await benchQemu(TSM);
  await (await import("./faults.js")).benchFaults(TSM);
}

/**
 * Issue #3: `tsm create -d generic` against a server that already has Docker
 * Engine (the provisioning path alone): wall time and SSH round trips, on a
 * Debian 12 systemd test host from the test bed. The first create (which also
 * creates the store's CA) is a warm-up and not counted.
 */
async function benchGenericCreate(): Promise<void> {
  const { testBedPrerequisites } = await import("../test/bed/prereqs.js");
  const pre = testBedPrerequisites();
  if (!pre.ok) {
    console.log(`\ngeneric create: skipped (${pre.missing.join("; ")})`);
    return;
  }
  const { ensureImage } = await import("../test/bed/images.js");
  const { generateTestKeyPair, startHost } = await import("../test/bed/hosts.js");
  const tmp = await mkdtemp(path.join(os.tmpdir(), "tsm-bench-generic-"));
  const key = await generateTestKeyPair(path.join(tmp, "key"));
  const host = await startHost({ image: await ensureImage("debian12-systemd-docker"), name: "bench", authorizedKey: key.publicKey });
  const env = { TSM_STORAGE_PATH: path.join(tmp, "store"), TSM_DEBUG: "1" };
  const runs = Number(process.env.BENCH_GENERIC_RUNS ?? 7);
  const times: number[] = [];
  const trips: number[] = [];
  try {
    for (let i = 0; i <= runs; i++) {
      const name = `g${i}`;
      const started = performance.now();
      const r = await runWithStderr([TSM, "create", "-d", "generic", "--generic-ip-address", host.ip, "--generic-ssh-key", key.privateKeyPath, "--engine-install-method", "none", name], env);
      const ms = performance.now() - started;
      if (r.code !== 0) throw new Error(`generic create exited ${r.code}:\n${r.stderr}`);
      if (i > 0) {
        times.push(ms);
        trips.push((r.stderr.match(/DBG \| ssh round trip:/g) ?? []).length);
      }
      await run([TSM, "rm", "-y", name], { TSM_STORAGE_PATH: env.TSM_STORAGE_PATH });
    }
  } finally {
    await host.stop();
    await rm(tmp, { recursive: true, force: true });
  }
  console.log(`\n| tsm create -d generic (engine installed, ${runs} runs) | median ms | min ms | max ms | SSH round trips | goal |`);
  console.log("|---|---:|---:|---:|---:|---|");
  console.log(`| provisioning path | ${median(times).toFixed(0)} | ${Math.min(...times).toFixed(0)} | ${Math.max(...times).toFixed(0)} | ${median(trips)} (+1 connection) | < 3000 ms median |`);
}

function runWithStderr(args: readonly string[], env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { ...cleanEnv(), ...env }, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stderr }));
  });
}

await main();
