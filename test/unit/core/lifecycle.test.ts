/**
 * core/lifecycle.ts in-process, with a scripted fake driver over a temporary store:
 * which record is kept after a failure at each create step and with which exit
 * status; start/stop/kill on drivers without power control; the already-in-state
 * rule; what after-start saves; rm's kept or dropped record.
 */
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { createMachine, powerMachine, powerMachines, removeMachine, removeMachines, type PowerVerb } from "../../../src/core/lifecycle.js";
import { openMachine } from "../../../src/core/open.js";
import { provisionMachines, upgradeMachines } from "../../../src/core/provision.js";
import { ExitCode, MachineStateError, MultiMachineError, NotSupportedError, PreCreateCheckError, TsmError } from "../../../src/model/errors.js";
import { describeCert, parseCert } from "../../../src/certs/check.js";
import { fakeDriver, type FakeDriverKit } from "../../fakes/fake-driver.js";
import { emptySshLog, fakeSshSession } from "../../fakes/fake-ssh.js";
import { createRequest, fakeRecord } from "../../fakes/records.js";
import { rejection } from "../../fakes/rejection.js";
import { tempStore, type TempStore, type TempStoreOptions } from "../../fakes/temp-store.js";

const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

let world: TempStore;
let fake: FakeDriverKit;

async function setup(kit: FakeDriverKit, options: Omit<TempStoreOptions, "drivers"> = {}): Promise<TempStore> {
  fake = kit;
  world = await tempStore({ drivers: [kit.descriptor], ...options });
  return world;
}

afterEach(async () => {
  // Every test: no call the script did not allow, no seam touched that the test did not fake.
  expect(fake.unexpected).toEqual([]);
  expect(world.unexpected).toEqual([]);
  await world.cleanup();
});

function storedRecord(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(world.session.store.paths.machine(name).record, "utf8"));
}

