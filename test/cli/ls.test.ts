/**
 * ls over real engines that answer, engines that refuse, engines that never
 * answer, and records that are broken: columns, filters, formats, -q, timeouts.
 */
import { createServer, type Server, type Socket } from "node:net";
import https from "node:https";
import { readFile, writeFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTsm, tempDir } from "../helpers/cli.js";

let store: string;
let cleanup: () => Promise<void>;
let silent: Server;
let silentPort = 0;
const sockets: Socket[] = [];
let engine: https.Server;
let enginePort = 0;

async function listen(server: Server | https.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return (server.address() as { port: number }).port;
}

beforeAll(async () => {
  ({ dir: store, cleanup } = await tempDir());
  // An engine that accepts connections and never says a word.
  silent = createServer((s) => sockets.push(s));
  silentPort = await listen(silent);
  // A fake engine for "up": serves /version over mutual TLS with up's own server certificate.
  const create = (args: string[]) => runTsm(store, ["create", "-d", "none", ...args]);
  expect((await create(["--url", "tcp://127.0.0.1:1", "--engine-label", "team=blue", "down"])).exitCode).toBe(0);
  expect((await create(["--url", `tcp://127.0.0.1:${silentPort}`, "--engine-label", "team=red", "mute"])).exitCode).toBe(0);
  const upDir = path.join(store, "machines", "up");
  expect((await create(["--url", "tcp://127.0.0.1:2", "up"])).exitCode).toBe(0);
  engine = https.createServer(
    {
      key: await readFile(path.join(upDir, "server-key.pem")),
      cert: await readFile(path.join(upDir, "server.pem")),
      ca: await readFile(path.join(upDir, "ca.pem")),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      res.setHeader("Content-Type", "application/json");
      res.end(req.url === "/version" ? '{"Version":"99.1.2","ApiVersion":"1.99"}' : "{}");
    },
  );
  enginePort = await listen(engine);
  const rec = JSON.parse(await readFile(path.join(upDir, "config.json"), "utf8"));
  rec.driver.config.url = `tcp://127.0.0.1:${enginePort}`;
  rec.engine.port = enginePort;
  await writeFile(path.join(upDir, "config.json"), JSON.stringify(rec));
  // A broken record beside them.
  await mkdir(path.join(store, "machines", "broken"));
  await writeFile(path.join(store, "machines", "broken", "config.json"), '{"configVersion": 1, "na');
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => silent.close(r));
  await new Promise((r) => engine.close(r));
  await cleanup();
});

function rows(stdout: string): string[][] {
  return stdout
    .trimEnd()
    .split("\n")
    .map((l) => l.split(/ {2,}/));
}

