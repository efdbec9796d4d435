/**
 * core/remote.ts and core/copy.ts in-process with a fake SSH connector: the
 * driver's endpoint, the pinned host key (trust on first use, then checked),
 * the `user` option (scp's user@machine:), ssh-trust's ignorePinnedKey, and
 * the machine-to-machine copy through a local temporary copy.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { copyFiles } from "../../../src/core/copy.js";
import { openMachine } from "../../../src/core/open.js";
import { connectMachine, withRemote } from "../../../src/core/remote.js";
import { opContext } from "../../../src/core/session.js";
import type { MachineRecord } from "../../../src/model/machine.js";
import type { SshConnectOptions } from "../../../src/ssh/client.js";
import { fakeDriver, type FakeDriverKit } from "../../fakes/fake-driver.js";
import { emptySshLog, fakeSshSession, type FakeSshLog } from "../../fakes/fake-ssh.js";
import { fakeRecord } from "../../fakes/records.js";
import { tempStore, type TempStore } from "../../fakes/temp-store.js";

const KEY = "ssh-ed25519 SHA256:hostkey";

let world: TempStore;
let fake: FakeDriverKit;
let log: FakeSshLog;

beforeEach(async () => {
  fake = fakeDriver({ features: { provisionable: true, powerControl: false }, ssh: { user: "debian", port: 2222, privateKeyPath: "/keys/id" } });
  log = emptySshLog();
  world = await tempStore({
    drivers: [fake.descriptor],
    ssh: async (o: SshConnectOptions) => fakeSshSession(KEY, (cmd) => ({ stdout: `ran ${cmd} as ${o.target.user}`, stderr: "", exitCode: 0 }), log),
  });
  await world.session.store.save(fakeRecord("m", { url: "tcp://10.0.0.5:2376" }));
});
afterEach(async () => {
  expect(fake.unexpected).toEqual([]);
  expect(world.unexpected).toEqual([]);
  await world.cleanup();
});

describe("connectMachine", () => {
  it("connects to the driver's endpoint, pins the host key on first contact, and checks it afterwards", async () => {
    const machine = await openMachine(world.session, "m");
    (await connectMachine(world.session, machine)).close();
    expect(world.sshCalls[0]!.target).toEqual({ host: "10.0.0.5", port: 2222, user: "debian", privateKeyPath: "/keys/id" });
    expect(world.sshCalls[0]!.pinnedHostKey).toBeUndefined();
    expect(world.sshCalls[0]!.machineName).toBe("m");
    expect((await world.session.store.load("m")).ssh).toEqual({ hostKey: KEY });
    expect(machine.record.ssh).toEqual({ hostKey: KEY });

    (await connectMachine(world.session, await openMachine(world.session, "m"))).close();
    expect(world.sshCalls[1]!.pinnedHostKey).toBe(KEY);
    expect(log.closed).toBe(2);
  });

  it("logs in as another user with the same host, port and key", async () => {
    (await connectMachine(world.session, await openMachine(world.session, "m"), { user: "alice" })).close();
    expect(world.sshCalls[0]!.target).toEqual({ host: "10.0.0.5", port: 2222, user: "alice", privateKeyPath: "/keys/id" });
  });

  it("ignorePinnedKey connects as on first contact and hands the key seen to pin only: the record and the handle keep the old key", async () => {
    const pinned: MachineRecord = { ...fakeRecord("m", { url: "tcp://10.0.0.5:2376" }), ssh: { hostKey: "ssh-ed25519 SHA256:old" } };
    await world.session.store.save(pinned);
    const machine = await openMachine(world.session, "m");
    const seen: string[] = [];
    (await connectMachine(world.session, machine, { ignorePinnedKey: true, pin: async (r) => void seen.push(r.ssh!.hostKey) })).close();
    expect(world.sshCalls[0]!.pinnedHostKey).toBeUndefined();
    expect(seen).toEqual([KEY]);
    expect(machine.record.ssh).toEqual({ hostKey: "ssh-ed25519 SHA256:old" });
    expect((await world.session.store.load("m")).ssh).toEqual({ hostKey: "ssh-ed25519 SHA256:old" });
  });
});

describe("withRemote", () => {
  it("runs over one connection and closes it; isRoot follows the login user", async () => {
    const machine = await openMachine(world.session, "m");
    const ctx = opContext(world.session, "m");
    const out = await withRemote(world.session, machine, ctx, async (remote) => {
      expect(remote.isRoot).toBe(false);
      return (await remote.run("id -u")).stdout;
    });
    expect(out).toBe("ran id -u as debian");
    expect(await withRemote(world.session, machine, ctx, async (remote) => remote.isRoot, { user: "root" })).toBe(true);
    expect(log.closed).toBe(2);
  });

  it("closes the connection when the work fails", async () => {
    const machine = await openMachine(world.session, "m");
    await expect(withRemote(world.session, machine, opContext(world.session, "m"), async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(log.closed).toBe(1);
  });

  it("is what a driver gets as DriverHost.withRemote: the same endpoint, and the first-contact key pinned under the machine lock", async () => {
    const ran: string[] = [];
    fake.script.allow = ["restart"];
    fake.script.remote = { restart: async (remote) => void ran.push((await remote.run("reboot")).stdout) };
    const machine = await openMachine(world.session, "m");
    await machine.driver.restart(opContext(world.session, "m"));
    expect(ran).toEqual(["ran reboot as debian"]);
    expect(world.sshCalls[0]!.target).toEqual({ host: "10.0.0.5", port: 2222, user: "debian", privateKeyPath: "/keys/id" });
    expect((await world.session.store.load("m")).ssh).toEqual({ hostKey: KEY });
    expect(machine.record.ssh).toEqual({ hostKey: KEY });
    expect(log.closed).toBe(1);
  });
});

describe("copyFiles", () => {
  it("machine to machine goes through a local copy: download from one, upload the same file to the other, each as its own user", async () => {
    await world.session.store.save(fakeRecord("n", { url: "tcp://10.0.0.6:2376" }));
    await copyFiles(world.session, { machine: "m", user: "alice", path: "data/" }, { machine: "n", path: "backup" }, { recursive: true });
    expect(world.sshCalls.map((c) => `${c.target.user}@${c.target.host}`)).toEqual(["alice@10.0.0.5", "debian@10.0.0.6"]);
    expect(log.transfers).toHaveLength(2);
    const [down, up] = log.transfers;
    expect(down).toMatchObject({ op: "download", from: "data/", recursive: true });
    expect(down!.to).toMatch(/tsm-scp-[^/]+\/data$/);
    expect(up).toEqual({ op: "upload", from: down!.to, to: "backup", recursive: true });
    expect(log.closed).toBe(2);
  });

  it("local to machine and machine to local use one connection each", async () => {
    await copyFiles(world.session, { path: "./a.txt" }, { machine: "m", path: "a.txt" }, { recursive: false });
    await copyFiles(world.session, { machine: "m", path: "b.txt" }, { path: "./b.txt" }, { recursive: false });
    expect(log.transfers).toEqual([
      { op: "upload", from: "./a.txt", to: "a.txt", recursive: false },
      { op: "download", from: "b.txt", to: "./b.txt", recursive: false },
    ]);
  });

  it("refuses a copy where neither side is a machine (exit 2), connecting to nothing", async () => {
    await expect(copyFiles(world.session, { path: "a" }, { path: "b" }, { recursive: false })).rejects.toMatchObject({ code: "USAGE", exitCode: 2 });
    expect(world.sshCalls).toEqual([]);
  });
});
