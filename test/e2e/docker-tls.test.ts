/**
 * The real thing: a real dockerd on a loopback port, serving the server
 * certificate tsm issued, and the real docker client pointed at it through
 * `tsm config` and `tsm env`. A client certificate from another CA is refused
 * by the engine.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { copyFile, mkdir, readFile } from "node:fs/promises";
import { createServer } from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runTsm, tempDir, TSM_BIN, runBash } from "../helpers/cli.js";
import { describeWithPrereqs, missingPrereqs } from "../helpers/prereq.js";

const run = promisify(execFile);

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

const bash = (script: string, env: Record<string, string> = {}) => runBash(script, env, 60_000);

describeWithPrereqs("real docker engine secured with tsm's certificates", missingPrereqs(["dockerd", "docker", "ip"], true), () => {
  let store: string;
  let other: string;
  let work: string;
  const cleanups: Array<() => Promise<void>> = [];
  let dockerd: ChildProcess | undefined;
  let port = 0;
  let bridge = "";
  let log = "";
  const tsm = `node ${TSM_BIN}`;

  beforeAll(async () => {
    for (const target of ["store", "other", "work"] as const) {
      const t = await tempDir(`tsm-e2e-${target}-`);
      cleanups.push(t.cleanup);
      if (target === "store") store = t.dir;
      else if (target === "other") other = t.dir;
      else work = t.dir;
    }
    port = await freePort();
    // A bridge of its own: with --bridge=none (or docker0) a second dockerd would take the
    // machine's docker0 away from the main engine that the SSH test hosts run on.
    bridge = `tsmtls${process.pid % 100000}`;
    await run("ip", ["link", "add", bridge, "type", "bridge"]);
    cleanups.push(async () => {
      await run("ip", ["link", "delete", bridge]).catch(() => undefined);
    });
    const created = await runTsm(store, ["create", "-d", "none", "--url", `tcp://127.0.0.1:${port}`, "real"]);
    expect(created.exitCode, created.stderr).toBe(0);
    const m = path.join(store, "machines", "real");
    dockerd = spawn(
      "dockerd",
      [
        "--tlsverify",
        `--tlscacert=${m}/ca.pem`,
        `--tlscert=${m}/server.pem`,
        `--tlskey=${m}/server-key.pem`,
        `-H=tcp://127.0.0.1:${port}`,
        `-H=unix://${work}/docker.sock`,
        `--data-root=${work}/data`,
        `--exec-root=${work}/exec`,
        `--pidfile=${work}/docker.pid`,
        "--storage-driver=vfs",
        `--bridge=${bridge}`,
        "--iptables=false",
        "--ip-masq=false",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    dockerd.stdout!.on("data", (c: Buffer) => (log += c.toString()));
    dockerd.stderr!.on("data", (c: Buffer) => (log += c.toString()));
    const deadline = Date.now() + 90_000;
    for (;;) {
      const v = await runTsm(store, ["version", "real"]);
      if (v.exitCode === 0) break;
      if (Date.now() > deadline || dockerd.exitCode !== null) {
        throw new Error(`dockerd did not come up with tsm certificates: ${v.stderr}\n--- dockerd log ---\n${log.slice(-3000)}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }, 120_000);

  afterAll(async () => {
    if (dockerd && dockerd.exitCode === null) {
      dockerd.kill("SIGTERM");
      await new Promise((r) => {
        const t = setTimeout(() => {
          dockerd!.kill("SIGKILL");
          r(undefined);
        }, 20_000);
        dockerd!.on("exit", () => {
          clearTimeout(t);
          r(undefined);
        });
      });
    }
    for (const c of cleanups) await c();
  }, 60_000);

  it("tsm version NAME reads the engine version over mutual TLS", async () => {
    const r = await runTsm(store, ["version", "real"]);
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("docker $(tsm config NAME) version talks to the engine", async () => {
    const r = await bash(`docker $(${tsm} config real) version --format '{{.Server.Version}}'`, { TSM_STORAGE_PATH: store });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe((await runTsm(store, ["version", "real"])).stdout.trim());
  });

  it('eval "$(tsm env NAME)"; docker version talks to the engine', async () => {
    const r = await bash(`eval "$(${tsm} env real)" && docker version --format '{{.Server.Version}}' && echo "host=$DOCKER_HOST"`, { TSM_STORAGE_PATH: store });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`host=tcp://127.0.0.1:${port}`);
    expect(r.stdout.split("\n")[0]).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("eval $(tsm env NAME) unquoted, as Docker Machine users write it, works too", async () => {
    const r = await bash(`eval $(${tsm} env real) && docker info --format '{{.ServerVersion}}'`, { TSM_STORAGE_PATH: store });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("docker --context tsm-NAME version talks to the engine, and so does plain docker after tsm use", async () => {
    // Contexts on (baseEnv turns them off), in a DOCKER_CONFIG of this test's own.
    const env = { TSM_STORAGE_PATH: store, TSM_NO_CONTEXTS: "", DOCKER_CONFIG: path.join(work, "docker-config") };
    const r = await bash(`${tsm} use real >/dev/null && docker --context tsm-real version --format '{{.Server.Version}}' && docker version --format '{{.Server.Version}}'`, env);
    expect(r.code, r.stderr).toBe(0);
    const version = (await runTsm(store, ["version", "real"])).stdout.trim();
    expect(r.stdout).toBe(`${version}\n${version}\n`);
  });

  it("env --check and ls see the live engine", async () => {
    expect((await runTsm(store, ["env", "--check", "real"])).exitCode).toBe(0);
    const ls = await runTsm(store, ["ls", "--filter", "name=^real$"], { env: { DOCKER_HOST: `tcp://127.0.0.1:${port}` } });
    expect(ls.stdout).toMatch(new RegExp(`^real +\\* +none +Running +tcp://127\\.0\\.0\\.1:${port} +v\\d+\\.\\d+\\.\\d+\\S* *$`, "m"));
  });

  it("the engine refuses a client certificate from another CA", async () => {
    const c = await runTsm(other, ["create", "-d", "none", "--url", `tcp://127.0.0.1:${port}`, "intruder"]);
    expect(c.exitCode).toBe(0);
    // Trust the real server (its CA) but present the other store's client certificate.
    const mixed = path.join(work, "mixed");
    await mkdir(mixed);
    await copyFile(path.join(store, "machines", "real", "ca.pem"), path.join(mixed, "ca.pem"));
    await copyFile(path.join(other, "machines", "intruder", "cert.pem"), path.join(mixed, "cert.pem"));
    await copyFile(path.join(other, "machines", "intruder", "key.pem"), path.join(mixed, "key.pem"));
    const r = await bash(`DOCKER_TLS_VERIFY=1 DOCKER_HOST=tcp://127.0.0.1:${port} DOCKER_CERT_PATH=${mixed} docker version --format '{{.Server.Version}}'`);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/bad certificate|unknown certificate authority|certificate required/i);
    // And the other store's own view fails on the client side: the server is not one of its CA's.
    const e = await bash(`eval "$(${tsm} env intruder)" && docker version --format '{{.Server.Version}}'`, { TSM_STORAGE_PATH: other });
    expect(e.code).not.toBe(0);
    expect(e.stderr).toMatch(/certificate signed by unknown authority|x509/i);
    expect(await readFile(path.join(store, "machines", "real", "config.json"), "utf8")).toContain('"real"');
  });
});
