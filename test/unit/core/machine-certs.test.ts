/**
 * core/machine-certs.ts in-process: regenerate-certs issues a new server certificate
 * by the same rule as create (a Swarm mode member keeps clientAuth), tells the user
 * how to install it where tsm does not manage the engine, and the coverage check
 * after a start notices a changed address.
 */
import { readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createMachine } from "../../../src/core/lifecycle.js";
import { serverCertCoversMachine } from "../../../src/core/machine-certs.js";
import { regenerateCerts } from "../../../src/core/regenerate-certs.js";
import { openMachine } from "../../../src/core/open.js";
import { opContext } from "../../../src/core/session.js";
import { parseCert } from "../../../src/certs/check.js";
import { fakeDriver, type FakeDriverKit } from "../../fakes/fake-driver.js";
import { createRequest } from "../../fakes/records.js";
import { tempStore, type TempStore } from "../../fakes/temp-store.js";

const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

let world: TempStore;
let fake: FakeDriverKit;

beforeEach(async () => {
  fake = fakeDriver({ allow: ["preCreateCheck", "create"] });
  world = await tempStore({ drivers: [fake.descriptor] });
});
afterEach(async () => {
  expect(fake.unexpected).toEqual([]);
  expect(world.unexpected).toEqual([]);
  await world.cleanup();
});

async function serverCert(name: string) {
  return parseCert(readFileSync(world.session.store.paths.machine(name).serverCert, "utf8"));
}

/** A machine created without swarm, then recorded as a member (as a create that joined would leave it). */
async function member(name: string): Promise<void> {
  await createMachine(world.session, createRequest(name));
  const record = await world.session.store.load(name);
  await world.session.store.save({ ...record, swarm: { role: "worker", master: "mgr", opts: [] } });
}

describe("regenerateCerts", () => {
  it("re-issues a swarm member's server certificate with clientAuth", async () => {
    await member("w");
    const before = await serverCert("w");
    expect(before.keyUsage).not.toContain(CLIENT_AUTH); // created without swarm
    await regenerateCerts(world.session, ["w"], { clientCerts: false });
    const after = await serverCert("w");
    expect(after.serialNumber).not.toBe(before.serialNumber);
    expect(after.keyUsage).toContain(CLIENT_AUTH);
    expect(after.checkIssued(await parseCert(readFileSync(world.session.store.paths.caCert, "utf8")))).toBe(true);
  });

  it("re-issues a non-member's certificate without clientAuth, and says how to install it on an engine tsm does not manage", async () => {
    await createMachine(world.session, createRequest("m", "tcp://127.0.0.1:2376", { tlsSans: ["m.example.com"] }));
    const before = await serverCert("m");
    await regenerateCerts(world.session, ["m"], { clientCerts: false });
    const after = await serverCert("m");
    expect(after.serialNumber).not.toBe(before.serialNumber);
    expect(after.keyUsage).not.toContain(CLIENT_AUTH);
    expect(after.subjectAltName).toBe(before.subjectAltName);
    const mp = world.session.store.paths.machine("m");
    expect(world.err.join("")).toBe(
      "Regenerating TLS certificates for m\n" +
        `The engine of "m" is not managed by tsm: install ${mp.caCert}, ${mp.serverCert} and ${mp.serverKey} on it and restart it.\n`,
    );
  });

  it("with clientCerts, replaces the CA and names the machines left on the old one", async () => {
    await createMachine(world.session, createRequest("a"));
    await createMachine(world.session, createRequest("b"));
    const oldCa = readFileSync(world.session.store.paths.caCert, "utf8");
    await regenerateCerts(world.session, ["a"], { clientCerts: true });
    const newCa = await parseCert(readFileSync(world.session.store.paths.caCert, "utf8"));
    expect(newCa.toString()).not.toBe(oldCa);
    expect((await serverCert("a")).checkIssued(newCa)).toBe(true);
    expect((await serverCert("b")).checkIssued(newCa)).toBe(false);
    expect(world.err.join("")).toContain('Warning: the CA changed; these machines still use the old one until you run "tsm regenerate-certs b": b\n');
  });
});

describe("serverCertCoversMachine", () => {
  it("is true for the address the certificate was issued for, false once the driver reports another", async () => {
    await createMachine(world.session, createRequest("m", "tcp://127.0.0.1:2376"));
    const machine = await openMachine(world.session, "m");
    const ctx = opContext(world.session, "m");
    expect(await serverCertCoversMachine(machine, ctx)).toBe(true);
    fake.script.state = "Stopped";
    fake.script.allow = ["start"];
    fake.script.effects = { start: (c) => (c.url = "tcp://127.0.0.42:2376") };
    await machine.driver.start(ctx);
    expect(await serverCertCoversMachine(machine, ctx)).toBe(false);
  });
});
