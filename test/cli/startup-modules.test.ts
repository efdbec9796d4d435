/**
 * Store-only commands stay light (DESIGN.md): `env`, `config`, `url` and `ls -q` must not
 * load Node's stream, net, crypto or child_process modules, nor ssh2 or node-forge. A
 * preload records what the built tsm loaded; one stray `process.stderr.isTTY` or a
 * top-level `node:crypto` import in a driver descriptor shows up here (both happened).
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTsm, tempDir } from "../helpers/cli.js";

let store: string;
let cleanup: () => Promise<void>;
let preload: string;
beforeAll(async () => {
  ({ dir: store, cleanup } = await tempDir());
  preload = path.join(store, "record-modules.cjs");
  await writeFile(
    preload,
    `const before = new Set(process.moduleLoadList);
process.on("exit", () => {
  const builtins = process.moduleLoadList.filter((m) => !before.has(m));
  const packages = Object.keys(require.cache).filter((f) => f.includes("node_modules"));
  require("node:fs").writeFileSync(process.env.TSM_TEST_MODULES_OUT, JSON.stringify({ builtins, packages }));
});
`,
  );
  const r = await runTsm(store, ["create", "-d", "none", "--url", "tcp://127.0.0.1:2376", "light"]);
  expect(r.exitCode, r.stderr).toBe(0);
});
afterAll(() => cleanup());

const HEAVY_BUILTINS = /^NativeModule (stream|net|crypto|child_process|tls|https?|internal\/streams\/readable|zlib|fs\/promises|internal\/readline\/interface)$/;

describe("start-up of store-only commands", () => {
  it.each([[["env", "light"]], [["config", "light"]], [["url", "light"]], [["ls", "-q"]]])("%j loads no heavy module", async (args) => {
    const out = path.join(store, `modules-${args.join("-")}.json`);
    const r = await runTsm(store, args, { env: { NODE_OPTIONS: `--require ${preload}`, TSM_TEST_MODULES_OUT: out } });
    expect(r.exitCode, r.stderr).toBe(0);
    const { builtins, packages } = JSON.parse(await readFile(out, "utf8")) as { builtins: string[]; packages: string[] };
    expect(builtins.length).toBeGreaterThan(0); // the recorder works
    expect(builtins.filter((m) => HEAVY_BUILTINS.test(m))).toEqual([]);
    expect(packages.filter((p) => /[\\/](ssh2|node-forge|cpu-features|proper-lockfile|write-file-atomic)[\\/]/.test(p))).toEqual([]);
  });
});
