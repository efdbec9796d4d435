import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { dockerdDiscoveryScript, parseDockerdPath, parseProbe, probeScript } from "../../../src/provision/probe.js";
import { probeOutput } from "./fake-remote.js";
import { readFixture } from "./systemd-oracle.js";

const scratch = mkdtempSync(path.join(tmpdir(), "tsm-probe-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("parseProbe", () => {
  it("reads every section, base64 contents byte for byte (no final newline kept as is)", () => {
    const facts = parseProbe(
      probeOutput({
        osRelease: readFixture("debian-12.os-release"),
        init: "systemd",
        dockerd: "/usr/sbin/dockerd",
        nodename: "debian",
        hostname: "debian\n",
        hosts: "127.0.0.1 localhost",
        daemonJson: '{"a":"é"}',
        dockerService: "# /lib/systemd/system/docker.service\n[Service]\nExecStart=/usr/sbin/dockerd -H fd://\n",
        dockerSocket: true,
      }),
    );
    expect(facts).toEqual({
      osRelease: readFixture("debian-12.os-release"),
      init: "systemd",
      dockerdPath: "/usr/sbin/dockerd",
      nodename: "debian",
      hostnameFile: "debian\n",
      hosts: "127.0.0.1 localhost",
      daemonJson: '{"a":"é"}',
      dockerService: "# /lib/systemd/system/docker.service\n[Service]\nExecStart=/usr/sbin/dockerd -H fd://\n",
      dockerSocket: true,
      openrcConf: undefined,
      openrcInit: false,
    });
  });

  it("missing files are undefined; OpenRC sections; an unknown init", () => {
    const facts = parseProbe(probeOutput({ init: "openrc", confd: 'DOCKER_OPTS=""\n', initd: true }));
    expect(facts).toMatchObject({ init: "openrc", dockerdPath: undefined, daemonJson: undefined, openrcConf: 'DOCKER_OPTS=""\n', openrcInit: true, dockerSocket: false });
    expect(parseProbe("@@tsm@@ init\nsysvinit\n").init).toBe("unknown");
  });

  it("parseDockerdPath takes the first absolute path only", () => {
    expect(parseDockerdPath("\n/usr/bin/dockerd\n/usr/sbin/dockerd\n")).toBe("/usr/bin/dockerd");
    expect(parseDockerdPath("dockerd\n")).toBeUndefined();
    expect(parseDockerdPath("")).toBeUndefined();
  });
});

describe("the probe and discovery scripts, run by a real sh", () => {
  it("the probe runs read-only on this machine and parses", () => {
    const r = spawnSync("sh", ["-c", probeScript()], { encoding: "utf8" });
    expect(r.status).toBe(0);
    const facts = parseProbe(r.stdout);
    expect(facts.osRelease).toContain("ID=");
    expect(["systemd", "openrc", "unknown"]).toContain(facts.init);
    expect(facts.nodename).not.toBe("");
  });

  function discover(pathDirs: string[], files: Record<string, boolean>, systemctlPath?: string): string | undefined {
    const root = mkdtempSync(path.join(scratch, "disc-"));
    const bin = path.join(root, "bin");
    mkdirSync(bin);
    // A fake systemctl answering `show -p ExecStart --value docker.service` like systemd 252 does.
    writeFileSync(
      path.join(bin, "systemctl"),
      systemctlPath === undefined
        ? "#!/bin/sh\nexit 1\n"
        : `#!/bin/sh\necho '{ path=${systemctlPath} ; argv[]=${systemctlPath} -H fd:// ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }'\n`,
    );
    chmodSync(path.join(bin, "systemctl"), 0o755);
    for (const [p, exec] of Object.entries(files)) {
      const full = path.join(root, p);
      mkdirSync(path.dirname(full), { recursive: true });
      writeFileSync(full, "#!/bin/sh\n");
      chmodSync(full, exec ? 0o755 : 0o644);
    }
    // The script's fixed candidates are absolute; point them into the scratch root.
    const script = dockerdDiscoveryScript().replace(/ \/usr\/(s?bin|local\/bin)\/dockerd/g, (m) => ` ${root}${m.trim()}`);
    const r = spawnSync("sh", ["-c", script], {
      encoding: "utf8",
      env: { PATH: [bin, ...pathDirs.map((d) => path.join(root, d)), "/usr/bin", "/bin"].join(":") },
    });
    expect(r.status).toBe(0);
    const found = parseDockerdPath(r.stdout);
    return found?.startsWith(root) ? found.slice(root.length) : found;
  }

  it("prefers the program docker.service runs, then PATH, then /usr/bin, /usr/sbin, /usr/local/bin", () => {
    expect(discover([], { "/usr/sbin/dockerd": true, "/usr/local/bin/dockerd": true })).toBe("/usr/sbin/dockerd");
    expect(discover([], { "/usr/local/bin/dockerd": true })).toBe("/usr/local/bin/dockerd");
    expect(discover([], { "/usr/bin/dockerd": false, "/usr/local/bin/dockerd": true })).toBe("/usr/local/bin/dockerd");
    expect(discover(["opt/bin"], { "/opt/bin/dockerd": true, "/usr/bin/dockerd": true })).toBe("/opt/bin/dockerd");
    expect(discover([], {})).toBeUndefined();
  });

  it("takes docker.service's ExecStart program first when it exists", () => {
    // The unit's program is not rewritten into the scratch root, so use one that exists on every machine.
    expect(discover([], { "/usr/local/bin/dockerd": true }, "/bin/sh")).toBe("/bin/sh");
    expect(discover([], { "/usr/local/bin/dockerd": true }, "/nonexistent/dockerd")).toBe("/usr/local/bin/dockerd");
  });
});
