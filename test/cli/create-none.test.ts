/**
 * The built tsm, run as a subprocess against temporary stores: create, ls,
 * env, config, inspect, url, ip, status, rm with the none driver, and the
 * errors around them (message, exit status, nothing left behind).
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, readdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTsm, tempDir } from "../helpers/cli.js";

let store: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ dir: store, cleanup } = await tempDir());
  const r = await runTsm(store, ["create", "-d", "none", "--url", "tcp://127.0.0.1:2376", "--engine-label", "env=test", "--tls-san", "dev.example.com", "dev"]);
  expect(r.stderr).toContain("Creating CA:");
  expect(r.exitCode).toBe(0);
});
afterAll(() => cleanup());

describe("create -d none", () => {
  it("writes stdout nothing and reports progress on stderr", async () => {
    const r = await runTsm(store, ["create", "-d", "none", "--url", "tcp://127.1.2.3:2376", "second"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).not.toContain("Creating CA:");
    expect(r.stderr).toContain("Running pre-create checks...");
    expect(r.stderr).toMatch(/Machine "second" created in \d+\.\ds\./);
    expect(r.stderr).toContain("tsm env second");
  });

  it("keeps keys and records private", async () => {
    const mode = async (p: string) => (await stat(path.join(store, p))).mode & 0o777;
    expect(await mode("certs")).toBe(0o700);
    expect(await mode("certs/ca-key.pem")).toBe(0o600);
    expect(await mode("certs/key.pem")).toBe(0o600);
    expect(await mode("machines/dev")).toBe(0o700);
    expect(await mode("machines/dev/config.json")).toBe(0o600);
    expect(await mode("machines/dev/key.pem")).toBe(0o600);
    expect(await mode("machines/dev/server-key.pem")).toBe(0o600);
    expect(await mode("machines/dev/certs.json")).toBe(0o600);
    expect((await readdir(path.join(store, "machines", "dev"))).sort()).toEqual([
      "ca.pem",
      "cert.pem",
      "certs.json",
      "config.json",
      "key.pem",
      "server-key.pem",
      "server.pem",
    ]);
  });

  it("stores a versioned record with the engine options", async () => {
    const rec = JSON.parse(await readFile(path.join(store, "machines", "dev", "config.json"), "utf8"));
    expect(rec).toMatchObject({
      configVersion: 1,
      name: "dev",
      driver: { name: "none", config: { url: "tcp://127.0.0.1:2376" } },
      engine: { port: 2376, labels: ["env=test"] },
      tls: { sans: ["dev.example.com"] },
    });
  });

  it("refuses a duplicate name with exit 5 and changes nothing", async () => {
    const before = await readFile(path.join(store, "machines", "dev", "config.json"), "utf8");
    const r = await runTsm(store, ["create", "-d", "none", "--url", "tcp://127.0.0.1:9999", "dev"]);
    expect(r.exitCode).toBe(5);
    expect(r.stderr).toBe('Error: Machine "dev" already exists\n');
    expect(await readFile(path.join(store, "machines", "dev", "config.json"), "utf8")).toBe(before);
  });

  it.each([
    ["../evil"],
    ["-x"],
    [".hidden"],
    ["has space"],
    ["semi;colon"],
    ["a/b"],
    ["$(touch pwned)"],
  ])("refuses the invalid name %j with exit 2", async (name) => {
    const r = await runTsm(store, ["create", "-d", "none", "--url", "tcp://127.0.0.1:2376", "--", name]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^Error: Invalid machine name .*: use letters, digits, '\.' and '-', starting with a letter or digit\n$/);
    expect(await readdir(path.join(store, "machines"))).not.toContain(name);
  });

  it.each([
    [["--url", "http://127.0.0.1:2376"], /Invalid --url "http:\/\/127\.0\.0\.1:2376": expected tcp:\/\/HOST:PORT/],
    [["--url", "tcp://127.0.0.1:99999"], /Invalid --url/],
    [[], /The none driver needs --url tcp:\/\/HOST:PORT \(or NONE_URL\)/],
  ])("refuses bad driver flags %j with exit 2 and leaves nothing", async (flags, message) => {
    const r = await runTsm(store, ["create", "-d", "none", ...flags, "badflags"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(await readdir(path.join(store, "machines"))).not.toContain("badflags");
  });

  it("reads driver flags from their environment variables", async () => {
    const r = await runTsm(store, ["create", "-d", "none", "fromenv"], { env: { NONE_URL: "tcp://127.0.0.1:3000", TSM_ENGINE_LABEL: "a=1,b=2" } });
    expect(r.exitCode).toBe(0);
    const rec = JSON.parse(await readFile(path.join(store, "machines", "fromenv", "config.json"), "utf8"));
    expect(rec.driver.config.url).toBe("tcp://127.0.0.1:3000");
    expect(rec.engine.labels).toEqual(["a=1", "b=2"]);
  });

  it("takes the driver from TSM_DRIVER", async () => {
    const r = await runTsm(store, ["create", "--url", "tcp://127.0.0.1:3001", "drv-env"], { env: { TSM_DRIVER: "none" } });
    expect(r.exitCode).toBe(0);
  });

  it("names the known drivers when the driver is unknown", async () => {
    const r = await runTsm(store, ["create", "-d", "bogus", "--bogus-flag", "x", "m"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe('Error: Driver "bogus" not found. Known drivers: generic, none, qemu, virtualbox\n');
  });

  it("refuses another driver's flags", async () => {
    const r = await runTsm(store, ["create", "-d", "none", "--url", "tcp://127.0.0.1:2376", "--generic-ip-address", "1.2.3.4", "m"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^Error: unknown option '--generic-ip-address'\. See 'tsm create --help'\.\n$/);
  });

  it("without -d, says no local VM driver is usable and lists the drivers (exit 3)", async () => {
    // Neither VBoxManage nor QEMU on PATH.
    const r = await runTsm(store, ["create", "m"], { env: { PATH: path.join(store, "empty-path") } });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/no local VM driver is usable on this host, so create needs -d\. Drivers: generic, none, virtualbox, qemu/);
  });

  it("without -d, picks QEMU when it is on PATH (and VBoxManage is not)", async () => {
    const bin = path.join(store, "only-qemu");
    await mkdir(bin, { recursive: true });
    await writeFile(path.join(bin, "qemu-system-x86_64"), "#!/bin/sh\nexit 1\n", { mode: 0o755 });
    const r = await runTsm(store, ["create", "m"], { env: { PATH: bin } });
    expect(r.stderr).toContain('Creating "m" with the qemu driver');
    // Its pre-create check then finds no qemu-img there: exit 3, nothing kept.
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain("qemu-img was not found");
    expect(existsSync(path.join(store, "machines", "m"))).toBe(false);
  });

  it("lists the driver's flags in create -d none --help", async () => {
    const r = await runTsm(store, ["create", "-d", "none", "--help"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/--url <value>\s+URL of the engine, tcp:\/\/HOST:PORT \(required\) \(env: NONE_URL\)/);
    expect(r.stdout).toContain("--engine-opt <name=value>");
  });

  it.each([
    [["--engine-opt", "bad name=x"], /Invalid --engine-opt "bad name=x"/],
    [["--engine-label", "novalue"], /Invalid --engine-label "novalue": expected KEY=VALUE/],
    [["--engine-env", "1X=y"], /Invalid --engine-env "1X=y"/],
    [["--tls-san", "not a name"], /Invalid --tls-san "not a name"/],
    [["--engine-install-url", "ftp://x"], /Invalid --engine-install-url "ftp:\/\/x"/],
  ])("refuses invalid engine flags %j with exit 2", async (flags, message) => {
    const r = await runTsm(store, ["create", "-d", "none", "--url", "tcp://127.0.0.1:2376", ...flags, "engflags"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(await readdir(path.join(store, "machines"))).not.toContain("engflags");
  });

  it("keeps hostile engine values exactly as given", async () => {
    const hostile = `x=$(touch /tmp/pwned) "quoted" 'single' \`tick\``;
    const r = await runTsm(store, ["create", "-d", "none", "--url", "tcp://127.0.0.1:2376", "--engine-env", `HOSTILE=${hostile}`, "--engine-label", `l=${hostile}`, "hostile"]);
    expect(r.exitCode).toBe(0);
    const rec = JSON.parse(await readFile(path.join(store, "machines", "hostile", "config.json"), "utf8"));
    expect(rec.engine.env).toEqual([`HOSTILE=${hostile}`]);
    expect(rec.engine.labels).toEqual([`l=${hostile}`]);
  });
});

describe("reading a machine", () => {
  it("url, ip and status", async () => {
    expect((await runTsm(store, ["url", "dev"])).stdout).toBe("tcp://127.0.0.1:2376\n");
    expect((await runTsm(store, ["ip", "dev"])).stdout).toBe("127.0.0.1\n");
    expect((await runTsm(store, ["status", "dev"])).stdout).toBe("Running\n");
  });

  it("ip takes several names and answers in the order asked", async () => {
    const r = await runTsm(store, ["ip", "second", "dev"]);
    expect(r.stdout).toBe("127.1.2.3\n127.0.0.1\n");
  });

  it("ip with a missing machine among several runs nothing and names it (exit 4)", async () => {
    const r = await runTsm(store, ["ip", "dev", "nope"]);
    expect(r.exitCode).toBe(4);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe('Error: Machine "nope" does not exist. Use "tsm ls" to list machines, "tsm create" to add one.\n');
  });

  it("without a name and without a 'default' machine, says so (exit 2)", async () => {
    for (const cmd of ["url", "status", "inspect", "env", "config", "ip"]) {
      const r = await runTsm(store, [cmd]);
      expect(r.exitCode, cmd).toBe(2);
      expect(r.stderr, cmd).toBe('Error: No machine name specified and no "default" machine exists\n');
    }
  });

  it("single-machine commands refuse two names", async () => {
    const r = await runTsm(store, ["url", "dev", "second"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("Expected one machine name as an argument");
  });

  it("config prints docker client flags with the machine's cert copies", async () => {
    const r = await runTsm(store, ["config", "dev"]);
    const dir = path.join(store, "machines", "dev");
    expect(r.stdout).toBe(
      `--tlsverify\n--tlscacert="${dir}/ca.pem"\n--tlscert="${dir}/cert.pem"\n--tlskey="${dir}/key.pem"\n-H=tcp://127.0.0.1:2376\n`,
    );
  });

  it("inspect prints Docker Machine-shaped JSON with certificate expiry", async () => {
    const r = await runTsm(store, ["inspect", "dev"]);
    expect(r.exitCode).toBe(0);
    const v = JSON.parse(r.stdout);
    expect(v.Name).toBe("dev");
    expect(v.DriverName).toBe("none");
    expect(v.Driver).toMatchObject({ IPAddress: "127.0.0.1", MachineName: "dev", SSHUser: "", SSHPort: 0, SSHKeyPath: "", URL: "tcp://127.0.0.1:2376" });
    expect(v.HostOptions.EngineOptions.Labels).toEqual(["env=test"]);
    expect(v.HostOptions.AuthOptions.ServerCertSANs).toEqual(["dev.example.com"]);
    expect(v.Certificates.Server.SANs).toEqual(["127.0.0.1", "localhost", "dev.example.com"]);
    expect(new Date(v.Certificates.Server.NotAfter).getTime()).toBeGreaterThan(Date.now() + 1000 * 86_400_000);
    expect(new Date(v.Certificates.CA.NotAfter).getTime()).toBeGreaterThan(Date.now() + 3000 * 86_400_000);
    expect(r.stdout).toMatch(/^\{\n {4}"ConfigVersion": 1,/);
  });

  it.each([
    ["{{.Name}}", "dev\n"],
    ["{{.DriverName}}", "none\n"],
    ["{{.Driver.IPAddress}}", "127.0.0.1\n"],
    ["{{.Driver.SSHUser}}", "\n"],
    ["{{.Driver.SSHPort}}", "0\n"],
    ["{{.Driver.SSHKeyPath}}", "\n"],
    ["{{json .HostOptions.EngineOptions.Labels}}", '["env=test"]\n'],
    ["{{.HostOptions.EngineOptions.Labels}}", "[env=test]\n"],
    ["name={{.Name}}\t{{.Driver.URL}}", "name=dev\ttcp://127.0.0.1:2376\n"],
  ])("inspect -f %j", async (format, expected) => {
    const r = await runTsm(store, ["inspect", "-f", format, "dev"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(expected);
  });

  it("inspect -f {{json .Driver}} is the driver object", async () => {
    const r = await runTsm(store, ["inspect", "-f", "{{json .Driver}}", "dev"]);
    expect(JSON.parse(r.stdout)).toMatchObject({ IPAddress: "127.0.0.1", MachineName: "dev" });
  });

  it("inspect -f {{prettyjson .Driver}} indents with four spaces", async () => {
    const r = await runTsm(store, ["inspect", "-f", "{{prettyjson .Driver}}", "dev"]);
    expect(r.stdout).toMatch(/^\{\n {4}"IPAddress": "127\.0\.0\.1",\n/);
  });

  it.each([
    ["{{.Nope}}", /^Error: template: .*Nope/],
    ["{{range .X}}{{end}}", /^Error: template: unsupported action "range"/],
    ["{{.Name", /^Error: template: /],
  ])("inspect -f %j outside the subset is a clear error (exit 2), never empty output", async (format, message) => {
    const r = await runTsm(store, ["inspect", "-f", format, "dev"]);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(message);
  });
});
