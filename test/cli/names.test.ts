/** Machine names have a documented maximum, enforced as a usage error by every command (issue 11, defect 7). */
import { readdir } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runTsm, tempDir } from "../helpers/cli.js";

let store: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir: store, cleanup } = await tempDir()));
afterEach(() => cleanup());

const create = (name: string) => runTsm(store, ["create", "-d", "none", "--url", "tcp://127.0.0.1:2376", name]);
const TOO_LONG = /^Error: Invalid machine name "a{32}…" \(\d+ characters\): a name has at most 64 characters\n$/;

describe("machine name length", () => {
  it("a 64-character name works end to end", async () => {
    const name = "a".repeat(64);
    const r = await create(name);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await runTsm(store, ["url", name])).stdout).toBe("tcp://127.0.0.1:2376\n");
    expect((await runTsm(store, ["rm", "-y", name])).exitCode).toBe(0);
  });

  it.each([65, 243, 300])("create refuses %i characters with a usage error that says the limit, and writes nothing", async (n) => {
    const r = await create("a".repeat(n));
    expect(r.stderr).toMatch(TOO_LONG);
    expect(r.exitCode).toBe(2);
    expect(await readdir(store)).toEqual([]);
  });

  it.each([["rm", "-y"], ["env"], ["url"], ["inspect"], ["regenerate-certs", "-f"]])("%s refuses a name that is too long the same way", async (...args) => {
    const r = await runTsm(store, [...args, "a".repeat(300)]);
    expect(r.stderr).toMatch(TOO_LONG);
    expect(r.exitCode).toBe(2);
    expect(await readdir(store).catch(() => [])).not.toContain("locks");
  });
});
