/**
 * Two processes (as two `tsm create` would be) wanting the same image: the
 * module is bundled with esbuild and run by two real Node processes.
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, tempDir } from "../../helpers/cli.js";
import { startServer, type TestServer } from "./http-server.js";

const NAME = "debian-13-generic-arm64.raw";

function run(bundle: string, cacheDir: string, source: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = `
    const m = require(${JSON.stringify(bundle)});
    const steps = [];
    m.ensureImage({ cacheDir: ${JSON.stringify(cacheDir)}, source: ${JSON.stringify(source)}, signal: new AbortController().signal,
      progress: { step: (t) => steps.push(t), bytes: () => {} } })
      .then((r) => console.log(JSON.stringify({ ...r, steps })), (e) => { console.error(e.message); process.exitCode = 1; });
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("ensureImage across processes", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let server: TestServer;
  let bundle: string;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir("tsm-images-mp-"));
    server = await startServer();
    bundle = path.join(dir, "images.cjs");
    const { build } = await import("esbuild");
    await build({
      entryPoints: [path.join(ROOT, "src/images/cache.ts")],
      outfile: bundle,
      bundle: true,
      platform: "node",
      target: "node20",
      format: "cjs",
      logLevel: "silent",
    });
  });
  afterAll(async () => {
    await server.close();
    await cleanup();
  });

  it("downloads once; the other process waits and then hits the cache", async () => {
    const image = randomBytes(512 * 1024);
    const hex = createHash("sha512").update(image).digest("hex");
    server.route("/d/SHA512SUMS", (_req, res) => void res.writeHead(200).end(`${hex}  ${NAME}\n`));
    server.route(`/d/${NAME}`, async (_req, res) => {
      res.writeHead(200, { "content-length": String(image.length) });
      res.write(image.subarray(0, 4096));
      await new Promise((r) => setTimeout(r, 1500));
      res.end(image.subarray(4096));
    });
    const cacheDir = path.join(dir, "cache", "images");
    const source = `${server.base}/d/${NAME}`;
    const results = await Promise.all([run(bundle, cacheDir, source), run(bundle, cacheDir, source)]);
    for (const r of results) expect(r.stderr).toBe("");
    expect(results.map((r) => r.code)).toEqual([0, 0]);
    const [a, b] = results.map((r) => JSON.parse(r.stdout) as { path: string; cacheHit: boolean; digest: string; steps: string[] });
    expect(server.count(`/d/${NAME}`)).toBe(1);
    expect(a?.path).toBe(path.join(cacheDir, `sha512-${hex}`, NAME));
    expect(b?.path).toBe(a?.path);
    expect([a?.cacheHit, b?.cacheHit].sort()).toEqual([false, true]);
    const waiter = a?.cacheHit ? a : b;
    expect(waiter?.steps).toContain(`Waiting for another tsm process to finish downloading ${NAME}...`);
    expect((await readFile(a?.path ?? "")).equals(image)).toBe(true);
  });
});
