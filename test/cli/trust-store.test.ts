/**
 * The store and its certificates under faults (issue 11), with the built tsm: a full
 * disk, a damaged CA, a crash between two writes that belong together, a create
 * interrupted or still running while another command looks. Faults are injected at
 * exact points (test/helpers/fs-faults.ts), so every case is deterministic.
 */
import { readdir } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { faultEnv } from "../helpers/fs-faults.js";
import { runTsm, tempDir } from "../helpers/cli.js";

let store: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir: store, cleanup } = await tempDir()));
afterEach(() => cleanup());

const create = (name: string, env: Record<string, string> = {}, url = "tcp://127.0.0.1:2376") =>
  runTsm(store, ["create", "-d", "none", "--url", url, name], { env });

/** Every file under the store, relative to it. */
async function allFiles(dir = store, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(`${rel}/`, ...(await allFiles(path.join(dir, e.name), rel)));
    else out.push(rel);
  }
  return out;
}

describe("a full disk (defect 9)", () => {
  it("names the record that could not be written, says the disk is full, and leaves no machine and no temporary file", async () => {
    const r = await create("m", faultEnv([{ op: "write", name: "config\\.json", enospc: true }]));
    expect(r.exitCode).toBe(1);
    const record = path.join(store, "machines", "m", "config.json");
    expect(r.stderr.trim().split("\n").at(-1)).toBe(`Error: Cannot write ${record}: the disk is full (ENOSPC). Free some space and run the command again`);
    expect(await readdir(path.join(store, "machines"))).toEqual([]);
    expect((await allFiles()).filter((f) => !/^(certs|locks|machines)\/$|^certs\/(ca|ca-key|cert|key)\.pem$/.test(f))).toEqual([]);
  });

  it("names the server key when the disk fills up while the machine's certificates are written", async () => {
    const r = await create("m", faultEnv([{ op: "write", name: "server-key\\.pem", enospc: true }]));
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`Cannot write ${path.join(store, "machines", "m", "server-key.pem")}: the disk is full (ENOSPC). Free some space and run the command again`);
    expect(r.stderr).not.toMatch(/^Error: ENOSPC/m);
  });

  it("names the CA key when the disk fills up while the CA is written", async () => {
    const r = await create("m", faultEnv([{ op: "write", name: "ca-key\\.pem", enospc: true }]));
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`Cannot write ${path.join(store, "certs", "ca-key.pem")}: the disk is full (ENOSPC)`);
  });
});