describe("createMachine", () => {
  it("creates: pre-create check, then the driver, then the certificate; the record holds what the driver set", async () => {
    await setup(fakeDriver({ allow: ["preCreateCheck", "create"], effects: { create: (c) => (c.vm = "vm-1") } }));
    const record = await createMachine(world.session, createRequest("m", "tcp://127.0.0.1:2376", { tlsSans: ["dev.example.com"] }));
    expect(record.name).toBe("m");
    expect(fake.methods("m", "actions")).toEqual(["preCreateCheck", "create"]);
    expect(storedRecord("m")).toMatchObject({
      configVersion: 1,
      name: "m",
      driver: { name: "fake", config: { url: "tcp://127.0.0.1:2376", vm: "vm-1" } },
      engine: { port: 2376 },
      tls: { sans: ["dev.example.com"] },
    });
    expect(storedRecord("m")).not.toHaveProperty("swarm");
    const cert = await parseCert(readFileSync(world.session.store.paths.machine("m").serverCert, "utf8"));
    expect(describeCert(cert).sans.sort()).toEqual(["127.0.0.1", "dev.example.com", "localhost"]);
    expect(cert.keyUsage).not.toContain(CLIENT_AUTH);
    expect(world.progress).toContain('step: Creating "m" with the fake driver');
    expect(world.progress.some((l) => /^note: Machine "m" created in \d+\.\ds\.$/.test(l))).toBe(true);
  });

  it("refuses an existing name with exit 5 and calls no driver", async () => {
    await setup(fakeDriver({}));
    await world.session.store.save(fakeRecord("m"));
    const err = await rejection(createMachine(world.session, createRequest("m")));
    expect(err.code).toBe("EXISTS");
    expect(err.exitCode).toBe(ExitCode.exists);
    expect(fake.calls).toEqual([]);
  });

  it("a failed pre-create check keeps nothing and exits 3; the driver's create is never called", async () => {
    await setup(fakeDriver({ allow: ["preCreateCheck"], fail: { preCreateCheck: new Error("hypervisor missing") } }));
    const err = await rejection(createMachine(world.session, createRequest("m")));
    expect(err).toBeInstanceOf(PreCreateCheckError);
    expect(err.exitCode).toBe(ExitCode.preCreate);
    expect(err.message).toBe("Pre-create check failed: hypervisor missing");
    expect(world.hasMachine("m")).toBe(false);
    expect(fake.methods("m", "actions")).toEqual(["preCreateCheck"]);
  });

  it("a typed pre-create error keeps its own code and exit status", async () => {
    await setup(fakeDriver({ allow: ["preCreateCheck"], fail: { preCreateCheck: new MachineStateError("port taken") } }));
    const err = await rejection(createMachine(world.session, createRequest("m")));
    expect(err.code).toBe("STATE");
    expect(err.exitCode).toBe(ExitCode.state);
    expect(world.hasMachine("m")).toBe(false);
  });

  it("a failed driver create keeps the record with what the driver got to, and says how to retry or remove it", async () => {
    await setup(
      fakeDriver({
        allow: ["preCreateCheck", "create"],
        effects: { create: (c) => (c.disk = "/disks/m.qcow2") },
        fail: { create: new TsmError("VM_START_FAILED", "the VM did not boot") },
      }),
    );
    const err = await rejection(createMachine(world.session, createRequest("m")));
    expect(err.code).toBe("CREATE_FAILED");
    expect(err.exitCode).toBe(ExitCode.failed);
    expect(err.message).toBe('Error creating machine "m": the VM did not boot');
    expect(err.details).toEqual([
      `The record of "m" is kept in ${world.session.store.paths.machineDir("m")}; the host may exist.`,
      'Retry the remaining steps with "tsm provision m" or remove it with "tsm rm -f m".',
    ]);
    expect(storedRecord("m")).toMatchObject({ driver: { config: { url: "tcp://127.0.0.1:2376", disk: "/disks/m.qcow2" } } });
    // The certificate step was never reached.
    expect(() => readFileSync(world.session.store.paths.machine("m").serverCert)).toThrow(/ENOENT/);
  });

  it("a failed driver create keeps the cause's exit status (a state error stays exit 7)", async () => {
    await setup(fakeDriver({ allow: ["preCreateCheck", "create"], fail: { create: new MachineStateError("VT-x is disabled") } }));
    const err = await rejection(createMachine(world.session, createRequest("m")));
    expect(err.code).toBe("CREATE_FAILED");
    expect(err.exitCode).toBe(ExitCode.state);
    expect(world.hasMachine("m")).toBe(true);
  });

  it("a failed certificate step (no address) keeps the record and has no server certificate", async () => {
    await setup(fakeDriver({ allow: ["preCreateCheck", "create"], fail: { getIp: new MachineStateError("the VM has no address yet") } }));
    const err = await rejection(createMachine(world.session, createRequest("m")));
    expect(err.code).toBe("CREATE_FAILED");
    expect(err.exitCode).toBe(ExitCode.state);
    expect(err.message).toBe('Error creating machine "m": the VM has no address yet');
    expect(err.details.at(-1)).toBe('Retry the remaining steps with "tsm provision m" or remove it with "tsm rm -f m".');
    expect((await world.session.store.load("m")).driver.config).toEqual({ url: "tcp://127.0.0.1:2376" });
    expect(world.progress).toContain("step: Issuing the machine's server certificate...");
    expect(() => readFileSync(world.session.store.paths.machine("m").serverCert)).toThrow(/ENOENT/);
  });

  it("a failed provisioning keeps the record (host key pinned) with its certificates, and names the cause", async () => {
    const ssh = emptySshLog();
    await setup(fakeDriver({ allow: ["preCreateCheck", "create"], features: { provisionable: true, powerControl: false } }), {
      ssh: async () => fakeSshSession("ssh-ed25519 SHA256:fakekey", () => ({ stdout: "", stderr: "sh: not found", exitCode: 127 }), ssh),
    });
    const err = await rejection(createMachine(world.session, createRequest("m")));
    expect(err.code).toBe("CREATE_FAILED");
    expect(err.exitCode).toBe(ExitCode.failed);
    expect(err.message).toBe(`Error creating machine "m": Provisioning failed while trying to read the host's configuration (exit status 127: sh: not found)`);
    expect((err.cause as TsmError).code).toBe("PROVISION");
    expect(err.details.at(-1)).toBe('Retry the remaining steps with "tsm provision m" or remove it with "tsm rm -f m".');
    // It got as far as SSH: one connection, to the driver's endpoint, as first contact; closed again.
    expect(world.sshCalls).toHaveLength(1);
    expect(world.sshCalls[0]!.target).toEqual({ host: "127.0.0.1", port: 22, user: "root", privateKeyPath: "" });
    expect(world.sshCalls[0]!.pinnedHostKey).toBeUndefined();
    expect(ssh.execs.length).toBeGreaterThan(0);
    expect(ssh.closed).toBe(1);
    const kept = await world.session.store.load("m");
    expect(kept.ssh).toEqual({ hostKey: "ssh-ed25519 SHA256:fakekey" });
    expect(readFileSync(world.session.store.paths.machine("m").serverCert, "utf8")).toMatch(/BEGIN CERTIFICATE/);
  });
});

