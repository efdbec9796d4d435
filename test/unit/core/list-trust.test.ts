/**
 * core/list.ts under the faults of issue 11, in-process: a key that is not its
 * certificate's is an error row (checked only when the stamp does not vouch for the
 * pair); a machine whose create is running is shown as "Creating", one whose create
 * did not finish as incomplete with the command that finishes it.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createMachine } from "../../../src/core/lifecycle.js";
import { regenerateCerts } from "../../../src/core/regenerate-certs.js";
import type { Driver, OpContext } from "../../../src/model/driver.js";
import { listMachines, type LsRow } from "../../../src/core/list.js";
import { parseFilters } from "../../../src/core/ls-filter.js";
import { generateRsaKeyPair } from "../../../src/certs/authority.js";
import { JOURNAL_FILE } from "../../../src/store/file-set.js";
import { fakeDriver, type FakeDriverKit } from "../../fakes/fake-driver.js";
import { createRequest, fakeRecord } from "../../fakes/records.js";
import { tempStore, type TempStore } from "../../fakes/temp-store.js";

let world: TempStore;
let fake: FakeDriverKit;

beforeEach(async () => {
  fake = fakeDriver({ allow: ["preCreateCheck", "create"], state: "Stopped" });
  world = await tempStore({ drivers: [fake.descriptor] });
});
afterEach(async () => {
  expect(fake.unexpected).toEqual([]);
  expect(world.unexpected).toEqual([]);
  await world.cleanup();
});

async function rows(): Promise<Map<string, LsRow>> {
  const { rows } = await listMachines(world.session, { quiet: false, filters: parseFilters([]), timeoutMs: 5000 });
  return new Map(rows!.map((r) => [r.Name, r]));
}

const mp = (name: string) => world.session.store.paths.machine(name);

describe("ls and a machine's key pairs", () => {
  it("a machine whose certificates tsm wrote is listed as it is", async () => {
    await createMachine(world.session, createRequest("m"));
    const row = (await rows()).get("m")!;
    expect([row.State, row.Error]).toEqual(["Stopped", ""]);
  });

  it.each([
    ["server", "serverKey", "the server key does not match the server certificate"],
    ["client", "clientKey", "the client key does not match the client certificate"],
  ] as const)("a %s key replaced by another key is an Error row naming the mismatch and the fix", async (_what, file, problem) => {
    await createMachine(world.session, createRequest("m"));
    writeFileSync(mp("m")[file], (await generateRsaKeyPair()).keyPem);
    const row = (await rows()).get("m")!;
    expect(row.State).toBe("Error");
    expect(row.Error).toBe(`The certificates of "m" are not usable: ${problem}. Run "tsm regenerate-certs m"`);
  });

  it("a key file that is not a key, or missing beside its certificate, is an Error row", async () => {
    await createMachine(world.session, createRequest("a"));
    await createMachine(world.session, createRequest("b"));
    writeFileSync(mp("a").serverKey, "garbage");
    renameSync(mp("b").clientKey, `${mp("b").clientKey}.gone`);
    const all = await rows();
    expect(all.get("a")!.Error).toBe(`The certificates of "a" are not usable: the server key cannot be read (${mp("a").serverKey}). Run "tsm regenerate-certs a"`);
    expect(all.get("b")!.Error).toBe(`The certificates of "b" are not usable: the client key is missing (${mp("b").clientKey}). Run "tsm regenerate-certs b"`);
  });

  it("trusts the stamp while every file is the one it describes: the same bytes under a new inode are checked again and pass", async () => {
    await createMachine(world.session, createRequest("m"));
    copyFileSync(mp("m").serverKey, `${mp("m").serverKey}.copy`);
    renameSync(`${mp("m").serverKey}.copy`, mp("m").serverKey);
    expect((await rows()).get("m")!.Error).toBe("");
  });
});

describe("a machine's certificate set is one unit", () => {
  it("a set whose writer crashed after its journal is completed by the next holder of the machine lock", async () => {
    await createMachine(world.session, createRequest("m"));
    const keep = { serverKey: readFileSync(mp("m").serverKey, "utf8"), serverCert: readFileSync(mp("m").serverCert, "utf8") };
    // A crashed regenerate-certs: the new server key is in place, its certificate is not.
    const other = (await generateRsaKeyPair()).keyPem;
    writeFileSync(
      `${mp("m").dir}/${JOURNAL_FILE}`,
      JSON.stringify({ version: 1, files: [{ name: "server-key.pem", content: keep.serverKey, mode: 0o600 }, { name: "server.pem", content: keep.serverCert, mode: 0o644 }] }),
    );
    writeFileSync(mp("m").serverKey, other);
    expect((await rows()).get("m")!.Error).toMatch(/the server key does not match the server certificate/);
    await world.session.store.withMachineLock("m", async () => undefined);
    expect(readFileSync(mp("m").serverKey, "utf8")).toBe(keep.serverKey);
    expect((await rows()).get("m")!.Error).toBe("");
  });
});

/** The fake driver's create waits at its start until `go` is called; `entered` resolves when it got there. */
function holdCreate(kit: FakeDriverKit): { entered: Promise<void>; go: () => void } {
  let go!: () => void;
  let entered!: () => void;
  const gate = new Promise<void>((r) => (go = r));
  const reached = new Promise<void>((r) => (entered = r));
  const open = kit.descriptor.open.bind(kit.descriptor);
  (kit.descriptor as { open: typeof open }).open = async (config, host) => {
    const driver = (await open(config, host)) as Driver & { create: (ctx: OpContext) => Promise<void> };
    const create = driver.create.bind(driver);
    driver.create = async (ctx) => {
      entered();
      await gate;
      return create(ctx);
    };
    return driver;
  };
  return { entered: reached, go };
}

