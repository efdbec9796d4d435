import { afterEach, describe, expect, it } from "vitest";

import { InterruptedError } from "../../../src/model/errors.js";
import type { EngineOptions } from "../../../src/model/machine.js";
import { planEngine, renderDaemonJson } from "../../../src/provision/engine-plan.js";
import {
  EngineConfigConflictError,
  EngineInstallError,
  InvalidEngineOptionError,
  ProvisionError,
  SudoRequiredError,
  UnsupportedInitError,
  UnsupportedOsError,
} from "../../../src/provision/errors.js";
import {
  engineLogTail,
  installCerts,
  provision,
  removeTsmConfig,
  restartScript,
  SUDO_CHECK_COMMAND,
  upgradeEngine,
  type ProvisionInput,
} from "../../../src/provision/provisioner.js";
import type { RunResult } from "../../../src/provision/remote.js";
import { renderSystemdDropIn } from "../../../src/provision/systemd-unit.js";
import { FakeRemote, probeOutput, type FakeCall, type FakeRule, type ProbeFacts } from "./fake-remote.js";
import { readFixture } from "./systemd-oracle.js";

let fakes: FakeRemote[] = [];
afterEach(() => {
  // An unexpected command fails the test even where the code under test swallowed the error.
  for (const f of fakes) expect(f.unexpected).toEqual([]);
  fakes = [];
});

function fake(rules: FakeRule[], isRoot = true): FakeRemote {
  const f = new FakeRemote(rules, isRoot);
  fakes.push(f);
  return f;
}

const DEBIAN_UNIT = readFixture("debian-12-docker.io.service");
const DEBIAN_HOSTS = "127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n\n::1     localhost ip6-localhost ip6-loopback\n";
const CERTS = {
  caPem: "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n",
  serverCertPem: "-----BEGIN CERTIFICATE-----\nSERVER\n-----END CERTIFICATE-----\n",
  serverKeyPem: "-----BEGIN RSA PRIVATE KEY-----\nSECRET-KEY-MATERIAL\n-----END RSA PRIVATE KEY-----\n",
};

function engine(over: Partial<EngineOptions> = {}): EngineOptions {
  return {
    port: 2376,
    installMethod: "distro",
    installUrl: "https://get.docker.com",
    binaryUrl: "",
    opts: [],
    env: [],
    labels: [],
    insecureRegistries: [],
    registryMirrors: [],
    storageDriver: "",
    ...over,
  };
}

function input(over: Partial<ProvisionInput> = {}): ProvisionInput & { lines: string[] } {
  const lines: string[] = [];
  return { machineName: "web1", driverName: "generic", engine: engine(), certs: CERTS, log: (l) => lines.push(l), lines, ...over };
}

const debianFacts = (over: ProbeFacts = {}): ProbeFacts => ({
  osRelease: readFixture("debian-12.os-release"),
  init: "systemd",
  dockerd: "/usr/sbin/dockerd",
  nodename: "debian",
  hostname: "debian\n",
  hosts: DEBIAN_HOSTS,
  dockerService: `# /lib/systemd/system/docker.service\n${DEBIAN_UNIT}`,
  dockerSocket: true,
  ...over,
});

/** The files a "write files" call writes: path -> { mode, content }, decoded from its script and stdin. */
function writes(call: FakeCall | undefined): Record<string, { mode: string; content: string }> {
  if (!call) throw new Error("no such call");
  const puts = [...call.script.matchAll(/^put (\d{4}) '([^']*)'$/gm)];
  const data = (call.input ?? "").split("\n");
  return Object.fromEntries(puts.map((m, i) => [m[2]!, { mode: m[1]!, content: Buffer.from(data[i] ?? "", "base64").toString() }]));
}

const ok = (stdout = ""): Partial<RunResult> => ({ stdout, exitCode: 0 });

