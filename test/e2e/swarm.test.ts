/**
 * Swarm mode from tsm machines, for real: three Debian 12 servers (systemd,
 * Docker in Docker, from the test bed) made generic machines, one master and
 * two workers; the real docker client sees three Ready nodes and runs a
 * replicated service of a locally built image on every node; removing a
 * worker drains it; a rebooted member comes back Ready; bad input changes
 * nothing.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ensureImage } from "../bed/images.js";
import { generateTestKeyPair, startHost, type TestHost, type TestKeyPair } from "../bed/hosts.js";
import { describeTestBed, testBedPrerequisites } from "../bed/prereqs.js";
import { ensureBusyboxImageTar } from "../bed/artifacts.js";
import { runTsm, TSM_BIN, type RunResult, runBash as bash } from "../helpers/cli.js";

const MIN = 60_000;

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 3 * MIN): Promise<T> {
  const started = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

describeTestBed("Swarm mode clusters from tsm machines", testBedPrerequisites(), () => {
  let tmp = "";
  let store = "";
  let key: TestKeyPair;
  let busybox = "";
  const hosts: Record<string, TestHost> = {};
  const tsm = (args: string[]): Promise<RunResult> => runTsm(store, args, { env: { TSM_SSH_TIMEOUT: "20" } });
  const create = (name: string, extra: string[]) =>
    tsm(["create", "-d", "generic", "--generic-ip-address", hosts[name]!.ip, "--generic-ssh-key", key.privateKeyPath, "--engine-install-method", "none", ...extra, name]);
  const docker = (envArgs: string, script: string) => bash(`set -e; eval "$(node ${TSM_BIN} env ${envArgs})"; ${script}`, { TSM_STORAGE_PATH: store });
  // A test host's reboot is a container restart, and Docker then rewrites /etc/hostname to
  // the container's own name ("w1-3fa2c1"): a test-bed artefact, so the suffix is dropped.
  const readyNodes = async () => {
    const r = await docker("--swarm m1", "docker node ls --format '{{.Hostname}} {{.Status}} {{.Availability}}'");
    return r.stdout
      .trim()
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => l.replace(/^(\S+)-[0-9a-f]{6} /, "$1 "))
      .sort();
  };

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), "tsm-swarm-"));
    store = join(tmp, "store");
    key = await generateTestKeyPair(join(tmp, "key"));
    const [image, tar] = await Promise.all([ensureImage("debian12-systemd-docker"), ensureBusyboxImageTar()]);
    busybox = tar;
    for (const name of ["m1", "w1", "w2", "x1"]) {
      hosts[name] = await startHost({ image, name, authorizedKey: key.publicKey, restartUnlessStopped: name === "w1" });
    }
    const master = await create("m1", ["--swarm-master", "--swarm-opt", "data-path-port=7789"]);
    expect(master.exitCode, master.stderr).toBe(0);
    for (const w of ["w1", "w2"]) {
      const r = await create(w, ["--swarm", "--swarm-join", "m1"]);
      expect(r.exitCode, r.stderr).toBe(0);
    }
  }, 20 * MIN);

  afterAll(async () => {
    for (const h of Object.values(hosts)) await h.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }, 5 * MIN);

  it("docker node ls through eval $(tsm env --swarm MASTER) shows three Ready nodes", async () => {
    expect(await readyNodes()).toEqual(["m1 Ready Active", "w1 Ready Active", "w2 Ready Active"]);
    const viaWorker = await bash(`eval "$(node ${TSM_BIN} env --swarm w1)"; echo "$DOCKER_HOST"`, { TSM_STORAGE_PATH: store });
    expect(viaWorker.stdout.trim()).toBe(`tcp://${hosts.m1!.ip}:2376`);
    const port = await docker("--swarm m1", "docker info --format '{{.Swarm.Cluster.DataPathPort}}'");
    expect(port.stdout.trim()).toBe("7789");
  });

  it("ls fills the SWARM column and filters on it; inspect shows role and state", async () => {
    const ls = await tsm(["ls", "--format", "{{.Name}}|{{.Swarm}}"]);
    expect(ls.stdout.trim().split("\n").sort()).toEqual(["m1|m1 (master)", "w1|m1", "w2|m1"]);
    expect((await tsm(["ls", "-q", "--filter", "swarm=M1"])).stdout).toBe("m1\nw1\nw2\n");
    const node = JSON.parse((await tsm(["inspect", "-f", "{{json .Swarm}}", "w1"])).stdout);
    expect(node).toMatchObject({ Role: "worker", Master: "m1", Node: { Role: "worker", State: "ready", LocalNodeState: "active" } });
  });

  it("join tokens are never printed or stored", async () => {
    const secret = (await bash(`eval "$(node ${TSM_BIN} env m1)"; docker swarm join-token -q worker`, { TSM_STORAGE_PATH: store })).stdout.trim();
    expect(secret).toMatch(/^SWMTKN-/);
    const grep = await bash(`grep -rl ${secret} ${store} || true`, {});
    expect(grep.stdout.trim()).toBe("");
  });

  it("a replicated service of a locally built image runs a task on every node", async () => {
    for (const n of ["m1", "w1", "w2"]) {
      const r = await docker(n, `docker import ${busybox} tsm-test/busybox:local >/dev/null`);
      expect(r.code, r.stderr).toBe(0);
    }
    const created = await docker("--swarm m1", "docker service create --detach --name sleeper --replicas 3 --no-resolve-image tsm-test/busybox:local sleep 100000 >/dev/null");
    expect(created.code, created.stderr).toBe(0);
    const nodes = await until("three running tasks", async () => {
      const r = await docker("--swarm m1", "docker service ps sleeper --filter desired-state=running --format '{{.Node}} {{.CurrentState}}'");
      const running = r.stdout.trim().split("\n").filter((l) => / Running /.test(` ${l} `));
      return running.length === 3 ? running.map((l) => l.split(" ")[0]!).sort() : undefined;
    });
    expect(nodes).toEqual(["m1", "w1", "w2"]);
  }, 10 * MIN);

  it("bad input changes nothing: joining a worker, a machine that does not exist, a stopped master", async () => {
    const notManager = await create("x1", ["--swarm-join", "w1"]);
    expect(notManager.exitCode).toBe(3);
    expect(notManager.stderr).toMatch(/"w1" is not a manager of a Swarm mode cluster/);
    expect(existsSync(join(store, "machines", "x1"))).toBe(false);
    const missing = await create("x1", ["--swarm-join", "nosuch"]);
    expect(missing.exitCode).toBe(3);
    expect(missing.stderr).toMatch(/cannot join the cluster of "nosuch"/);
    const usage = await create("x1", ["--swarm"]);
    expect(usage.exitCode).toBe(2);
    expect(usage.stderr).toMatch(/--swarm needs --swarm-join MASTER/);
    await hosts.m1!.exec(["systemctl", "stop", "docker.socket", "docker.service"]);
    try {
      const stopped = await create("x1", ["--swarm-join", "m1"]);
      expect(stopped.exitCode).toBe(3);
      expect(stopped.stderr).toMatch(/its engine does not answer/);
      expect(existsSync(join(store, "machines", "x1"))).toBe(false);
    } finally {
      await hosts.m1!.exec(["systemctl", "start", "docker.socket", "docker.service"]);
    }
    await until("the master's engine back", async () => ((await tsm(["version", "m1"])).exitCode === 0 ? true : undefined));
  }, 10 * MIN);

  it("a rebooted member rejoins and shows Ready again", async () => {
    const r = await tsm(["restart", "w1"]);
    expect(r.exitCode, r.stderr).toBe(0);
    const nodes = await until("w1 Ready again", async () => {
      const n = await readyNodes();
      return n.includes("w1 Ready Active") ? n : undefined;
    });
    expect(nodes).toContain("w1 Ready Active");
  }, 10 * MIN);

  it("removing the last manager is refused unless forced", async () => {
    const r = await tsm(["rm", "-y", "m1"]);
    expect(r.exitCode).toBe(7);
    expect(r.stderr).toMatch(/"m1" is the last manager of its Swarm mode cluster/);
    expect(existsSync(join(store, "machines", "m1"))).toBe(true);
  });

  it("tsm rm of a worker drains it and leaves a two-node cluster with the service rescheduled", async () => {
    const r = await tsm(["rm", "-y", "w2"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Draining the node/);
    const nodes = await until("two nodes", async () => {
      const n = await readyNodes();
      return n.length === 2 ? n : undefined;
    });
    expect(nodes, JSON.stringify(nodes)).toEqual(["m1 Ready Active", "w1 Ready Active"]);
    const placed = await until("three tasks on the two remaining nodes", async () => {
      const t = await docker("--swarm m1", "docker service ps sleeper --filter desired-state=running --format '{{.Node}} {{.CurrentState}}'");
      const running = t.stdout.trim().split("\n").filter((l) => / Running /.test(` ${l} `));
      return running.length === 3 ? running.map((l) => l.split(" ")[0]!.replace(/-[0-9a-f]{6}$/, "")) : undefined;
    });
    expect(new Set(placed)).toEqual(new Set(["m1", "w1"]));
  }, 10 * MIN);
});