describe("start, stop, kill and restart", () => {
  it.each<PowerVerb>(["start", "stop", "kill"])("%s on a driver without power control: NotSupportedError (exit 7), the driver is not called", async (verb) => {
    await setup(fakeDriver({ features: { powerControl: false } }));
    await world.session.store.save(fakeRecord("m"));
    const [result] = await powerMachines(world.session, verb, ["m"]);
    expect(result!.ok).toBe(false);
    const err = (result as { error: TsmError }).error;
    expect(err).toBeInstanceOf(NotSupportedError);
    expect(err.exitCode).toBe(ExitCode.state);
    expect(err.message).toBe(`The fake driver does not support ${verb}`);
    expect(fake.calls).toEqual([]);
  });

  it("restart on a driver without power control is the driver's (generic reboots over SSH), with no after-start", async () => {
    await setup(fakeDriver({ features: { powerControl: false }, allow: ["restart"], effects: { restart: (c) => (c.url = "tcp://127.0.0.9:2376") } }));
    await world.session.store.save(fakeRecord("m"));
    await powerMachine(world.session, await openMachine(world.session, "m"), "restart");
    expect(fake.methods("m")).toEqual(["restart"]);
    expect((await world.session.store.load("m")).driver.config).toEqual({ url: "tcp://127.0.0.1:2376" });
  });

  it("start on a running machine: MachineStateError (exit 7), start is not called", async () => {
    await setup(fakeDriver({ state: "Running" }));
    await world.session.store.save(fakeRecord("m"));
    const err = await rejection(powerMachine(world.session, await openMachine(world.session, "m"), "start"));
    expect(err).toBeInstanceOf(MachineStateError);
    expect(err.exitCode).toBe(ExitCode.state);
    expect(err.message).toBe('Machine "m" is already running.');
    expect(fake.methods("m")).toEqual(["getState"]);
  });

  it("stop on a stopped machine: MachineStateError (exit 7), stop is not called", async () => {
    await setup(fakeDriver({ state: "Stopped" }));
    await world.session.store.save(fakeRecord("m"));
    const err = await rejection(powerMachine(world.session, await openMachine(world.session, "m"), "stop"));
    expect(err.message).toBe('Machine "m" is already stopped.');
    expect(fake.methods("m")).toEqual(["getState"]);
  });

  it("start saves the settings the driver changed (a new address) and the handle shows the saved record", async () => {
    await setup(fakeDriver({ state: "Stopped", allow: ["start"], effects: { start: (c) => (c.url = "tcp://127.0.0.7:2376") } }));
    await world.session.store.save(fakeRecord("m"));
    const machine = await openMachine(world.session, "m");
    await powerMachine(world.session, machine, "start");
    expect(fake.methods("m")).toEqual(["getState", "start"]);
    expect((await world.session.store.load("m")).driver.config).toEqual({ url: "tcp://127.0.0.7:2376" });
    expect(machine.record.driver.config).toEqual({ url: "tcp://127.0.0.7:2376" });
  });

  it("kill has no already-in-state check; several machines run concurrently and each failure is its own", async () => {
    await setup(fakeDriver({ allow: ["kill"] }));
    await world.session.store.save(fakeRecord("a"));
    await world.session.store.save(fakeRecord("b"));
    const results = await powerMachines(world.session, "kill", ["a", "b"]);
    expect(results.map((r) => r.ok)).toEqual([true, true]);
    expect(fake.methods("a")).toEqual(["kill"]);
    expect(fake.methods("b")).toEqual(["kill"]);
  });

  it("runs nothing when one of the machines does not exist (exit 4)", async () => {
    await setup(fakeDriver({}));
    await world.session.store.save(fakeRecord("a"));
    const err = await rejection(powerMachines(world.session, "stop", ["a", "ghost"]));
    expect(err.code).toBe("NOT_FOUND");
    expect(err.exitCode).toBe(ExitCode.notFound);
    expect(fake.calls).toEqual([]);
  });
});