describe("ls while a create runs (defect 5)", () => {
  it("shows the machine as Creating, without an error and without asking its driver", async () => {
    const hold = holdCreate(fake);
    const creating = createMachine(world.session, createRequest("m"));
    await hold.entered;
    const row = (await rows()).get("m");
    expect(row && [row.Name, row.DriverName, row.State, row.URL, row.Error]).toEqual(["m", "fake", "Creating", "", ""]);
    expect(fake.calls.filter((c) => c.method === "getState")).toEqual([]);
    hold.go();
    await creating;
    expect((await rows()).get("m")!.State).toBe("Stopped");
  });
});

/** Leaves "m" as a create that died after its record: creating.json names a process that has exited. */
function interrupted(name: string): void {
  const pid = Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString());
  writeFileSync(mp(name).creating, JSON.stringify({ pid, startedAt: "2026-01-01T00:00:00.000Z" }));
}

describe("ls after an interrupted create (defect 8)", () => {
  it("marks it incomplete with regenerate-certs for a driver tsm does not provision; regenerate-certs finishes it", async () => {
    await createMachine(world.session, createRequest("m"));
    interrupted("m");
    const row = (await rows()).get("m")!;
    expect([row.State, row.DriverName, row.Error]).toEqual([
      "Error",
      "fake",
      'The create of "m" did not finish. Finish it with "tsm regenerate-certs m" or remove it with "tsm rm -f m"',
    ]);
    expect(fake.calls.filter((c) => c.method === "getState")).toEqual([]);
    await regenerateCerts(world.session, ["m"], { clientCerts: false });
    expect(existsSync(mp("m").creating)).toBe(false);
    expect((await rows()).get("m")!.State).toBe("Stopped");
  });

  it("a create that failed and said so is not incomplete: its driver tells its state, as before", async () => {
    fake.script.fail = { getIp: new Error("no address yet") };
    await expect(createMachine(world.session, createRequest("m"))).rejects.toThrow(/no address yet/);
    fake.script.fail = {};
    expect(existsSync(mp("m").creating)).toBe(false);
    const row = (await rows()).get("m")!;
    expect([row.State, row.Error]).toEqual(["Stopped", ""]);
  });

  it("names tsm provision for a driver tsm provisions", async () => {
    fake.script.features = { provisionable: true };
    await world.session.store.save(fakeRecord("p"));
    interrupted("p");
    expect((await rows()).get("p")!.Error).toBe('The create of "p" did not finish. Finish it with "tsm provision p" or remove it with "tsm rm -f p"');
  });
});
