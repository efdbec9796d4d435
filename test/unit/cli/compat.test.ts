import { describe, expect, it } from "vitest";
import { globalSettings } from "../../../src/cli/program.js";
import { verbOf } from "../../../src/cli/report.js";
import { asDockerMachineWords, compatMode, dockerMachineReport } from "../../../src/cli/support/compat.js";
import { isDebug } from "../../../src/cli/support/context.js";
import { scanDriverName } from "../../../src/cli/commands/create.js";
import { MachineExistsError, MachineNotFoundError, MachineStateError, MultiMachineError, PreCreateCheckError, DriverNotFoundError } from "../../../src/model/errors.js";

describe("compatMode", () => {
  it("is docker-machine when started as docker-machine (symlink or copy), whatever the extension", () => {
    for (const p of ["/usr/local/bin/docker-machine", "C:\\bin\\docker-machine.exe", "/x/docker-machine.cjs", "docker-machine"]) {
      expect(compatMode(p, {})).toBe("docker-machine");
    }
    expect(compatMode("/usr/local/bin/tsm", {})).toBe("tsm");
    expect(compatMode("/opt/tsm/dist/tsm.cjs", {})).toBe("tsm");
    expect(compatMode(undefined, {})).toBe("tsm");
  });

  it("follows TSM_COMPAT either way", () => {
    expect(compatMode("/usr/bin/tsm", { TSM_COMPAT: "docker-machine" })).toBe("docker-machine");
    expect(compatMode("/usr/bin/docker-machine", { TSM_COMPAT: "tsm" })).toBe("tsm");
  });
});

describe("dockerMachineReport", () => {
  it("uses Docker Machine's words and exit 1 for the failures scripts grep", () => {
    expect(dockerMachineReport(new MachineNotFoundError("x"), "inspect")).toEqual({
      lines: ['Docker machine "x" does not exist. Use "docker-machine ls" to list machines. Use "docker-machine create" to add a new one.'],
      exitCode: 1,
    });
    expect(dockerMachineReport(new MachineExistsError("x"), "create")).toEqual({ lines: ['Docker machine "x" already exists'], exitCode: 1 });
    expect(dockerMachineReport(new DriverNotFoundError("bogus", ["none"]), "create").lines).toEqual([
      'Driver "bogus" not found. Do you have the plugin binary "docker-machine-driver-bogus" accessible in your PATH?',
    ]);
  });

  it("keeps exit 3 for a failed pre-create check, with Docker Machine's wording", () => {
    expect(dockerMachineReport(new PreCreateCheckError("SSH key does not exist: \"/k\""), "create")).toEqual({
      lines: ['Error with pre-create check: "SSH key does not exist: "/k""'],
      exitCode: 3,
    });
  });

  it("says Host is not running for a stopped machine, and env/config's own prefixes", () => {
    const stopped = new MachineStateError('Machine "m" is not running: start it with "tsm start m"');
    expect(dockerMachineReport(stopped, "url").lines).toEqual(["Host is not running"]);
    expect(dockerMachineReport(stopped, "env").lines[0]).toBe("Error checking TLS connection: m is not running. Please start it in order to use the connection settings.");
    expect(dockerMachineReport(stopped, "config").lines[0]).toMatch(/^Error running connection boilerplate: m is not running/);
    expect(dockerMachineReport(stopped, "ssh").lines[0]).toBe('Error: Cannot run SSH command: Host "m" is not running');
  });

  it("uses Docker Machine's argument-count lines", async () => {
    const { UsageError } = await import("../../../src/model/errors.js");
    expect(dockerMachineReport(new UsageError('No machine name specified and no "default" machine exists'), "url").lines).toEqual([
      'Error: No machine name(s) specified and no "default" machine exists',
    ]);
    expect(dockerMachineReport(new UsageError("Expected one or more machine names to remove"), "rm").lines).toEqual(["Error: Expected to get one or more machine names as arguments"]);
    expect(dockerMachineReport(new UsageError("Expected one machine name as an argument"), "url")).toEqual({ lines: ["Error: Expected one machine name as an argument"], exitCode: 1 });
  });

  it("lists every machine's error of a multi-machine failure, exit 1", () => {
    const r = dockerMachineReport(new MultiMachineError([new MachineNotFoundError("a"), new MachineNotFoundError("b")]), "ip");
    expect(r.exitCode).toBe(1);
    expect(r.lines).toHaveLength(2);
    expect(r.lines[1]).toMatch(/^Docker machine "b" does not exist/);
  });
});

