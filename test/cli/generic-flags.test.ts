/**
 * create -d generic refuses bad flags before anything is written or any
 * connection is made.
 */
import { chmod, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTsm, tempDir } from "../helpers/cli.js";

let store: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir: store, cleanup } = await tempDir()));
afterAll(() => cleanup());

const machines = async () => readdir(path.join(store, "machines")).catch(() => [] as string[]);

describe("create -d generic flag checks", () => {
  it.each([
    [[], 2, /The generic driver needs --generic-ip-address \(or GENERIC_IP_ADDRESS\)/],
    [["--generic-ip-address", "not an address!"], 2, /Invalid --generic-ip-address "not an address!"/],
    [["--generic-ip-address", "127.0.0.1", "--generic-ssh-port", "70000"], 2, /Invalid --generic-ssh-port 70000/],
    [["--generic-ip-address", "127.0.0.1", "--generic-ssh-port", "x"], 2, /Invalid --generic-ssh-port "x": expected a whole number/],
    [["--generic-ip-address", "127.0.0.1", "--generic-ssh-user", "a b"], 2, /Invalid --generic-ssh-user "a b"/],
    [["--generic-ip-address", "127.0.0.1", "--generic-ssh-key", "/nonexistent/key"], 3, /SSH key does not exist: "\/nonexistent\/key"/],
    [["--generic-ip-address", "127.0.0.1", "--engine-install-method", "binary"], 2, /--engine-install-method binary needs --engine-binary-url/],
    [["--generic-ip-address", "127.0.0.1", "--engine-install-method", "magic"], 2, /Invalid --engine-install-method "magic"/],
    [["--generic-ip-address", "127.0.0.1", "--swarm"], 2, /--swarm needs --swarm-join MASTER/],
    [["--generic-ip-address", "127.0.0.1", "--swarm-join", "nosuch"], 3, /cannot join the cluster of "nosuch"/],
  ])("%j -> exit %i, nothing written", async (flags, code, message) => {
    const r = await runTsm(store, ["create", "-d", "generic", ...flags, "g1"]);
    expect(r.exitCode).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(await machines()).not.toContain("g1");
  });

  it("refuses a private key readable by others (exit 3), as OpenSSH does", async () => {
    const key = path.join(store, "open-key");
    await writeFile(key, "not really a key\n");
    await chmod(key, 0o644);
    const r = await runTsm(store, ["create", "-d", "generic", "--generic-ip-address", "127.0.0.1", "--generic-ssh-key", key, "g2"]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/Permissions 644 for .* are too open: run chmod 600/);
    expect(await machines()).not.toContain("g2");
  });

  it("reads GENERIC_* variables, and lists the driver's flags in help", async () => {
    const r = await runTsm(store, ["create", "-d", "generic", "g3"], { env: { GENERIC_IP_ADDRESS: "127.0.0.1", GENERIC_SSH_PORT: "nope" } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/Invalid GENERIC_SSH_PORT "nope"/);
    const help = await runTsm(store, ["create", "-d", "generic", "--help"]);
    for (const f of ["--generic-ip-address", "--generic-ssh-user", "--generic-ssh-key", "--generic-ssh-port", "--generic-engine-port"]) expect(help.stdout).toContain(f);
    expect(help.stdout).toContain("(default: root) (env: GENERIC_SSH_USER)");
  });
});
