/**
 * Issue 11, defect 11: a machine of a driver whose engine tsm does not manage (none),
 * created with --swarm-master while its engine is not up, used to be a dead end: the
 * hint said "tsm provision", which that driver refuses. The Swarm mode request now stays
 * in the record until done, the hint says how to start the engine, and `tsm provision`
 * finishes the step once the engine answers.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createMachine } from "../../../src/core/lifecycle.js";
import { provisionMachines } from "../../../src/core/provision.js";
import { fakeDriver, type FakeDriverKit } from "../../fakes/fake-driver.js";
import { startFakeEngine, type FakeEngine, type Route } from "../../fakes/fake-engine.js";
import { createRequest } from "../../fakes/records.js";
import { rejection } from "../../fakes/rejection.js";
import { tempStore, type TempStore } from "../../fakes/temp-store.js";

let world: TempStore;
let fake: FakeDriverKit;
let engine: FakeEngine | undefined;

const ROUTES: Record<string, Route> = {
  "GET /version": () => ({ body: { Version: "27.0.1", ApiVersion: "1.46" } }),
  "POST /swarm/init": () => ({ body: "node-1" }),
};

beforeEach(async () => {
  // Not provisionable, like none.
  fake = fakeDriver({ allow: ["preCreateCheck", "create"] });
  world = await tempStore({ drivers: [fake.descriptor], env: { TSM_ENGINE_TIMEOUT: "1" } });
});

afterEach(async () => {
  expect(fake.unexpected).toEqual([]);
  expect(world.unexpected).toEqual([]);
  await engine?.close();
  engine = undefined;
  await world.cleanup();
});

/** A port where nothing listens now, for an engine that is started later. */
async function freePort(): Promise<number> {
  const probe = await startFakeEngine(world.session.store.paths, {});
  await probe.close();
  return Number(/:(\d+)$/.exec(probe.url)![1]);
}

describe("--swarm-master on an engine tsm does not manage, not up at create", () => {
  it("keeps the request, says how to start the engine, and tsm provision finishes the step", async () => {
    const port = await freePort();
    const err = await rejection(createMachine(world.session, createRequest("sm", `tcp://127.0.0.1:${port}`, { swarm: { role: "master", opts: [] } })));
    expect(err.code).toBe("CREATE_FAILED");
    const mp = world.session.store.paths.machine("sm");
    expect(err.details).toEqual([
      `The record of "sm" is kept in ${mp.dir}; the host may exist.`,
      `The engine must serve TLS with this machine's certificate: dockerd --tlsverify --tlscacert=${mp.caCert} --tlscert=${mp.serverCert} --tlskey=${mp.serverKey} -H tcp://0.0.0.0:${port}`,
      'Once it answers, do the Swarm mode step with "tsm provision sm", or remove it with "tsm rm -f sm".',
    ]);
    expect((await world.session.store.load("sm")).pendingSwarm).toEqual({ role: "master", opts: [] });

    // The engine is still down: provision says so and how to start it; nothing changes.
    const [down] = await provisionMachines(world.session, ["sm"]);
    expect(down!.ok).toBe(false);
    if (down!.ok) return;
    expect(down!.error.message).toMatch(/^The Docker engine of "sm" did not answer over TLS at tcp:\/\/127\.0\.0\.1:\d+ within 1s/);
    expect(down!.error.details).toEqual([`Start it with: dockerd --tlsverify --tlscacert=${mp.caCert} --tlscert=${mp.serverCert} --tlskey=${mp.serverKey} -H tcp://0.0.0.0:${port}`, 'Then run "tsm provision sm" again.']);
    expect((await world.session.store.load("sm")).swarm).toBeUndefined();

    // The user starts the engine: provision forms the cluster and records it.
    engine = await startFakeEngine(world.session.store.paths, ROUTES, { port });
    const [up] = await provisionMachines(world.session, ["sm"]);
    expect(up).toEqual({ ok: true, value: "27.0.1" });
    expect(engine.requests.map((r) => `${r.method} ${r.path}`)).toContain("POST /swarm/init");
    const record = await world.session.store.load("sm");
    expect(record.swarm).toEqual({ role: "master", master: "sm", opts: [] });
    expect(record.pendingSwarm).toBeUndefined();

    // Nothing pending any more: provision is refused as before for such a driver.
    const [again] = await provisionMachines(world.session, ["sm"]);
    expect(again!.ok).toBe(false);
    if (!again!.ok) expect(again!.error.message).toBe("The fake driver does not support provision: tsm does not manage that engine");
  });

  it("a create whose engine answers forms the cluster at once and leaves nothing pending", async () => {
    engine = await startFakeEngine(world.session.store.paths, ROUTES);
    await createMachine(world.session, createRequest("sm2", engine.url, { swarm: { role: "master", opts: [] } }));
    const record = await world.session.store.load("sm2");
    expect(record.swarm).toEqual({ role: "master", master: "sm2", opts: [] });
    expect(record.pendingSwarm).toBeUndefined();
  });
});