describe("asDockerMachineWords", () => {
  it("renames tsm in command hints, not in prose", () => {
    expect(asDockerMachineWords('run: tsm env m; remove it with "tsm rm -f m"; see tsm --help')).toBe(
      'run: docker-machine env m; remove it with "docker-machine rm -f m"; see docker-machine --help',
    );
    expect(asDockerMachineWords("tsm does not run standalone Swarm; tsmx ls")).toBe("tsm does not run standalone Swarm; tsmx ls");
  });
});

describe("verbOf", () => {
  it("skips global flags and their values", () => {
    expect(verbOf(["tsm", "-s", "/st", "--tls-ca-cert", "/ca.pem", "--native-ssh", "env", "m"])).toBe("env");
    expect(verbOf(["tsm", "--debug"])).toBeUndefined();
  });
});

describe("globalSettings", () => {
  it("reads Docker Machine's MACHINE_* variables; flags win", () => {
    const env = { MACHINE_NATIVE_SSH: "1", MACHINE_TLS_CA_CERT: "/env/ca.pem", MACHINE_TLS_CA_KEY: "/env/ca-key.pem", MACHINE_GITHUB_API_TOKEN: "t" };
    const g = globalSettings({ tlsCaCert: "/flag/ca.pem" }, env);
    expect(g.nativeSsh).toBe(true);
    expect(g.tls).toEqual({ caCert: "/flag/ca.pem", caKey: "/env/ca-key.pem", clientCert: undefined, clientKey: undefined });
    expect(g.ignoredTokens).toEqual(["--github-api-token"]);
  });

  it("gives TSM_NATIVE_SSH precedence over MACHINE_NATIVE_SSH, and no TLS override by default", () => {
    expect(globalSettings({}, { TSM_NATIVE_SSH: "false", MACHINE_NATIVE_SSH: "true" }).nativeSsh).toBe(false);
    expect(globalSettings({ nativeSsh: true }, {}).nativeSsh).toBe(true);
    expect(globalSettings({}, {}).tls).toBeUndefined();
  });
});

describe("Docker Machine's variables for the debug switch and the driver", () => {
  it("MACHINE_DEBUG turns on debug unless TSM_DEBUG says otherwise", () => {
    expect(isDebug(["tsm"], { MACHINE_DEBUG: "1" })).toBe(true);
    expect(isDebug(["tsm"], { TSM_DEBUG: "0", MACHINE_DEBUG: "1" })).toBe(false);
  });

  it("MACHINE_DRIVER picks the driver when neither -d nor TSM_DRIVER does", () => {
    expect(scanDriverName(["tsm", "create", "m"], { MACHINE_DRIVER: "none" })).toBe("none");
    expect(scanDriverName(["tsm", "create", "m"], { TSM_DRIVER: "generic", MACHINE_DRIVER: "none" })).toBe("generic");
    expect(scanDriverName(["tsm", "create", "-d", "qemu", "m"], { MACHINE_DRIVER: "none" })).toBe("qemu");
  });
});

describe("reportError in compatibility mode", () => {
  it("exits 1 for usage errors and keeps tsm's status outside the mode", async () => {
    const { reportError } = await import("../../../src/cli/report.js");
    const { UsageError } = await import("../../../src/model/errors.js");
    let err = "";
    const io = { out: () => undefined, err: (t: string) => void (err += t), stdoutIsTTY: false, stderrIsTTY: false, stdinIsTTY: false, readLine: async () => undefined };
    expect(reportError(new UsageError("Expected one machine name"), io, false, ["docker-machine", "url", "a", "b"], "docker-machine")).toBe(1);
    expect(err).toBe("Error: Expected one machine name\n");
    expect(reportError(new UsageError("Expected one machine name"), io, false, ["tsm", "url", "a", "b"])).toBe(2);
    expect(reportError(new MachineNotFoundError("x"), io, false, ["tsm", "url", "x"])).toBe(4);
  });
});