describe("provision on Debian 12 with Debian's docker.io already installed", () => {
  const rules = (): FakeRule[] => [
    { match: "probe", result: ok(probeOutput(debianFacts())) },
    { match: "hostname", result: ok() },
    { match: "certs", result: ok() },
    { match: "config", result: ok() },
    { match: "restart", result: ok() },
  ];

  it("as root: probe, host name, certificates, configuration, restart (no sudo anywhere)", async () => {
    const remote = fake(rules(), true);
    const inp = input({ engine: engine({ opts: ["log-level=warn"], env: ["HTTP_PROXY=http://p:3128"], labels: ["env=prod"] }) });
    const result = await provision(remote, inp);

    expect(remote.steps()).toEqual(["probe", "hostname", "certs", "config", "restart"]);
    expect(remote.calls.every((c) => !c.sudo && c.command.startsWith("sh -c '"))).toBe(true);
    expect(result).toMatchObject({ dockerdPath: "/usr/sbin/dockerd", initSystem: "systemd", installed: false, os: { family: "debian", id: "debian" } });
    expect(inp.lines).toEqual([
      "Detecting the operating system...",
      "Setting the host name to web1...",
      "Copying certificates to /etc/docker...",
      "Configuring Docker Engine (mutual TLS on port 2376)...",
      "Restarting Docker Engine...",
    ]);

    const hostname = remote.callsFor("hostname")[0]!;
    expect(hostname.script).toContain("n='web1'\nif command -v hostnamectl");
    expect(hostname.input).toBe("127.0.0.1\tlocalhost\n127.0.1.1\tweb1\n\n::1     localhost ip6-localhost ip6-loopback\n");

    const certs = remote.callsFor("certs")[0]!;
    expect(writes(certs)).toEqual({
      "/etc/docker/ca.pem": { mode: "0644", content: CERTS.caPem },
      "/etc/docker/server.pem": { mode: "0644", content: CERTS.serverCertPem },
      "/etc/docker/server-key.pem": { mode: "0600", content: CERTS.serverKeyPem },
    });
    // The key travels on stdin only, never in a command line.
    for (const c of remote.calls) expect(c.command).not.toContain("SECRET-KEY-MATERIAL");

    const plan = planEngine(inp.engine, "generic");
    expect(writes(remote.callsFor("config")[0])).toEqual({
      "/etc/docker/daemon.json": { mode: "0644", content: renderDaemonJson(undefined, plan).text },
      "/etc/systemd/system/docker.service.d/10-tsm.conf": {
        mode: "0644",
        content: renderSystemdDropIn(
          {
            dockerdPath: "/usr/sbin/dockerd",
            socketActivation: true,
            baseExecStart: "/usr/sbin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock $DOCKER_OPTS",
          },
          plan,
        ),
      },
    });
    expect(writes(remote.callsFor("config")[0])["/etc/systemd/system/docker.service.d/10-tsm.conf"]!.content).toContain(
      "ExecStart=/usr/sbin/dockerd -H fd:// -H tcp://0.0.0.0:2376 --containerd=/run/containerd/containerd.sock $DOCKER_OPTS --log-level=warn\n",
    );
    expect(remote.callsFor("restart")[0]!.script).toBe(restartScript("systemd", true));
    expect(restartScript("systemd", true)).toBe(
      [
        "set -e",
        'case " $(systemctl show -p DropInPaths --value docker.service) " in *" /etc/systemd/system/docker.service.d/10-tsm.conf "*) loaded=yes ;; *) loaded=no ;; esac',
        'if [ "$loaded" = no ] || [ "$(systemctl show -p NeedDaemonReload --value docker.service)" != no ]; then systemctl daemon-reload; fi',
        "systemctl reset-failed docker.service >/dev/null 2>&1 || true",
        "systemctl is-enabled --quiet docker.service || systemctl enable docker.service",
        "systemctl is-enabled --quiet docker.socket || systemctl enable docker.socket",
        "systemctl start docker.socket",
        "systemctl restart docker.service",
      ].join("\n"),
    );
  });

  it("as a user with passwordless sudo: `sudo -n true` first, then every script through one `sudo -n sh -c`", async () => {
    const remote = fake([{ match: SUDO_CHECK_COMMAND, result: ok("deploy\ndebian\n") }, ...rules()], false);
    await provision(remote, input());
    expect(remote.steps()).toEqual([SUDO_CHECK_COMMAND, "probe", "hostname", "certs", "config", "restart"]);
    expect(remote.calls[0]!.command).toBe(`printf '%s\\n' "$(id -un)" "$(uname -n)"; sudo -n true`);
    expect(remote.calls.slice(1).every((c) => c.sudo && c.command.startsWith("sudo -n sh -c '"))).toBe(true);
  });

  it("a second run is harmless: same files, host name and /etc/hosts left alone, engine restarted", async () => {
    const first = fake(rules());
    await provision(first, input());
    const written = writes(first.callsFor("config")[0]);
    const dropIn = written["/etc/systemd/system/docker.service.d/10-tsm.conf"]!.content;
    const second = fake([
      {
        match: "probe",
        result: ok(
          probeOutput(
            debianFacts({
              nodename: "web1",
              hostname: "web1\n",
              hosts: first.callsFor("hostname")[0]!.input,
              daemonJson: written["/etc/docker/daemon.json"]!.content,
              dockerService: `# /lib/systemd/system/docker.service\n${DEBIAN_UNIT}\n# /etc/systemd/system/docker.service.d/10-tsm.conf\n${dropIn}`,
            }),
          ),
        ),
      },
      { match: "certs", result: ok() },
      { match: "config", result: ok() },
      { match: "restart", result: ok() },
    ]);
    await provision(second, input());
    expect(second.steps()).toEqual(["probe", "certs", "config", "restart"]);
    expect(writes(second.callsFor("config")[0])).toEqual(written);
  });
});

