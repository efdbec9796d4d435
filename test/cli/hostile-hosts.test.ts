/**
 * Issue 11, defect 4: hosts are a DNS name or an IP literal wherever they enter tsm
 * (--url, --generic-ip-address, --swarm-addr) and wherever a record brings them back
 * (a hand-edited or older record): nothing can inject docker flags through
 * `tsm config`, split `tsm url` or an ls row, or reach a server certificate.
 */
import { readFile, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTsm, tempDir } from "../helpers/cli.js";

let store: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir: store, cleanup } = await tempDir());
  const r = await runTsm(store, ["create", "-d", "none", "--url", "tcp://127.0.0.1:1", "good"]);
  expect(r.exitCode, r.stderr).toBe(0);
});
afterAll(() => cleanup());

const machines = async () => readdir(path.join(store, "machines")).catch(() => [] as string[]);

async function editRecord(name: string, edit: (rec: { driver: { config: Record<string, unknown> } }) => void): Promise<void> {
  const file = path.join(store, "machines", name, "config.json");
  const rec = JSON.parse(await readFile(file, "utf8"));
  edit(rec);
  await writeFile(file, JSON.stringify(rec, null, 2));
}

describe("hosts given on the command line", () => {
  it.each([
    ["tcp://127.0.0.1 --tlsverify=false -l:2376"],
    ["tcp://a\nb:2376"],
    ["tcp://$(touch pwned):2376"],
    ["tcp://-H:2376"],
    ["tcp://[127.0.0.1]:2376"],
    ["tcp://999.1.1.1:2376"],
  ])("create -d none --url %j is a usage error (exit 2) on one line, and nothing is created", async (url) => {
    const r = await runTsm(store, ["create", "-d", "none", "--url", url, "u"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(`Error: Invalid --url ${JSON.stringify(url)}: the host must be a DNS name or an IP address (IPv6 in brackets)\n`);
    expect(await machines()).not.toContain("u");
  });

  it("NONE_URL follows the same rule", async () => {
    const r = await runTsm(store, ["create", "-d", "none", "u"], { env: { NONE_URL: "tcp://a b:2376" } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe('Error: Invalid NONE_URL "tcp://a b:2376": the host must be a DNS name or an IP address (IPv6 in brackets)\n');
  });

  it("accepts a bracketed IPv6 engine", async () => {
    const r = await runTsm(store, ["create", "-d", "none", "--url", "tcp://[::1]:2376", "six"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await runTsm(store, ["url", "six"])).stdout).toBe("tcp://[::1]:2376\n");
    expect((await runTsm(store, ["ip", "six"])).stdout).toBe("::1\n");
  });

  it.each([["10.0.0.1 --foo"], ["a\nb"], ["$(id)"], ["999.1.1.1"]])("--swarm-addr %j is a usage error (exit 2), nothing created", async (addr) => {
    const r = await runTsm(store, ["create", "-d", "none", "--url", "tcp://127.0.0.1:2376", "--swarm-master", "--swarm-addr", addr, "sw"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(`Error: Invalid --swarm-addr ${JSON.stringify(addr)}: expected an IP address, a DNS name or a network interface name\n`);
    expect(await machines()).not.toContain("sw");
  });

  it.each([["999.1.1.1"], ["1::2::3"], ["a b"]])("--generic-ip-address %j is a usage error (exit 2)", async (addr) => {
    const r = await runTsm(store, ["create", "-d", "generic", "--generic-ip-address", addr, "gen"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^Error: Invalid --generic-ip-address .*: expected an IP address or a host name\n$/);
    expect(await machines()).not.toContain("gen");
  });
});

describe("a record whose host breaks the rule (hand-edited, or from an older tsm)", () => {
  beforeAll(async () => {
    for (const name of ["inj", "nl"]) {
      const r = await runTsm(store, ["create", "-d", "none", "--url", "tcp://127.0.0.1:1", name]);
      expect(r.exitCode, r.stderr).toBe(0);
    }
    await editRecord("inj", (rec) => (rec.driver.config.url = "tcp://127.0.0.1 --tlsverify=false -l:2376"));
    await editRecord("nl", (rec) => (rec.driver.config.url = "tcp://a\nb:2376"));
  });

  it("ls shows one error row per machine, never a split row", async () => {
    const r = await runTsm(store, ["ls", "-t", "2"]);
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines.map((l) => l.split(" ")[0])).toEqual(["NAME", "good", "inj", "nl", "six"]);
    const byName = new Map(lines.slice(1).map((l) => [l.split(" ")[0]!, l]));
    expect(byName.get("inj")).toMatch(/^inj +unknown +Error +Machine "inj" has an unreadable record: .*has an invalid host.*Remove it with "tsm rm -f inj"$/);
    expect(byName.get("nl")).toMatch(/^nl +unknown +Error +Machine "nl" has an unreadable record: .*"tcp:\/\/a\\nb:2376" has an invalid host/);
    // The URL column stays empty: the host appears only quoted, inside the error.
    expect(byName.get("inj")).toMatch(/^inj +unknown +Error +Machine/);
  });

  it.each([["config"], ["env"], ["url"], ["ip"], ["inspect"]])("%s refuses it (exit 6) with one line naming the problem", async (cmd) => {
    for (const name of ["inj", "nl"]) {
      const r = await runTsm(store, [cmd, name]);
      expect(r.exitCode, `${cmd} ${name}`).toBe(6);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(new RegExp(`^Error: Machine "${name}" has an unreadable record: invalid none driver settings \\(The engine URL .* has an invalid host: use a DNS name or an IP address \\(IPv6 in brackets\\)\\)\\. Remove it with "tsm rm -f ${name}"\\n$`));
    }
  });

  it("a generic record with a bad address is refused the same way", async () => {
    const dir = path.join(store, "machines", "gen-bad");
    const { mkdir } = await import("node:fs/promises");
    await mkdir(dir, { recursive: true });
    const good = JSON.parse(await readFile(path.join(store, "machines", "good", "config.json"), "utf8"));
    good.name = "gen-bad";
    good.driver = { name: "generic", config: { ipAddress: "10.0.0.1 --tlsverify=false", sshUser: "root", sshKeyPath: "", sshPort: 22, enginePort: 2376 } };
    await writeFile(path.join(dir, "config.json"), JSON.stringify(good, null, 2));
    const r = await runTsm(store, ["url", "gen-bad"]);
    expect(r.exitCode).toBe(6);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^Error: Machine "gen-bad" has an unreadable record: invalid generic driver settings \(.*ipAddress.*\)\. Remove it with "tsm rm -f gen-bad"\n$/);
    const rm = await runTsm(store, ["rm", "-f", "gen-bad"]);
    expect(rm.exitCode).toBe(0);
  });
});
