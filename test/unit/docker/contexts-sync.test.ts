/**
 * core/context-sync.ts through the lifecycle, in-process with the scripted fake driver
 * (test/cli/contexts.test.ts reads the same files with the real docker CLI): the context
 * follows a start that moved the machine, a failed create leaves none, and a failure to
 * write the context is a warning that does not fail the machine operation.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createMachine, powerMachines, removeMachine } from "../../../src/core/lifecycle.js";
import { DockerContextStore } from "../../../src/docker/contexts.js";
import { fakeDriver, type FakeDriverKit } from "../../fakes/fake-driver.js";
import { createRequest } from "../../fakes/records.js";
import { rejection } from "../../fakes/rejection.js";
import { tempStore, type TempStore } from "../../fakes/temp-store.js";

let world: TempStore;
let fake: FakeDriverKit;
let docker: DockerContextStore;

async function setup(kit: FakeDriverKit): Promise<void> {
  fake = kit;
  const configDir = await mkdtemp(path.join(os.tmpdir(), "tsm-docker-config-"));
  docker = new DockerContextStore(configDir);
  // Contexts on (the fake store turns them off), in a DOCKER_CONFIG of this test's own.
  world = await tempStore({ drivers: [kit.descriptor], env: { TSM_NO_CONTEXTS: undefined, DOCKER_CONFIG: configDir } });
}

afterEach(async () => {
  expect(fake.unexpected).toEqual([]);
  await world.cleanup();
  await rm(docker.configDir, { recursive: true, force: true });
});

const host = (name: string) => {
  const meta = JSON.parse(readFileSync(path.join(docker.metaDir(name), "meta.json"), "utf8")) as { Endpoints: { docker: { Host: string } } };
  return meta.Endpoints.docker.Host;
};

describe("contexts through the lifecycle", () => {
  it("follow a start that gave the machine a new address, and go with rm", async () => {
    await setup(fakeDriver({ allow: ["preCreateCheck", "create", "start", "remove"], state: "Stopped", effects: { start: (c) => (c.url = "tcp://127.0.0.9:2376") } }));
    await createMachine(world.session, createRequest("m", "tcp://127.0.0.1:2376"));
    expect(host("tsm-m")).toBe("tcp://127.0.0.1:2376");
    expect(readFileSync(path.join(docker.tlsDir("tsm-m"), "docker", "key.pem"), "utf8")).toBe(readFileSync(world.session.store.paths.machine("m").clientKey, "utf8"));

    const [started] = await powerMachines(world.session, "start", ["m"]);
    expect(started?.ok).toBe(true);
    expect(host("tsm-m")).toBe("tcp://127.0.0.9:2376");

    expect(await removeMachine(world.session, "m", { force: false })).toBe("removed");
    expect(docker.exists("tsm-m")).toBe(false);
    expect(world.err.join("")).not.toContain("Warning");
  });

  it("a create whose driver fails leaves no context", async () => {
    await setup(fakeDriver({ allow: ["preCreateCheck", "create"], fail: { create: new Error("no VM today") } }));
    await rejection(createMachine(world.session, createRequest("m", "tcp://127.0.0.1:2376")));
    expect(docker.exists("tsm-m")).toBe(false);
  });

  it("a context that cannot be written is a warning; the create succeeds (a file stands where its directory goes)", async () => {
    await setup(fakeDriver({ allow: ["preCreateCheck", "create"] }));
    mkdirSync(docker.configDir, { recursive: true });
    writeFileSync(path.join(docker.configDir, "contexts"), "not a directory");
    const record = await createMachine(world.session, createRequest("m", "tcp://127.0.0.1:2376"));
    expect(record.name).toBe("m");
    expect(world.err.join("")).toMatch(/^Warning: the Docker context "tsm-m" was not updated: /m);
  });
});