describe("provision installs Docker Engine when dockerd is missing", () => {
  it("Debian, distro packages: apt-get install docker.io, then a new probe finds /usr/sbin/dockerd", async () => {
    const remote = fake([
      { match: "probe", once: true, result: ok(probeOutput(debianFacts({ dockerd: undefined, dockerService: undefined, dockerSocket: false }))) },
      { match: "hostname", result: ok() },
      { match: "install", result: ok() },
      { match: "probe", result: ok(probeOutput(debianFacts())) },
      { match: "certs", result: ok() },
      { match: "config", result: ok() },
      { match: "restart", result: ok() },
    ]);
    const inp = input();
    const result = await provision(remote, inp);
    expect(remote.steps()).toEqual(["probe", "hostname", "install", "probe", "certs", "config", "restart"]);
    expect(remote.callsFor("install")[0]!.script).toMatch(/apt_update\napt_get install docker.io$/);
    expect(remote.callsFor("install")[0]!.timeoutMs).toBe(30 * 60_000);
    expect(inp.lines).toContain("Installing Docker Engine (distribution packages: docker.io)...");
    expect(result).toMatchObject({ installed: true, dockerdPath: "/usr/sbin/dockerd" });
  });

  it("Debian, binary: tsm's unit is written, and the drop-in builds on it (no docker.socket: unix socket)", async () => {
    const ownUnitCat = (unit: string): string => `# /etc/systemd/system/docker.service\n${unit}`;
    let unitText = "";
    const remote = fake([
      { match: "probe", once: true, result: ok(probeOutput(debianFacts({ dockerd: undefined, dockerService: undefined, dockerSocket: false }))) },
      { match: "hostname", result: ok() },
      {
        match: "install",
        once: true,
        result: (call) => {
          unitText = writes(call)["/etc/systemd/system/docker.service"]!.content;
          return { exitCode: 0 };
        },
      },
      { match: "install", result: ok() },
      { match: "probe", result: () => ok(probeOutput(debianFacts({ dockerd: "/usr/local/bin/dockerd", dockerService: ownUnitCat(unitText), dockerSocket: false }))) },
      { match: "certs", result: ok() },
      { match: "config", result: ok() },
      { match: "restart", result: ok() },
    ]);
    await provision(remote, input({ engine: engine({ installMethod: "binary", binaryUrl: "https://x/docker-27.tgz" }) }));
    expect(remote.steps()).toEqual(["probe", "hostname", "install", "install", "probe", "certs", "config", "restart"]);
    expect(remote.callsFor("install")[1]!.script).toContain("fetch 'https://x/docker-27.tgz' \"$f\"");
    const dropIn = writes(remote.callsFor("config")[0])["/etc/systemd/system/docker.service.d/10-tsm.conf"]!.content;
    expect(dropIn).toContain("\nExecStart=/usr/local/bin/dockerd -H unix:///var/run/docker.sock -H tcp://0.0.0.0:2376\n");
    expect(remote.callsFor("restart")[0]!.script).toBe(restartScript("systemd", false));
  });

  it("Fedora, distro packages: dnf install moby-engine; its multi-line unit is used", async () => {
    const fedoraUnit = [
      "# /usr/lib/systemd/system/docker.service",
      "[Service]",
      "Type=notify",
      "EnvironmentFile=-/etc/sysconfig/docker",
      "ExecStart=/usr/bin/dockerd \\",
      "          --host=fd:// \\",
      "          --exec-opt native.cgroupdriver=systemd \\",
      "          $OPTIONS",
      "",
    ].join("\n");
    const fedora = (over: ProbeFacts): ProbeFacts => ({
      osRelease: readFixture("fedora-41.os-release"),
      init: "systemd",
      nodename: "localhost.localdomain",
      hostname: "localhost.localdomain\n",
      hosts: "127.0.0.1   localhost localhost.localdomain\n",
      ...over,
    });
    const remote = fake([
      { match: "probe", once: true, result: ok(probeOutput(fedora({}))) },
      { match: "hostname", result: ok() },
      { match: "install", result: ok() },
      { match: "probe", result: ok(probeOutput(fedora({ dockerd: "/usr/bin/dockerd", dockerService: fedoraUnit, dockerSocket: true }))) },
      { match: "certs", result: ok() },
      { match: "config", result: ok() },
      { match: "restart", result: ok() },
    ]);
    const result = await provision(remote, input());
    expect(remote.callsFor("install")[0]!.script).toBe("set -e\ndnf install -y moby-engine");
    expect(remote.callsFor("hostname")[0]!.input).toBe("127.0.0.1   localhost localhost.localdomain\n127.0.1.1\tweb1\n");
    expect(writes(remote.callsFor("config")[0])["/etc/systemd/system/docker.service.d/10-tsm.conf"]!.content).toContain(
      "\nExecStart=/usr/bin/dockerd -H fd:// -H tcp://0.0.0.0:2376 --exec-opt native.cgroupdriver=systemd $OPTIONS\n",
    );
    expect(result.os).toMatchObject({ family: "rhel", id: "fedora", packageManager: "dnf" });
  });

  it("Alpine 3.20 (OpenRC): apk add docker, conf.d block, rc-update + rc-service restart", async () => {
    const pkgConfd = '# /etc/conf.d/docker: config file for /etc/init.d/docker\nDOCKER_OPTS=""\n';
    const alpine = (over: ProbeFacts): ProbeFacts => ({
      osRelease: readFixture("alpine-3.20.os-release"),
      init: "openrc",
      nodename: "alpine",
      hostname: "alpine\n",
      hosts: "127.0.0.1\tlocalhost localhost.localdomain\n::1\t\tlocalhost localhost.localdomain\n",
      ...over,
    });
    const remote = fake([
      { match: "probe", once: true, result: ok(probeOutput(alpine({}))) },
      { match: "hostname", result: ok() },
      { match: "install", result: ok() },
      { match: "probe", result: ok(probeOutput(alpine({ dockerd: "/usr/bin/dockerd", confd: pkgConfd, initd: true }))) },
      { match: "certs", result: ok() },
      { match: "config", result: ok() },
      { match: "restart", result: ok() },
    ]);
    const result = await provision(remote, input({ engine: engine({ opts: ["log-level=warn"] }) }));
    expect(remote.steps()).toEqual(["probe", "hostname", "install", "probe", "certs", "config", "restart"]);
    expect(remote.callsFor("hostname")[0]!.script).toContain(`n='web1'\nhostname "$n" && printf '%s\\n' "$n" > /etc/hostname`);
    expect(remote.callsFor("hostname")[0]!.script).not.toContain("hostnamectl");
    expect(remote.callsFor("install")[0]!.script).toBe("set -e\napk add --no-cache docker");
    const files = writes(remote.callsFor("config")[0]);
    expect(Object.keys(files)).toEqual(["/etc/docker/daemon.json", "/etc/conf.d/docker"]);
    expect(files["/etc/conf.d/docker"]!.content.startsWith(pkgConfd)).toBe(true);
    expect(files["/etc/conf.d/docker"]!.content).toContain("tsm_dockerd_arg_5='--log-level=warn'\n");
    expect(remote.callsFor("restart")[0]!.script).toBe("set -e\nrc-update add docker default >/dev/null 2>&1 || true\nrc-service docker restart");
    expect(result).toMatchObject({ initSystem: "openrc", dockerdPath: "/usr/bin/dockerd", installed: true });
  });
});

