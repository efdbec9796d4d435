/**
 * `tsm ssh` and `tsm scp` command lines that are wrong, with the built tsm: each is one
 * usage line (exit 2) before anything connects, and a record whose SSH user or address
 * would be an option for OpenSSH runs nothing. (The working paths run against a real sshd
 * in test/e2e/openssh.test.ts.)
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { runTsm, tempDir } from "../helpers/cli.js";

let store: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir: store, cleanup } = await tempDir()));
afterEach(() => cleanup());

it.each([
  [["ssh", "m", "-D", "1080"], /-D after the machine name is tsm's own option, not ssh's.*-o DynamicForward=PORT/],
  [["ssh", "m", "-Cs", "sftp"], /-s after the machine name is tsm's own option/],
  [["ssh", "m", "--compress", "ls"], /ssh has no option "--compress": put the remote command after "--"/],
  [["ssh", "m", "-L"], /The ssh option -L needs a value/],
  [["ssh", "-C", "echo"], /tsm ssh takes the machine name first \(got "-C"\)/],
  [["scp", "-d", "a", "b"], /Neither the source nor the target names a machine/],
  [["scp", "-d", "m:a", "n:b"], /scp --delta copies between this computer and one machine/],
])("tsm %j is a usage error, before any connection", async (args, message) => {
  const r = await runTsm(store, args);
  expect(r.exitCode, r.stderr).toBe(2);
  expect(r.stderr.trim().split("\n").at(-1)).toMatch(message);
});

it.each([
  ["user", { sshUser: "-oProxyCommand=touch MARK" }],
  ["address", { ipAddress: "-oProxyCommand=touch MARK" }],
])("a record whose SSH %s would be an option runs nothing", async (_what, bad) => {
  expect((await runTsm(store, ["create", "-d", "none", "--url", "tcp://127.0.0.1:2376", "m"])).exitCode).toBe(0);
  const mark = path.join(store, "pwned");
  const file = path.join(store, "machines", "m", "config.json");
  const record = JSON.parse(readFileSync(file, "utf8"));
  const config = { ipAddress: "127.0.0.1", sshUser: "root", sshKeyPath: "", sshPort: 1, enginePort: 2376, ...bad };
  record.driver = { name: "generic", config: JSON.parse(JSON.stringify(config).replace("MARK", mark)) };
  writeFileSync(file, JSON.stringify(record));
  for (const args of [["ssh", "m", "true"], ["scp", "m:x", path.join(store, "x")], ["scp", "-d", "m:x", path.join(store, "x")]]) {
    const r = await runTsm(store, args, { env: { TSM_SSH_TIMEOUT: "1" } });
    expect(r.exitCode, r.stderr).not.toBe(0);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    // The generic driver refuses such an address when it opens the record; a user reaches OpenSSH's check.
    expect(r.stderr).toMatch(_what === "user" ? /Refusing to run OpenSSH: the machine's SSH user "-oProxyCommand=touch .*" is not valid/ : /ipAddress: expected an IP address or a host name/);
  }
  expect(existsSync(mark)).toBe(false);
});
