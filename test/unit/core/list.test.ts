/**
 * core/list.ts in-process: the rows of `ls` (state from the driver, errors as rows,
 * filters, quiet without probing) and the active machine.
 */
import { writeFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { activeMachine, listMachines } from "../../../src/core/list.js";
import { parseFilters } from "../../../src/core/ls-filter.js";
import { fakeDriver, type FakeDriverKit } from "../../fakes/fake-driver.js";
import { fakeRecord } from "../../fakes/records.js";
import { tempStore, type TempStore } from "../../fakes/temp-store.js";

let world: TempStore;
let fake: FakeDriverKit;
const STATES: Record<string, "Running" | "Stopped"> = { up: "Running", down: "Stopped" };

async function setup(env: Record<string, string> = {}): Promise<void> {
  fake = fakeDriver({ state: (m) => STATES[m] ?? "Stopped" });
  world = await tempStore({ drivers: [fake.descriptor], env });
  // "up" answers on a port nothing listens on: its engine version is Unknown, with the reason.
  await world.session.store.save(fakeRecord("up", { url: "tcp://127.0.0.1:1" }, { engine: { ...fakeRecord("x").engine, labels: ["env=prod"] } }));
  await world.session.store.save(fakeRecord("down", { url: "tcp://127.0.0.2:2376" }));
  await world.session.store.save(fakeRecord("broken"));
  writeFileSync(world.session.store.paths.machine("broken").record, "{ not json");
}

afterEach(async () => {
  expect(fake.unexpected).toEqual([]);
  expect(world.unexpected).toEqual([]);
  await world.cleanup();
});

describe("listMachines", () => {
  beforeEach(() => setup({ DOCKER_HOST: "tcp://127.0.0.1:1" }));

  it("gives a row per machine in natural order, an unreadable record as an Error row", async () => {
    const { names, rows } = await listMachines(world.session, { quiet: false, filters: parseFilters([]), timeoutMs: 5000 });
    expect(names).toEqual(["broken", "down", "up"]);
    expect(rows!.map((r) => [r.Name, r.Active, r.DriverName, r.State, r.URL, r.DockerVersion])).toEqual([
      ["broken", "", "unknown", "Error", "", ""],
      ["down", "-", "fake", "Stopped", "", ""],
      ["up", "*", "fake", "Running", "tcp://127.0.0.1:1", "Unknown"],
    ]);
    expect(rows![0]!.Error).toMatch(/^Machine "broken" has an unreadable record: config\.json is not valid JSON/);
    expect(rows![2]!.Error).toMatch(/^Unable to query docker version: /);
  });

  it("quiet without filters reads names only: no driver is asked", async () => {
    const { names, rows } = await listMachines(world.session, { quiet: true, filters: parseFilters([]), timeoutMs: 5000 });
    expect(names).toEqual(["broken", "down", "up"]);
    expect(rows).toBeUndefined();
    expect(fake.calls).toEqual([]);
  });

  it("filters by label without probing, and by state with one state query per readable machine", async () => {
    const byLabel = await listMachines(world.session, { quiet: true, filters: parseFilters(["label=env=prod"]), timeoutMs: 5000 });
    expect(byLabel.names).toEqual(["up"]);
    expect(fake.calls).toEqual([]);
    const byState = await listMachines(world.session, { quiet: true, filters: parseFilters(["state=Stopped"]), timeoutMs: 5000 });
    expect(byState.names).toEqual(["down"]);
    expect(fake.calls.filter((c) => c.method === "getState").map((c) => c.machine).sort()).toEqual(["down", "up"]);
  });
});

describe("activeMachine", () => {
  it("is the running machine whose URL is $DOCKER_HOST", async () => {
    await setup({ DOCKER_HOST: "tcp://127.0.0.1:1" });
    expect(await activeMachine(world.session, 5000)).toEqual({ found: "up" });
  });

  it("is none when the machine with that URL is stopped, or when DOCKER_HOST is unset", async () => {
    await setup({ DOCKER_HOST: "tcp://127.0.0.2:2376" });
    expect(await activeMachine(world.session, 5000)).toEqual({});
    await world.cleanup();
    await setup();
    expect(await activeMachine(world.session, 5000)).toEqual({});
    expect(fake.calls).toEqual([]);
  });
});