describe("provision refuses before changing anything", () => {
  it("a non-root user without passwordless sudo: nothing but the check ran", async () => {
    const remote = fake([{ match: SUDO_CHECK_COMMAND, result: { stdout: "bob\nhost1\n", stderr: "sudo: a password is required\n", exitCode: 1 } }], false);
    const err = await provision(remote, input()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SudoRequiredError);
    expect((err as SudoRequiredError).message).toBe(
      'User "bob" needs passwordless sudo (NOPASSWD) on host1: nothing was changed (sudo said: sudo: a password is required)',
    );
    expect((err as SudoRequiredError).code).toBe("SUDO_REQUIRED");
    expect(remote.calls).toHaveLength(1);
  });

  it("sudo's requiretty gets its own remedy", async () => {
    const remote = fake([{ match: SUDO_CHECK_COMMAND, result: { stdout: "bob\nhost1\n", stderr: "sudo: sorry, you must have a tty to run sudo\n", exitCode: 1 } }], false);
    const err = (await provision(remote, input()).catch((e: unknown) => e)) as SudoRequiredError;
    expect(err.details[0]).toContain('"Defaults:bob !requiretty"');
  });

  it("an invalid host name: nothing runs at all", async () => {
    const remote = fake([]);
    await expect(provision(remote, input({ machineName: "-x;reboot" }))).rejects.toThrow(/Invalid machine name/);
    expect(remote.calls).toEqual([]);
  });

  it("an unsupported OS (Arch): only the read-only probe ran", async () => {
    const remote = fake([{ match: "probe", result: ok(probeOutput({ osRelease: readFixture("arch.os-release"), dockerd: "/usr/bin/dockerd" })) }]);
    await expect(provision(remote, input())).rejects.toThrow(UnsupportedOsError);
    expect(remote.steps()).toEqual(["probe"]);
  });

  it("no systemd and no OpenRC", async () => {
    const remote = fake([{ match: "probe", result: ok(probeOutput(debianFacts({ init: "unknown" }))) }]);
    await expect(provision(remote, input())).rejects.toThrow(UnsupportedInitError);
  });

  it("Rocky without Docker and --engine-install-method distro; any OS without Docker and method none", async () => {
    const rocky = fake([{ match: "probe", result: ok(probeOutput({ osRelease: readFixture("rocky-9.os-release") })) }]);
    await expect(provision(rocky, input())).rejects.toThrow(EngineInstallError);
    expect(rocky.steps()).toEqual(["probe"]);
    const none = fake([{ match: "probe", result: ok(probeOutput(debianFacts({ dockerd: undefined }))) }]);
    await expect(provision(none, input({ engine: engine({ installMethod: "none" }) }))).rejects.toThrow(/install method is "none"/);
    expect(none.steps()).toEqual(["probe"]);
  });

  it("an engine option tsm cannot pass, a broken daemon.json, a drop-in overriding ExecStart", async () => {
    const a = fake([{ match: "probe", result: ok(probeOutput(debianFacts())) }]);
    await expect(provision(a, input({ engine: engine({ opts: ["tlsverify=false"] }) }))).rejects.toThrow(InvalidEngineOptionError);
    const b = fake([{ match: "probe", result: ok(probeOutput(debianFacts({ daemonJson: "{ broken" }))) }]);
    await expect(provision(b, input())).rejects.toThrow(EngineConfigConflictError);
    const c = fake([
      {
        match: "probe",
        result: ok(
          probeOutput(
            debianFacts({
              dockerService: `# /lib/systemd/system/docker.service\n${DEBIAN_UNIT}\n# /etc/systemd/system/docker.service.d/override.conf\n[Service]\nExecStart=\nExecStart=/usr/sbin/dockerd\n`,
            }),
          ),
        ),
      },
    ]);
    await expect(provision(c, input())).rejects.toThrow(/override.conf, which systemd applies after tsm's/);
    for (const f of [a, b, c]) expect(f.steps()).toEqual(["probe"]);
  });

  it("an aborted signal: nothing runs", async () => {
    const remote = fake([]);
    const ac = new AbortController();
    ac.abort();
    await expect(provision(remote, input({ signal: ac.signal }))).rejects.toThrow(InterruptedError);
    expect(remote.calls).toEqual([]);
  });
});

describe("provision failures name the step and the last stderr line", () => {
  it("a failing install", async () => {
    const remote = fake([
      { match: "probe", result: ok(probeOutput(debianFacts({ dockerd: undefined }))) },
      { match: "hostname", result: ok() },
      { match: "install", result: { exitCode: 100, stderr: "Reading package lists...\nE: Unable to locate package docker.io\n" } },
    ]);
    const err = (await provision(remote, input()).catch((e: unknown) => e)) as ProvisionError;
    expect(err).toBeInstanceOf(ProvisionError);
    expect(err.message).toBe("Provisioning failed while trying to install Docker Engine (exit status 100: E: Unable to locate package docker.io)");
    expect(err.step).toBe("install Docker Engine");
    expect(err.remoteExitCode).toBe(100);
    expect(err.exitCode).toBe(1);
    expect(err.command).toMatch(/apt_get install docker.io$/);
    expect(err.stderrTail).toEqual(["Reading package lists...", "E: Unable to locate package docker.io"]);
  });

  it("a restart that fails carries the engine's last log lines", async () => {
    const remote = fake([
      { match: "probe", result: ok(probeOutput(debianFacts({ nodename: "web1", hostname: "web1\n", hosts: "127.0.1.1 web1\n" }))) },
      { match: "certs", result: ok() },
      { match: "config", result: ok() },
      { match: "restart", result: { exitCode: 1, stderr: 'Job for docker.service failed because the control process exited with error code.\nSee "systemctl status docker.service" and "journalctl -xeu docker.service" for details.\n' } },
      { match: "log-tail", result: ok("dockerd[42]: unable to configure the Docker daemon with file /etc/docker/daemon.json: the following directives are specified both as a flag and in the configuration file: hosts\n") },
    ]);
    const err = (await provision(remote, input()).catch((e: unknown) => e)) as ProvisionError;
    expect(err.message).toMatch(/^Provisioning failed while trying to restart Docker Engine \(exit status 1: See "systemctl status/);
    expect(err.details).toContain("Docker Engine's last log lines:");
    expect(err.details.join("\n")).toContain("specified both as a flag and in the configuration file: hosts");
    expect(remote.callsFor("log-tail")[0]!.script).toContain("journalctl -u docker.service -n 30 --no-pager");
  });

  it("a dropped connection becomes a ProvisionError with the SSH error as cause; an interrupt stays an interrupt", async () => {
    const lost = new Error("SSH connection to 10.0.0.5:22 lost");
    const remote = fake([
      { match: "probe", result: ok(probeOutput(debianFacts())) },
      { match: "hostname", reject: lost },
    ]);
    const err = (await provision(remote, input()).catch((e: unknown) => e)) as ProvisionError;
    expect(err.message).toBe("Provisioning failed while trying to set the host name (SSH connection to 10.0.0.5:22 lost)");
    expect(err.cause).toBe(lost);
    expect(err.remoteExitCode).toBeNull();
    const interrupted = fake([{ match: "probe", reject: new InterruptedError() }]);
    await expect(provision(interrupted, input())).rejects.toBeInstanceOf(InterruptedError);
  });
});

describe("the other operations", () => {
  it("installCerts: upload and restart only (with the sudo check for a non-root user)", async () => {
    const remote = fake(
      [
        { match: SUDO_CHECK_COMMAND, result: ok("deploy\nweb1\n") },
        { match: "certs", result: ok() },
        { match: "restart", result: ok() },
      ],
      false,
    );
    const lines: string[] = [];
    await installCerts(remote, CERTS, (l) => lines.push(l));
    expect(remote.steps()).toEqual([SUDO_CHECK_COMMAND, "certs", "restart"]);
    expect(Object.keys(writes(remote.callsFor("certs")[0]))).toEqual(["/etc/docker/ca.pem", "/etc/docker/server.pem", "/etc/docker/server-key.pem"]);
    expect(remote.callsFor("restart")[0]!.script).toBe(
      "if [ -d /run/systemd/system ]; then systemctl restart docker.service; else rc-service docker restart; fi",
    );
    expect(lines).toEqual(["Copying certificates to /etc/docker...", "Restarting Docker Engine..."]);
  });

  it("engineLogTail: journald or /var/log/docker.log, and never throws", async () => {
    const remote = fake([{ match: "log-tail", result: ok("line 1\nline 2\n") }]);
    expect(await engineLogTail(remote, 2)).toBe("line 1\nline 2\n");
    expect(remote.calls[0]!.script).toBe(
      [
        "if [ -d /run/systemd/system ]; then journalctl -u docker.service -n 2 --no-pager -o short-iso 2>&1",
        "elif [ -f /var/log/docker.log ]; then tail -n 2 /var/log/docker.log 2>&1",
        'else echo "no engine log found (/var/log/docker.log)"; fi',
      ].join("\n"),
    );
    const broken = fake([{ match: "log-tail", reject: new Error("connection lost") }]);
    expect(await engineLogTail(broken)).toBe("(could not read the engine log: connection lost)");
  });

  it("upgradeEngine: same method, then configuration rewritten for wherever dockerd now is, then restart", async () => {
    const remote = fake([
      { match: "probe", once: true, result: ok(probeOutput(debianFacts())) },
      { match: "upgrade", result: ok() },
      { match: "probe", result: ok(probeOutput(debianFacts())) },
      { match: "config", result: ok() },
      { match: "restart", result: ok() },
    ]);
    const inp = input();
    await upgradeEngine(remote, inp);
    expect(remote.steps()).toEqual(["probe", "upgrade", "probe", "config", "restart"]);
    expect(remote.callsFor("upgrade")[0]!.script).toMatch(/apt_get install --only-upgrade docker.io$/);
    expect(inp.lines[1]).toBe("Upgrading Docker Engine (distribution packages: docker.io)...");
  });

  it("removeTsmConfig: drop-in, tsm's daemon.json keys and certificates go; the admin's keys stay; engine restarts", async () => {
    const plan = planEngine(engine(), "generic");
    const daemonJson = renderDaemonJson('{"data-root": "/srv/docker"}', plan).text;
    const remote = fake([
      { match: "probe", result: ok(probeOutput(debianFacts({ daemonJson }))) },
      { match: "remove-config", result: ok() },
      { match: "restart", result: ok() },
    ]);
    await removeTsmConfig(remote);
    expect(remote.steps()).toEqual(["probe", "remove-config", "remove-config", "restart"]);
    const [rewrite, rm] = remote.callsFor("remove-config");
    expect(writes(rewrite)).toEqual({ "/etc/docker/daemon.json": { mode: "0644", content: '{\n  "data-root": "/srv/docker"\n}\n' } });
    expect(rm!.script).toBe(
      [
        "rm -f '/etc/docker/ca.pem' '/etc/docker/server.pem' '/etc/docker/server-key.pem' '/etc/systemd/system/docker.service.d/10-tsm.conf'",
        "rmdir '/etc/systemd/system/docker.service.d' 2>/dev/null || true",
      ].join("\n"),
    );
    expect(remote.callsFor("restart")[0]!.script).toContain("systemctl daemon-reload");
  });

  it("removeTsmConfig on Alpine: the conf.d block is stripped, daemon.json deleted when only tsm's keys were in it", async () => {
    const plan = planEngine(engine(), "generic");
    const confd = 'DOCKER_OPTS=""\n\n# BEGIN tsm: x\nDOCKER_OPTS=\'"$tsm_dockerd_arg_1"\'\n# END tsm\n';
    const remote = fake([
      {
        match: "probe",
        result: ok(probeOutput({ osRelease: readFixture("alpine-3.20.os-release"), init: "openrc", dockerd: "/usr/bin/dockerd", confd, initd: true, daemonJson: renderDaemonJson(undefined, plan).text })),
      },
      { match: "remove-config", result: ok() },
      { match: "restart", result: ok() },
    ]);
    await removeTsmConfig(remote);
    const [rewrite, rm] = remote.callsFor("remove-config");
    expect(writes(rewrite)).toEqual({ "/etc/conf.d/docker": { mode: "0644", content: 'DOCKER_OPTS=""\n' } });
    expect(rm!.script).toBe("rm -f '/etc/docker/ca.pem' '/etc/docker/server.pem' '/etc/docker/server-key.pem' '/etc/docker/daemon.json'");
    expect(remote.callsFor("restart")[0]!.script).toBe("rc-service docker restart");
  });
});
