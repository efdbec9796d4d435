/**
 * create with Swarm mode, in-process against a fake engine API over mutual TLS:
 * the pre-checks on the cluster to join run before anything is created (exit 3,
 * nothing kept), and a member's server certificate allows clientAuth from create on,
 * as regenerate-certs issues it (the bug: create used to leave clientAuth out).
 */
import { readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createMachine } from "../../../src/core/lifecycle.js";
import { parseCert } from "../../../src/certs/check.js";
import { ExitCode, PreCreateCheckError } from "../../../src/model/errors.js";
import { fakeDriver, type FakeDriverKit } from "../../fakes/fake-driver.js";
import { startFakeEngine, type FakeEngine, type Route } from "../../fakes/fake-engine.js";
import { createRequest } from "../../fakes/records.js";
import { rejection } from "../../fakes/rejection.js";
import { tempStore, type TempStore } from "../../fakes/temp-store.js";

const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
const MANAGER_INFO = {
  Swarm: { NodeID: "node-mgr", NodeAddr: "127.0.0.1", LocalNodeState: "active", ControlAvailable: true, RemoteManagers: [{ NodeID: "node-mgr", Addr: "127.0.0.1:2377" }] },
};
const INACTIVE_INFO = { Swarm: { NodeID: "", NodeAddr: "", LocalNodeState: "inactive", ControlAvailable: false, RemoteManagers: null } };

let world: TempStore;
let fake: FakeDriverKit;
let engine: FakeEngine | undefined;

beforeEach(async () => {
  fake = fakeDriver({ allow: ["preCreateCheck", "create"] });
  world = await tempStore({ drivers: [fake.descriptor] });
});

afterEach(async () => {
  expect(fake.unexpected).toEqual([]);
  expect(world.unexpected).toEqual([]);
  if (engine) expect(engine.unexpected).toEqual([]);
  await engine?.close();
  engine = undefined;
  await world.cleanup();
});

async function serverCertUsages(name: string): Promise<string[]> {
  return (await parseCert(readFileSync(world.session.store.paths.machine(name).serverCert, "utf8"))).keyUsage ?? [];
}

async function withEngine(routes: Record<string, Route>): Promise<FakeEngine> {
  engine = await startFakeEngine(world.session.store.paths, routes);
  return engine;
}

describe("swarm pre-checks, before anything is created", () => {
  it("joining a machine that does not exist: exit 3, nothing kept, the driver never creates", async () => {
    const err = await rejection(createMachine(world.session, createRequest("w", undefined, { swarm: { role: "worker", join: "ghost", opts: [] } })));
    expect(err).toBeInstanceOf(PreCreateCheckError);
    expect(err.exitCode).toBe(ExitCode.preCreate);
    expect(err.message).toBe(
      'Pre-create check failed: cannot join the cluster of "ghost": Machine "ghost" does not exist. Use "tsm ls" to list machines, "tsm create" to add one.',
    );
    expect(world.hasMachine("w")).toBe(false);
    expect(fake.methods("w", "actions")).toEqual(["preCreateCheck"]);
  });

  it("joining a machine that is not a manager: exit 3, nothing kept, the driver never creates", async () => {
    const e = await withEngine({ "GET /info": () => ({ body: INACTIVE_INFO }) });
    await createMachine(world.session, createRequest("mgr", e.url));
    const err = await rejection(createMachine(world.session, createRequest("w", e.url, { swarm: { role: "manager", join: "mgr", opts: [] } })));
    expect(err).toBeInstanceOf(PreCreateCheckError);
    expect(err.exitCode).toBe(ExitCode.preCreate);
    expect(err.message).toBe(
      'Pre-create check failed: "mgr" is not a manager of a Swarm mode cluster (its node state is "inactive"); join a manager, or create one with --swarm-master',
    );
    expect(world.hasMachine("w")).toBe(false);
    expect(fake.methods("w", "actions")).toEqual(["preCreateCheck"]);
    expect(e.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["GET /info"]);
  });

  it("joining a machine whose engine does not answer: exit 3, nothing kept", async () => {
    const e = await withEngine({});
    await createMachine(world.session, createRequest("mgr", e.url));
    await e.close();
    engine = undefined;
    const err = await rejection(createMachine(world.session, createRequest("w", e.url, { swarm: { role: "worker", join: "mgr", opts: [] } })));
    expect(err.exitCode).toBe(ExitCode.preCreate);
    expect(err.message).toMatch(/^Pre-create check failed: cannot join the cluster of "mgr": its engine does not answer \(Cannot connect to the Docker engine at 127\.0\.0\.1:\d+: connection refused\)$/);
    expect(world.hasMachine("w")).toBe(false);
  });
});

describe("create with swarm", () => {
  it("a master: the cluster is initialised at the machine's address, recorded, and its server certificate allows clientAuth", async () => {
    const e = await withEngine({ "POST /swarm/init": () => ({ body: "node-mgr" }) });
    await createMachine(world.session, createRequest("mgr", e.url, { swarm: { role: "master", opts: ["availability=drain"] } }));
    expect(e.requests).toEqual([{ method: "POST", path: "/swarm/init", body: { ListenAddr: "0.0.0.0:2377", AdvertiseAddr: "127.0.0.1:2377", Availability: "drain" } }]);
    expect((await world.session.store.load("mgr")).swarm).toEqual({ role: "master", master: "mgr", opts: ["availability=drain"] });
    const usages = await serverCertUsages("mgr");
    expect(usages).toContain(CLIENT_AUTH);
    expect(usages).toContain("1.3.6.1.5.5.7.3.1"); // serverAuth
  });

  it("a worker joins with the worker token, which is never stored or printed; its certificate allows clientAuth too", async () => {
    const e = await withEngine({
      "POST /swarm/init": () => ({ body: "node-mgr" }),
      "GET /info": () => ({ body: MANAGER_INFO }),
      "GET /swarm": () => ({ body: { JoinTokens: { Worker: "SWMTKN-worker-secret", Manager: "SWMTKN-manager-secret" } } }),
      "POST /swarm/join": () => ({}),
    });
    await createMachine(world.session, createRequest("mgr", e.url, { swarm: { role: "master", opts: [] } }));
    await createMachine(world.session, createRequest("w", e.url, { swarm: { role: "worker", join: "mgr", opts: [] } }));
    const join = e.requests.find((r) => r.path === "/swarm/join");
    expect(join?.body).toEqual({ ListenAddr: "0.0.0.0:2377", AdvertiseAddr: "127.0.0.1:2377", RemoteAddrs: ["127.0.0.1:2377"], JoinToken: "SWMTKN-worker-secret" });
    const record = await world.session.store.load("w");
    expect(record.swarm).toEqual({ role: "worker", master: "mgr", opts: [] });
    expect(JSON.stringify(record)).not.toContain("SWMTKN");
    expect([...world.out, ...world.err, ...world.progress].join("\n")).not.toContain("SWMTKN");
    expect(await serverCertUsages("w")).toContain(CLIENT_AUTH);
  });

  it("without swarm the server certificate is for servers only", async () => {
    await createMachine(world.session, createRequest("plain"));
    const usages = await serverCertUsages("plain");
    expect(usages).toContain("1.3.6.1.5.5.7.3.1");
    expect(usages).not.toContain(CLIENT_AUTH);
  });
});