describe("rm", () => {
  it("without -f a driver failure keeps the record (REMOVE_FAILED); with -f the record goes with a warning", async () => {
    await setup(fakeDriver({ allow: ["remove"], fail: { remove: new TsmError("VBOXMANAGE", "VBoxManage unregistervm failed") } }));
    await world.session.store.save(fakeRecord("m"));
    const err = await rejection(removeMachine(world.session, "m", { force: false }));
    expect(err.code).toBe("REMOVE_FAILED");
    expect(err.message).toBe('Error removing machine "m": VBoxManage unregistervm failed');
    expect(world.hasMachine("m")).toBe(true);
    expect(await removeMachine(world.session, "m", { force: true })).toBe("removed");
    expect(world.hasMachine("m")).toBe(false);
    expect(world.err.join("")).toContain('Warning: fake could not remove "m" (VBoxManage unregistervm failed); removing the record anyway.');
  });

  it("removes in turn, reports each outcome, and throws every failure together", async () => {
    await setup(fakeDriver({ allow: ["remove"] }));
    await world.session.store.save(fakeRecord("a"));
    await world.session.store.save(fakeRecord("b"));
    const outcomes: string[] = [];
    const err = await rejection(removeMachines(world.session, ["a", "ghost1", "b", "ghost2"], { force: false }, (n, o) => outcomes.push(`${n}:${o}`)));
    expect(outcomes).toEqual(["a:removed", "b:removed"]);
    expect(err).toBeInstanceOf(MultiMachineError);
    expect(err.exitCode).toBe(ExitCode.notFound);
    expect((err as MultiMachineError).errors.map((e) => e.message)).toEqual([
      'Machine "ghost1" does not exist. Use "tsm ls" to list machines, "tsm create" to add one.',
      'Machine "ghost2" does not exist. Use "tsm ls" to list machines, "tsm create" to add one.',
    ]);
    expect(world.hasMachine("a") || world.hasMachine("b")).toBe(false);
  });

  it("-f on a missing machine is 'absent', not an error", async () => {
    await setup(fakeDriver({}));
    expect(await removeMachine(world.session, "ghost", { force: true })).toBe("absent");
  });
});

describe("provision and upgrade", () => {
  it("refuse a machine whose engine tsm does not manage (exit 7) without connecting", async () => {
    await setup(fakeDriver({ features: { provisionable: false } }));
    await world.session.store.save(fakeRecord("m"));
    const [p] = await provisionMachines(world.session, ["m"]);
    const upgraded: string[] = [];
    const [u] = await upgradeMachines(world.session, ["m"], (n) => upgraded.push(n));
    for (const r of [p, u]) {
      expect(r!.ok).toBe(false);
      expect((r as { error: TsmError }).error).toBeInstanceOf(NotSupportedError);
      expect((r as { error: TsmError }).error.exitCode).toBe(ExitCode.state);
    }
    expect(upgraded).toEqual([]);
    expect(world.sshCalls).toEqual([]);
  });

  it("provision again after a create that failed midway: the key pinned then is checked, the failure is per machine", async () => {
    const ssh = emptySshLog();
    await setup(fakeDriver({ allow: ["preCreateCheck", "create"], features: { provisionable: true, powerControl: false } }), {
      ssh: async () => fakeSshSession("ssh-ed25519 SHA256:k2", () => ({ stdout: "", stderr: "denied", exitCode: 1 }), ssh),
    });
    await rejection(createMachine(world.session, createRequest("m")));
    const [r] = await provisionMachines(world.session, ["m"]);
    expect(r!.ok).toBe(false);
    expect((r as { error: TsmError }).error.code).toBe("PROVISION");
    expect(world.sshCalls.map((c) => c.pinnedHostKey)).toEqual([undefined, "ssh-ed25519 SHA256:k2"]);
    expect(ssh.closed).toBe(2);
  });
});
