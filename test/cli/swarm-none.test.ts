/**
 * Issue 11, defect 11: `config --swarm` refuses a machine in no cluster as `env --swarm`
 * does, and a none machine created with --swarm-master while its engine is down is no
 * dead end: the hint starts the engine, and `tsm provision` then forms the cluster.
 */
import https from "node:https";
import { createServer } from "node:net";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTsm, tempDir } from "../helpers/cli.js";

let store: string;
let cleanup: () => Promise<void>;
let engine: https.Server | undefined;
beforeAll(async () => {
  ({ dir: store, cleanup } = await tempDir());
  const r = await runTsm(store, ["create", "-d", "none", "--url", "tcp://127.0.0.1:2376", "solo"]);
  expect(r.exitCode, r.stderr).toBe(0);
});
afterAll(async () => {
  if (engine) await new Promise((r) => engine!.close(r));
  await cleanup();
});

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

describe("--swarm on a machine in no cluster", () => {
  it.each([["config"], ["env"]])("%s --swarm refuses it with exit 7 and prints nothing", async (cmd) => {
    const r = await runTsm(store, [cmd, "--swarm", "solo"]);
    expect(r.exitCode).toBe(7);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe('Error: "solo" is not in a Swarm mode cluster; the --swarm flag is for swarm members\n');
  });
});

describe("create -d none --swarm-master while the engine is down", () => {
  it("says how to start the engine; tsm provision forms the cluster once it answers", async () => {
    const port = await freePort();
    const c = await runTsm(store, ["create", "-d", "none", "--url", `tcp://127.0.0.1:${port}`, "--swarm-master", "sm"]);
    expect(c.exitCode).toBe(1);
    const dir = path.join(store, "machines", "sm");
    const dockerd = `dockerd --tlsverify --tlscacert=${dir}/ca.pem --tlscert=${dir}/server.pem --tlskey=${dir}/server-key.pem -H tcp://0.0.0.0:${port}`;
    expect(c.stderr).toContain(`The engine must serve TLS with this machine's certificate: ${dockerd}\n`);
    expect(c.stderr).toContain('Once it answers, do the Swarm mode step with "tsm provision sm", or remove it with "tsm rm -f sm".\n');
    expect(c.stderr).not.toContain("Retry the remaining steps");

    const down = await runTsm(store, ["provision", "sm"], { env: { TSM_ENGINE_TIMEOUT: "1" } });
    expect(down.exitCode).toBe(1);
    expect(down.stderr).toContain(`Start it with: ${dockerd}\nThen run "tsm provision sm" again.\n`);

    // The user starts the engine with the printed flags (here: a fake one with those files).
    const requests: string[] = [];
    engine = https.createServer(
      {
        key: await readFile(path.join(dir, "server-key.pem")),
        cert: await readFile(path.join(dir, "server.pem")),
        ca: await readFile(path.join(dir, "ca.pem")),
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        requests.push(`${req.method} ${req.url}`);
        res.setHeader("Content-Type", "application/json");
        res.end(req.url === "/version" ? '{"Version":"27.0.1","ApiVersion":"1.46"}' : '"node-1"');
      },
    );
    await new Promise<void>((r) => engine!.listen(port, "127.0.0.1", r));
    const up = await runTsm(store, ["provision", "sm"]);
    expect(up.exitCode, up.stderr).toBe(0);
    expect(requests).toContain("POST /swarm/init");
    const rec = JSON.parse(await readFile(path.join(dir, "config.json"), "utf8"));
    expect(rec.swarm).toEqual({ role: "master", master: "sm", opts: [] });
    expect(rec.pendingSwarm).toBeUndefined();
    const env = await runTsm(store, ["config", "--swarm", "sm"]);
    expect(env.exitCode, env.stderr).toBe(0);
    expect(env.stdout).toContain(`-H=tcp://127.0.0.1:${port}\n`);
  });
});
