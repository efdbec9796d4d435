import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { EngineInstallError } from "../../../src/provision/errors.js";
import { installPlan, upgradePlan, type InstallSettings } from "../../../src/provision/install.js";
import { detectFamily, parseOsRelease, type OsFamily } from "../../../src/provision/os-release.js";
import { readFixture } from "./systemd-oracle.js";

const os = (fixture: string): OsFamily => detectFamily(parseOsRelease(readFixture(fixture)));
const DEBIAN = os("debian-12.os-release");
const UBUNTU = os("ubuntu-24.04.os-release");
const FEDORA = os("fedora-41.os-release");
const ROCKY = os("rocky-9.os-release");
const ALMA = os("almalinux-9.os-release");
const CENTOS = os("centos-stream-9.os-release");
const ALPINE = os("alpine-3.20.os-release");
const AMAZON = detectFamily({ ID: "amzn", ID_LIKE: "fedora", VERSION_ID: "2023", PRETTY_NAME: "Amazon Linux 2023" });

const settings = (over: Partial<InstallSettings>): InstallSettings => ({
  installMethod: "script",
  installUrl: "https://get.docker.com",
  binaryUrl: "",
  ...over,
});

const scratch = mkdtempSync(path.join(tmpdir(), "tsm-install-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function shSyntaxOk(script: string): void {
  const r = spawnSync("sh", ["-n"], { input: script, encoding: "utf8" });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
}

describe("script method", () => {
  it("downloads the URL to a temporary file and runs it with sh (apt family installs curl when needed)", () => {
    const plan = installPlan(DEBIAN, "systemd", settings({}));
    expect(plan.description).toBe("install script https://get.docker.com");
    expect(plan.files).toEqual([]);
    expect(plan.script).toContain("fetch 'https://get.docker.com' \"$f\"\nsh \"$f\"");
    expect(plan.script).toContain("apt_update\n  apt_get install curl ca-certificates");
    expect(plan.script).toContain("apt-get -o DPkg::Lock::Timeout=300 -y");
    shSyntaxOk(plan.script);
    for (const o of [FEDORA, ROCKY, ALPINE]) shSyntaxOk(installPlan(o, o.init ?? "systemd", settings({})).script);
    expect(installPlan(ROCKY, "systemd", settings({})).script).toContain("  dnf install -y curl\n");
    expect(installPlan(ALPINE, "openrc", settings({})).script).toContain("  apk add --no-cache curl ca-certificates\n");
  });

  it("quotes a hostile URL", () => {
    const plan = installPlan(DEBIAN, "systemd", settings({ installUrl: "https://x/a b'$(id)" }));
    expect(plan.script).toContain(`fetch 'https://x/a b'\\''$(id)' "$f"`);
  });

  /** Runs the script with only stub tools on PATH (plus the few real ones it needs). */
  function runWithStubs(stubs: Record<string, string>): { status: number | null; log: string; stderr: string } {
    const dir = mkdtempSync(path.join(scratch, "stubs-"));
    const bin = path.join(dir, "bin");
    mkdirSync(bin);
    for (const tool of ["sh", "mktemp", "rm", "cat", "sleep", "chmod"]) {
      const real = spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
      symlinkSync(real, path.join(bin, tool));
    }
    const log = path.join(dir, "log");
    for (const [name, body] of Object.entries(stubs)) {
      writeFileSync(path.join(bin, name), `#!${path.join(bin, "sh")}\necho "${name} $*" >> ${log}\n${body}\n`);
      chmodSync(path.join(bin, name), 0o755);
    }
    const script = installPlan(DEBIAN, "systemd", settings({ installUrl: "https://get.example/install.sh" })).script;
    const r = spawnSync(path.join(bin, "sh"), ["-c", script], { encoding: "utf8", env: { PATH: bin, LOG: log, BIN: bin } });
    return { status: r.status, log: existsSync(log) ? readFileSync(log, "utf8") : "", stderr: r.stderr };
  }

  const FAKE_INSTALLER = `echo 'echo "installer ran" >> "$LOG"' > "$2"`;

  it("uses curl when present", () => {
    const r = runWithStubs({ curl: FAKE_INSTALLER.replace("$2", "$5"), wget: "exit 99" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.log).toMatch(/^curl -fsSL --retry 3 -o \/\S+ https:\/\/get.example\/install.sh\ninstaller ran\n$/);
  });

  it("falls back to wget", () => {
    const r = runWithStubs({ wget: FAKE_INSTALLER.replace("$2", "$3") });
    expect(r.status).toBe(0);
    expect(r.log).toMatch(/^wget -q -O \/\S+ https:\/\/get.example\/install.sh\ninstaller ran\n$/);
  });

  it("installs curl with the package manager when neither exists", () => {
    // apt-get "installs" curl by creating the curl stub.
    const curl = `#!/bin/sh\\necho \\"curl \\$*\\" >> \\"\\$LOG\\"\\necho 'echo \\"installer ran\\" >> \\"\\$LOG\\"' > \\"\\$5\\"`;
    const r = runWithStubs({ "apt-get": `case "$*" in *install*) printf "${curl}\\n" > "$BIN/curl"; chmod 755 "$BIN/curl";; esac` });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.log.split("\n").map((l) => l.split(" ").slice(0, 2).join(" "))).toEqual([
      "apt-get -o",
      "apt-get -o",
      "curl -fsSL",
      "installer ran",
      "",
    ]);
    expect(r.log).toContain("apt-get -o DPkg::Lock::Timeout=300 -y update\n");
    expect(r.log).toContain("apt-get -o DPkg::Lock::Timeout=300 -y install curl ca-certificates\n");
  });
});

describe("distro method", () => {
  it("Debian and Ubuntu: docker.io through apt (containerd and runc come as its dependencies)", () => {
    for (const o of [DEBIAN, UBUNTU]) {
      const plan = installPlan(o, "systemd", settings({ installMethod: "distro" }));
      expect(plan.description).toBe("distribution packages: docker.io");
      expect(plan.script.endsWith("apt_update\napt_get install docker.io")).toBe(true);
      expect(plan.script).toContain("export DEBIAN_FRONTEND=noninteractive");
      shSyntaxOk(plan.script);
    }
  });

  it("Fedora: moby-engine; Amazon Linux: docker", () => {
    expect(installPlan(FEDORA, "systemd", settings({ installMethod: "distro" })).script).toBe("set -e\ndnf install -y moby-engine");
    expect(installPlan(AMAZON, "systemd", settings({ installMethod: "distro" })).script).toBe("set -e\ndnf install -y docker");
  });

  it("RHEL-likes have no Docker package: a clear error suggesting the script or binary method", () => {
    for (const o of [ROCKY, ALMA, CENTOS]) {
      const run = (): unknown => installPlan(o, "systemd", settings({ installMethod: "distro" }));
      expect(run).toThrow(EngineInstallError);
      expect(run).toThrow(`${o.prettyName} has no Docker Engine among its distribution packages (podman-docker is Podman, not Docker)`);
      try {
        run();
      } catch (err) {
        expect((err as EngineInstallError).details.join(" ")).toContain("--engine-install-method script");
      }
    }
  });

  it("Alpine: apk add docker, with a hint about the community repository", () => {
    const plan = installPlan(ALPINE, "openrc", settings({ installMethod: "distro" }));
    expect(plan.script).toBe("set -e\napk add --no-cache docker");
    expect(plan.hints[0]).toMatch(/community repository/);
  });
});

describe("binary method", () => {
  const url = "https://downloads.example/docker-27.3.1.tgz";

  it("systemd: unpacks into /usr/local/bin by rename, writes tsm's unit first, reloads systemd", () => {
    const plan = installPlan(DEBIAN, "systemd", settings({ installMethod: "binary", binaryUrl: url }));
    expect(plan.files.map((f) => [f.path, f.mode])).toEqual([["/etc/systemd/system/docker.service", 0o644]]);
    expect(plan.files[0]!.content).toContain("ExecStart=/usr/local/bin/dockerd -H unix:///var/run/docker.sock\n");
    expect(plan.script).toContain(`fetch '${url}' "$f"`);
    expect(plan.script).toContain('tar -xzf "$f" -C "$d" --strip-components=1');
    expect(plan.script).toContain('for b in "$d"/*; do mv -f "$b" /usr/local/bin/; done');
    expect(plan.script).toContain("command -v iptables >/dev/null 2>&1 || { apt_update; apt_get install iptables; }");
    expect(plan.script.endsWith("systemctl daemon-reload")).toBe(true);
    shSyntaxOk(plan.script);
  });

  it("OpenRC: an init script (0755) modelled on Alpine's", () => {
    const plan = installPlan(ALPINE, "openrc", settings({ installMethod: "binary", binaryUrl: url }));
    expect(plan.files.map((f) => [f.path, f.mode])).toEqual([["/etc/init.d/docker", 0o755]]);
    expect(plan.script).not.toContain("systemctl");
    shSyntaxOk(plan.script);
  });

  it("unpacks and moves a real tarball's layout (docker/dockerd, docker/containerd)", () => {
    const dir = mkdtempSync(path.join(scratch, "tgz-"));
    mkdirSync(path.join(dir, "src/docker"), { recursive: true });
    for (const b of ["dockerd", "containerd", "docker"]) {
      writeFileSync(path.join(dir, "src/docker", b), `#!/bin/sh\necho ${b}\n`, { mode: 0o755 });
    }
    expect(spawnSync("tar", ["-czf", path.join(dir, "docker.tgz"), "-C", path.join(dir, "src"), "docker"]).status).toBe(0);
    const target = path.join(dir, "usr/local/bin");
    const plan = installPlan(DEBIAN, "systemd", settings({ installMethod: "binary", binaryUrl: "file://x" }));
    // Run only the unpacking part, against the scratch tree.
    const part = plan.script
      .split("\n")
      .filter((l) => /^(f=|d=|trap|tar|if \[ ! -x|for b)/.test(l))
      .join("\n")
      .replace("f=$(mktemp)", `f=${path.join(dir, "docker.tgz")}`)
      .replace("mktemp -d /usr/local/.tsm-docker.XXXXXX", `mktemp -d ${dir}/.tsm-docker.XXXXXX`)
      .replace("trap 'rm -rf \"$f\" \"$d\"' EXIT", "trap 'rm -rf \"$d\"' EXIT")
      .replace("/usr/local/bin/", `${target}/`);
    mkdirSync(target, { recursive: true });
    const r = spawnSync("sh", ["-c", `set -e\n${part}`], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(spawnSync(path.join(target, "dockerd"), { encoding: "utf8" }).stdout).toBe("dockerd\n");
    expect(existsSync(path.join(target, "containerd"))).toBe(true);
  });

  it("needs a URL", () => {
    expect(() => installPlan(DEBIAN, "systemd", settings({ installMethod: "binary" }))).toThrow(/--engine-binary-url/);
  });
});

describe("none method", () => {
  it("is an error when dockerd is missing", () => {
    expect(() => installPlan(DEBIAN, "systemd", settings({ installMethod: "none" }))).toThrow(
      'Docker Engine (dockerd) is not installed on this Debian GNU/Linux 12 (bookworm) host, and the install method is "none"',
    );
  });
});

describe("upgrade", () => {
  it("uses the install method again", () => {
    expect(upgradePlan(DEBIAN, "systemd", settings({ installMethod: "distro" })).script.endsWith("apt_update\napt_get install --only-upgrade docker.io")).toBe(true);
    expect(upgradePlan(FEDORA, "systemd", settings({ installMethod: "distro" })).script).toBe("set -e\ndnf upgrade -y moby-engine");
    expect(upgradePlan(ALPINE, "openrc", settings({ installMethod: "distro" })).script).toBe("set -e\napk add --no-cache --upgrade docker");
    expect(upgradePlan(DEBIAN, "systemd", settings({})).script).toBe(installPlan(DEBIAN, "systemd", settings({})).script);
    const bin = settings({ installMethod: "binary", binaryUrl: "https://x/d.tgz" });
    expect(upgradePlan(DEBIAN, "systemd", bin)).toEqual(installPlan(DEBIAN, "systemd", bin));
    expect(() => upgradePlan(DEBIAN, "systemd", settings({ installMethod: "none" }))).toThrow(/cannot upgrade it/);
    expect(() => upgradePlan(ROCKY, "systemd", settings({ installMethod: "distro" }))).toThrow(EngineInstallError);
  });
});