describe("ls", () => {
  it("shows every machine, the engine version over mutual TLS, a broken record as an error row, within the timeout", async () => {
    const started = Date.now();
    const r = await runTsm(store, ["ls", "--timeout", "2"], { env: { DOCKER_HOST: `tcp://127.0.0.1:${enginePort}` } });
    const elapsed = Date.now() - started;
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME +ACTIVE +DRIVER +STATE +URL +SWARM +DOCKER +ERRORS$/);
    expect(lines.map((l) => l.split(" ")[0])).toEqual(["NAME", "broken", "down", "mute", "up"]);
    const byName = new Map(lines.slice(1).map((l) => [l.split(" ")[0]!, l]));
    expect(byName.get("up")).toMatch(new RegExp(`^up +\\* +none +Running +tcp://127\\.0\\.0\\.1:${enginePort} +v99\\.1\\.2 *$`));
    expect(byName.get("down")).toMatch(/^down +- +none +Running +tcp:\/\/127\.0\.0\.1:1 +Unknown +Unable to query docker version: Cannot connect to the Docker engine at 127\.0\.0\.1:1: connection refused$/);
    expect(byName.get("mute")).toMatch(
      new RegExp(`^mute +- +none +Running +tcp://127\\.0\\.0\\.1:${silentPort} +Unknown +Unable to query docker version: Timed out after \\d+\\.\\ds waiting for the engine at 127\\.0\\.0\\.1:${silentPort}$`),
    );
    expect(byName.get("broken")).toMatch(/^broken +unknown +Error +Machine "broken" has an unreadable record: config\.json is not valid JSON \(truncated\?\)\. Remove it with "tsm rm -f broken"$/);
    expect(elapsed).toBeLessThan(10_000);
  });

  it("-q prints names only, without probing", async () => {
    const r = await runTsm(store, ["ls", "-q"]);
    expect(r.stdout).toBe("broken\ndown\nmute\nup\n");
  });

  it.each([
    [["--filter", "label=team=blue"], "down\n"],
    [["--filter", "label=team"], "down\nmute\n"],
    [["--filter", "label=team=BLUE", "--filter", "label=team=red"], "down\nmute\n"],
    [["--filter", "name=^(up|down)$"], "down\nup\n"],
    [["--filter", "NAME=o"], "broken\ndown\n"],
    [["--filter", "driver=NONE", "--filter", "name=u"], "mute\nup\n"],
    [["--filter", "state=error"], "broken\n"],
    [["--filter", "state=running", "--filter", "label=team=red"], "mute\n"],
    [["--filter", "state=stopped"], ""],
    [["--filter", "swarm=x"], ""],
  ])("-q %j", async (filters, expected) => {
    const r = await runTsm(store, ["ls", "-q", "-t", "2", ...filters]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(expected);
  });

  it.each([
    [["--filter", "nope"], /^Error: Unsupported filter syntax "nope": use KEY=VALUE/],
    [["--filter", "color=red"], /^Error: Unsupported filter key "color": use driver, state, name, label, swarm/],
    [["--filter", "name=("], /^Error: Invalid --filter name=\(: not a regular expression/],
    [["--timeout", "0"], /^Error: Invalid --timeout "0"/],
    [["extra"], /^Error: ls takes no arguments/],
    [["--format", "{{.Bogus}}"], /^Error: template: no field "Bogus"/],
  ])("refuses %j with exit 2", async (args, message) => {
    const r = await runTsm(store, ["ls", "-t", "2", ...args]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe("");
  });

  it("--format renders each row; 'table' adds a header", async () => {
    const r = await runTsm(store, ["ls", "-t", "2", "--filter", "name=^up$", "--format", "{{.Name}}: {{.DockerVersion}} {{.ActiveHost}}"]);
    expect(r.stdout).toBe("up: v99.1.2 false\n");
    const t = await runTsm(store, ["ls", "-t", "2", "--filter", "name=^(up|down)$", "--format", "table {{.Name}}\\t{{.DriverName}}\\t{{.State}}"]);
    expect(rows(t.stdout)).toEqual([
      ["NAME", "DRIVER", "STATE"],
      ["down", "none", "Running"],
      ["up", "none", "Running"],
    ]);
  });

  it("does not rewrite any record", async () => {
    const file = path.join(store, "machines", "up", "config.json");
    const before = await readFile(file, "utf8");
    await runTsm(store, ["ls", "-t", "2"]);
    await runTsm(store, ["ip", "up", "down"]);
    await runTsm(store, ["inspect", "up"]);
    await runTsm(store, ["env", "up"]);
    expect(await readFile(file, "utf8")).toBe(before);
  });

  it("active names the running machine DOCKER_HOST points at", async () => {
    const r = await runTsm(store, ["active"], { env: { DOCKER_HOST: `tcp://127.0.0.1:${enginePort}` } });
    expect(r.stdout).toBe("up\n");
    const none = await runTsm(store, ["active"]);
    expect(none.exitCode).toBe(1);
    expect(none.stderr).toBe("Error: No active host found\n");
  });

  it("version NAME asks the engine", async () => {
    const r = await runTsm(store, ["version", "up"]);
    expect(r.stdout).toBe("99.1.2\n");
    const down = await runTsm(store, ["version", "down"]);
    expect(down.exitCode).toBe(1);
    expect(down.stderr).toMatch(/^Error: Unable to query docker version: Cannot connect to the Docker engine at 127\.0\.0\.1:1: connection refused\n$/);
  });

  it("a corrupt record breaks only its own machine", async () => {
    const i = await runTsm(store, ["inspect", "broken"]);
    expect(i.exitCode).toBe(6);
    expect(i.stderr).toMatch(/^Error: Machine "broken" has an unreadable record/);
    expect((await runTsm(store, ["url", "up"])).stdout).toBe(`tcp://127.0.0.1:${enginePort}\n`);
    expect((await runTsm(store, ["env", "up"])).exitCode).toBe(0);
  });
});
