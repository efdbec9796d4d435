import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { noneDriver } from "../../../drivers/none/index.js";
import { CorruptRecordError, MachineNotFoundError } from "../../../src/model/errors.js";
import type { MachineRecord } from "../../../src/model/machine.js";
import { DriverRegistry } from "../../../src/model/registry.js";
import { FileStore, naturalCompare } from "../../../src/store/file-store.js";
import { storePaths } from "../../../src/store/paths.js";
import { tempDir } from "../../helpers/cli.js";

function record(name: string): MachineRecord {
  return {
    configVersion: 1,
    name,
    createdAt: "2026-01-01T00:00:00.000Z",
    driver: { name: "none", config: { url: "tcp://127.0.0.1:2376" } },
    engine: {
      port: 2376,
      installMethod: "script",
      installUrl: "https://get.docker.com",
      binaryUrl: "",
      opts: [],
      env: [],
      labels: ["a=b"],
      insecureRegistries: [],
      registryMirrors: [],
      storageDriver: "",
    },
    tls: { sans: [] },
  };
}

describe("FileStore", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let store: FileStore;

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    store = new FileStore(storePaths(dir), new DriverRegistry().register(noneDriver));
  });
  afterEach(() => cleanup());

  it("saves a record atomically with private modes and loads it back", async () => {
    await store.save(record("dev"));
    const file = path.join(dir, "machines", "dev", "config.json");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(dir, "machines", "dev"))).mode & 0o777).toBe(0o700);
    expect(await store.load("dev")).toEqual(record("dev"));
    const siblings = await import("node:fs/promises").then((fs) => fs.readdir(path.join(dir, "machines", "dev")));
    expect(siblings).toEqual(["config.json"]);
  });

  it("lists machine directories in natural case-insensitive order and ignores other entries", async () => {
    for (const n of ["baz10", "Baz2", "bar"]) await store.save(record(n));
    await mkdir(path.join(dir, "machines", ".hidden"));
    await writeFile(path.join(dir, "machines", "stray-file"), "x");
    expect(await store.list()).toEqual(["bar", "Baz2", "baz10"]);
  });

  it("lists nothing for a store that does not exist yet", async () => {
    expect(await store.list()).toEqual([]);
  });

  it("reports a missing machine as not found", async () => {
    await expect(store.load("nope")).rejects.toBeInstanceOf(MachineNotFoundError);
  });

  it.each([
    ["a truncated file", (t: string) => t.slice(0, 40), /not valid JSON \(truncated\?\)/],
    ["an empty file", () => "", /config\.json is empty/],
    ["a record from a newer tsm", (t: string) => t.replace('"configVersion": 1', '"configVersion": 9'), /newer tsm \(record version 9, this tsm reads up to 1\); upgrade tsm/],
    ["a record with a wrong field type", (t: string) => t.replace('"port": 2376', '"port": "x"'), /engine\.port: Invalid input: expected number, received string/],
    ["a record naming another machine", (t: string) => t.replace('"name": "dev"', '"name": "other"'), /names another machine \("other"\)/],
    ["a record with an unknown driver", (t: string) => t.replace('"name": "none"', '"name": "bogus"'), /unknown driver "bogus" \(known: none\)/],
    ["a record with invalid driver settings", (t: string) => t.replace("tcp://127.0.0.1:2376", "http://x"), /invalid none driver settings/],
  ])("refuses %s with a clear CorruptRecordError", async (_what, mutate, message) => {
    await store.save(record("dev"));
    const file = path.join(dir, "machines", "dev", "config.json");
    await writeFile(file, mutate(await readFile(file, "utf8")));
    const err = await store.load("dev").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptRecordError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toMatch(/tsm rm -f dev/);
  });

  it("reports a machine directory without a record as an interrupted create", async () => {
    await mkdir(path.join(dir, "machines", "half"), { recursive: true });
    await expect(store.load("half")).rejects.toThrow(/config\.json is missing \(an interrupted create\?\)/);
    const r = await store.tryLoad("half");
    expect(r.ok).toBe(false);
  });

  it("serialises concurrent writers through the machine lock", async () => {
    const order: string[] = [];
    await Promise.all(
      [1, 2, 3].map((i) =>
        store.withMachineLock("dev", async () => {
          order.push(`in${i}`);
          await new Promise((r) => setTimeout(r, 30));
          order.push(`out${i}`);
        }),
      ),
    );
    for (let i = 0; i < order.length; i += 2) expect(order[i]!.slice(2)).toBe(order[i + 1]!.slice(3));
  });

  it("reports a lock that keeps it waiting through the sink it was given, naming the holder's command", async () => {
    const told: string[] = [];
    const holder = new FileStore(storePaths(dir), new DriverRegistry().register(noneDriver), { command: "tsm create dev" });
    const waiter = new FileStore(storePaths(dir), new DriverRegistry().register(noneDriver), { onWait: (m) => void told.push(m) });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const first = holder.withMachineLock("dev", async () => {
      entered();
      await held;
    });
    await inside;
    const second = waiter.withMachineLock("dev", async () => "second");
    const poll = setInterval(() => {
      if (told.length > 0) release();
    }, 20);
    try {
      await first;
      expect(await second).toBe("second");
    } finally {
      clearInterval(poll);
    }
    expect(told).toEqual([`Waiting for the lock of machine "dev", held by tsm create dev (pid ${process.pid})...`]);
  });
});

describe("naturalCompare", () => {
  it("orders numbers numerically and ignores case", () => {
    expect(["a10", "A2", "a1", "b", "a"].sort(naturalCompare)).toEqual(["a", "a1", "A2", "a10", "b"]);
  });
});
