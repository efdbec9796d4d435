import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { planEngine, renderDaemonJson, stripDaemonJson, type EngineSettings } from "../../../src/provision/engine-plan.js";
import { renderOpenRcConf, renderOpenRcInitScript, stripOpenRcBlock } from "../../../src/provision/openrc.js";
import {
  assertNotOverridden,
  keptBaseWords,
  renderSystemdDropIn,
  renderSystemdUnit,
  systemdUnitFacts,
} from "../../../src/provision/systemd-unit.js";
import { EngineConfigConflictError, InvalidEngineOptionError } from "../../../src/provision/errors.js";
import { environmentLine, parseSystemctlCat, quoteExecArg, splitCommandLine } from "../../../src/provision/systemd-syntax.js";
import { describeWithPrereqs } from "../../helpers/prereq.js";
import {
  execTimeDollars,
  readFixture,
  systemdArgv,
  systemdEnvironment,
  systemdOracleMissing,
  systemdTest,
} from "./systemd-oracle.js";

const BQ = "`";
const scratch = mkdtempSync(path.join(tmpdir(), "tsm-provision-cfg-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const PWNED = path.join(scratch, "pwned");

/** Every hostile ingredient: spaces (a run of two), quotes, command substitution, variables, specifiers, backslashes, ;, a glob. */
const HOSTILE = `a  b "q" 's' $(touch ${PWNED}) ${BQ}touch ${PWNED}${BQ} $HOME \${HOME} %h %% back\\slash \\" ; * end`;

function engine(over: Partial<EngineSettings> = {}): EngineSettings {
  return {
    port: 2376,
    opts: [],
    env: [],
    labels: [],
    insecureRegistries: [],
    registryMirrors: [],
    storageDriver: "",
    ...over,
  };
}

const DEBIAN_UNIT = readFixture("debian-12-docker.io.service");
const DEBIAN_EXEC = "/usr/sbin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock $DOCKER_OPTS";

describe("planEngine", () => {
  it("puts TLS, labels (with provider=<driver>), registries and the storage driver in daemon.json", () => {
    const plan = planEngine(
      engine({ labels: ["env=prod"], insecureRegistries: ["reg:5000"], registryMirrors: ["https://m"], storageDriver: "overlay2" }),
      "generic",
    );
    expect(plan.daemonJson).toEqual({
      tlsverify: true,
      tlscacert: "/etc/docker/ca.pem",
      tlscert: "/etc/docker/server.pem",
      tlskey: "/etc/docker/server-key.pem",
      labels: ["env=prod", "provider=generic"],
      "insecure-registries": ["reg:5000"],
      "registry-mirrors": ["https://m"],
      "storage-driver": "overlay2",
    });
    expect(plan.args).toEqual([]);
  });

  it("turns --engine-opt into one --name=value argument each, and bare names into --name", () => {
    const plan = planEngine(engine({ opts: ["log-driver=journald", "debug", "log-opt=tag=a=b", `dns-search=${HOSTILE}`] }), "generic");
    expect(plan.args).toEqual(["--log-driver=journald", "--debug", "--log-opt=tag=a=b", `--dns-search=${HOSTILE}`]);
    expect(plan.displacedKeys).toEqual(["log-driver", "debug", "log-opts", "dns-search"]);
  });

  it("moves --engine-opt label/insecure-registry/registry-mirror/storage-driver into daemon.json (flag and key cannot both be set)", () => {
    const plan = planEngine(
      engine({ opts: ["label=a=b", "insecure-registry=r:1", "registry-mirror=https://x", "storage-driver=vfs"], labels: ["c=d"] }),
      "generic",
    );
    expect(plan.args).toEqual([]);
    expect(plan.daemonJson).toMatchObject({
      labels: ["c=d", "a=b", "provider=generic"],
      "insecure-registries": ["r:1"],
      "registry-mirrors": ["https://x"],
      "storage-driver": "vfs",
    });
    expect(() => planEngine(engine({ opts: ["storage-driver=vfs"], storageDriver: "overlay2" }), "g")).toThrow(
      /conflicts with --engine-storage-driver "overlay2"/,
    );
  });

  it("refuses options that would undo tsm's TLS or listeners", () => {
    for (const opt of ["host=tcp://0.0.0.0:2375", "H=unix:///x", "tlsverify=false", "tls", "tlscacert=/x", "tlskey=/k", "config-file=/tmp/x.json"]) {
      expect(() => planEngine(engine({ opts: [opt] }), "g"), opt).toThrow(InvalidEngineOptionError);
    }
  });

  it("refuses a label giving provider another value, and keeps one copy of an identical one", () => {
    expect(() => planEngine(engine({ labels: ["provider=aws"] }), "generic")).toThrow(/conflicts with "provider=generic"/);
    expect(planEngine(engine({ labels: ["provider=generic", "x=1", "x=1"] }), "generic").daemonJson.labels).toEqual(["provider=generic", "x=1"]);
    expect(() => planEngine(engine({ labels: ["x=1", "x=2"] }), "g")).toThrow(/two values to one key/);
  });

  it("refuses newlines and other control characters in every value, and bad env names", () => {
    const bad = "a\nb";
    expect(() => planEngine(engine({ opts: [`log-opt=${bad}`] }), "g")).toThrow(InvalidEngineOptionError);
    expect(() => planEngine(engine({ env: [`X=${bad}`] }), "g")).toThrow(InvalidEngineOptionError);
    expect(() => planEngine(engine({ env: ["X=a\tb"] }), "g")).toThrow(/control character/);
    expect(() => planEngine(engine({ labels: [`k=${bad}`] }), "g")).toThrow(InvalidEngineOptionError);
    expect(() => planEngine(engine({ insecureRegistries: [bad] }), "g")).toThrow(InvalidEngineOptionError);
    expect(() => planEngine(engine({ env: ["1X=a"] }), "g")).toThrow(/Invalid environment variable name/);
    expect(() => planEngine(engine({ env: ["=a"] }), "g")).toThrow(/expected NAME=VALUE/);
    expect(() => planEngine(engine({ opts: ["-x=1"] }), "g")).toThrow(/dockerd flag name/);
  });
});

describe("daemon.json", () => {
  it("renders exactly, values carried as JSON whatever they contain", () => {
    const plan = planEngine(engine({ labels: [`note=${HOSTILE}`], registryMirrors: ["https://mirror.example"] }), "generic");
    const { text, removedKeys } = renderDaemonJson(undefined, plan);
    expect(text).toBe(
      [
        "{",
        '  "tlsverify": true,',
        '  "tlscacert": "/etc/docker/ca.pem",',
        '  "tlscert": "/etc/docker/server.pem",',
        '  "tlskey": "/etc/docker/server-key.pem",',
        '  "labels": [',
        `    ${JSON.stringify(`note=${HOSTILE}`)},`,
        '    "provider=generic"',
        "  ],",
        '  "registry-mirrors": [',
        '    "https://mirror.example"',
        "  ]",
        "}",
        "",
      ].join("\n"),
    );
    expect(JSON.parse(text).labels[0]).toBe(`note=${HOSTILE}`);
    expect(removedKeys).toEqual([]);
  });

  it("keeps the admin's other keys in order, replaces tsm's, drops hosts and keys an --engine-opt now sets", () => {
    const existing = JSON.stringify({
      "log-driver": "json-file",
      hosts: ["tcp://0.0.0.0:2375"],
      "data-root": "/srv/docker",
      labels: ["old=1"],
      "registry-mirrors": ["https://old"],
      "log-opts": { "max-size": "10m" },
      tls: false,
    });
    const plan = planEngine(engine({ opts: ["log-driver=journald"] }), "generic");
    const { text, removedKeys } = renderDaemonJson(existing, plan);
    expect(JSON.parse(text)).toEqual({
      "data-root": "/srv/docker",
      "log-opts": { "max-size": "10m" },
      tlsverify: true,
      tlscacert: "/etc/docker/ca.pem",
      tlscert: "/etc/docker/server.pem",
      tlskey: "/etc/docker/server-key.pem",
      labels: ["provider=generic"],
    });
    expect(Object.keys(JSON.parse(text))[0]).toBe("data-root");
    expect(removedKeys).toEqual(["log-driver"]);
  });

  it("is idempotent: rendering over its own output gives the same text", () => {
    const plan = planEngine(engine({ labels: ["a=b"], storageDriver: "overlay2" }), "generic");
    const once = renderDaemonJson('{"debug": true}', plan).text;
    expect(renderDaemonJson(once, plan).text).toBe(once);
  });

  it("treats an empty file as {} and refuses invalid JSON or a non-object instead of overwriting it", () => {
    const plan = planEngine(engine(), "g");
    expect(JSON.parse(renderDaemonJson("  \n", plan).text).tlsverify).toBe(true);
    expect(() => renderDaemonJson("{ nope", plan)).toThrow(EngineConfigConflictError);
    expect(() => renderDaemonJson("{ nope", plan)).toThrow(/\/etc\/docker\/daemon.json on the host is not valid JSON/);
    expect(() => renderDaemonJson("[1]", plan)).toThrow(/not a JSON object/);
  });

  it("stripDaemonJson removes tsm's keys, and says to delete a file left empty", () => {
    const plan = planEngine(engine({ registryMirrors: ["https://m"] }), "g");
    const rendered = renderDaemonJson('{"data-root":"/srv"}', plan).text;
    expect(stripDaemonJson(rendered)).toBe('{\n  "data-root": "/srv"\n}\n');
    expect(stripDaemonJson(renderDaemonJson(undefined, plan).text)).toBeUndefined();
  });
});

describe("systemd quoting", () => {
  it("leaves inert words bare and quotes the rest per systemd.syntax(7), with $$ and %%", () => {
    expect(quoteExecArg("/usr/sbin/dockerd")).toBe("/usr/sbin/dockerd");
    expect(quoteExecArg("--log-opt=max-size=10m")).toBe("--log-opt=max-size=10m");
    expect(quoteExecArg("")).toBe('""');
    expect(quoteExecArg(";")).toBe('";"');
    expect(quoteExecArg(`--x=a b "q" 's' $(touch /tmp/pwned) $HOME %h \\ ;`)).toBe(
      `"--x=a b \\"q\\" 's' $$(touch /tmp/pwned) $$HOME %%h \\\\ ;"`,
    );
    expect(environmentLine("A", `x "q" $HOME %h \\`)).toBe(`Environment="A=x \\"q\\" $HOME %%h \\\\"`);
  });

  it("round-trips hostile values through an independent reading of systemd's rules", () => {
    for (const v of [HOSTILE, "", " ", "'", '"', "\\", "%", "$", "$$", "%%", "a;b", ";", "\\;", "\\n", "${X}", "ünï €"]) {
      expect(systemdArgv(`/bin/x ${quoteExecArg(v)}`), JSON.stringify(v)).toEqual(["/bin/x", v]);
      const line = environmentLine("V", v);
      expect(systemdEnvironment(line.slice("Environment=".length)), JSON.stringify(v)).toEqual({ V: v });
    }
  });

  it("splitCommandLine keeps raw words and their unquoted values", () => {
    expect(splitCommandLine(`/usr/bin/dockerd  "-H" 'fd://' $OPTIONS --a="b c" \\x41 \\;`)).toEqual([
      { raw: "/usr/bin/dockerd", value: "/usr/bin/dockerd" },
      { raw: '"-H"', value: "-H" },
      { raw: "'fd://'", value: "fd://" },
      { raw: "$OPTIONS", value: "$OPTIONS" },
      { raw: '--a="b c"', value: "--a=b c" },
      { raw: "\\x41", value: "A" },
      { raw: "\\;", value: ";" },
    ]);
  });
});

describe("systemd numeric escapes", () => {
  it("reads \\xNN, \\NNN, \\uNNNN and \\UNNNNNNNN, and keeps the backslash of a short one", () => {
    expect(splitCommandLine("\\x41\\101\\u00e9\\U0001F600").map((w) => w.value)).toEqual(["AAé😀"]);
    expect(splitCommandLine("\\x4 \\10 \\u00e \\U0001F60").map((w) => w.value)).toEqual(["\\x4", "\\10", "\\u00e", "\\U0001F60"]);
  });
});

describe("the systemd drop-in", () => {
  it("on Debian 12's docker.io unit: fd:// kept for docker.socket, the unit's other arguments kept as written", () => {
    const files = parseSystemctlCat(`# /lib/systemd/system/docker.service\n${DEBIAN_UNIT}`, "docker.service");
    const unit = systemdUnitFacts(files);
    expect(unit).toEqual({ baseExecStart: DEBIAN_EXEC, overriddenBy: [] });
    const plan = planEngine(engine({ env: ["HTTP_PROXY=http://proxy:3128"] }), "generic");
    expect(renderSystemdDropIn({ dockerdPath: "/usr/sbin/dockerd", socketActivation: true, baseExecStart: unit.baseExecStart }, plan)).toBe(
      [
        "# Written by tsm; rewritten on every provisioning.",
        "# Docker Engine listens with mutual TLS on tcp://0.0.0.0:2376. TLS, labels, registries",
        "# and the storage driver are in /etc/docker/daemon.json; the listeners are here because",
        '# dockerd refuses "hosts" in daemon.json while its unit passes -H.',
        "[Service]",
        'Environment="HTTP_PROXY=http://proxy:3128"',
        "ExecStart=",
        "ExecStart=/usr/sbin/dockerd -H fd:// -H tcp://0.0.0.0:2376 --containerd=/run/containerd/containerd.sock $DOCKER_OPTS",
        "",
      ].join("\n"),
    );
  });

  it("without docker.socket listens on the unix socket itself", () => {
    const plan = planEngine(engine({ port: 12376 }), "generic");
    const text = renderSystemdDropIn({ dockerdPath: "/usr/bin/dockerd", socketActivation: false, baseExecStart: "/usr/bin/dockerd -H fd://" }, plan);
    expect(text).toContain("\nExecStart=/usr/bin/dockerd -H unix:///var/run/docker.sock -H tcp://0.0.0.0:12376\n");
  });

  it("uses the dockerd path found on the host, never a hard-coded one", () => {
    const plan = planEngine(engine(), "generic");
    const text = renderSystemdDropIn({ dockerdPath: "/opt/docker bin/dockerd", socketActivation: false, baseExecStart: DEBIAN_EXEC }, plan);
    expect(text).toContain('\nExecStart="/opt/docker bin/dockerd" -H unix:///var/run/docker.sock');
  });

  it("drops the original listeners and the flags tsm now sets in daemon.json, keeps the rest", () => {
    const words = splitCommandLine(
      "-Hfd:// --host=tcp://:2375 -H unix:///x --tlsverify --tlscacert /a --label k=v --log-level=warn --exec-opt native.cgroupdriver=systemd $OPTIONS --storage-driver=vfs --registry-mirror https://m",
    );
    const kept = (keys: string[]): string[] => keptBaseWords(words, new Set(keys)).map((w) => w.raw);
    expect(kept(["tlsverify", "tlscacert", "tlscert", "tlskey", "labels"])).toEqual([
      "--log-level=warn",
      "--exec-opt",
      "native.cgroupdriver=systemd",
      "$OPTIONS",
      "--storage-driver=vfs",
      "--registry-mirror",
      "https://m",
    ]);
    expect(kept(["tlsverify", "tlscacert", "labels", "storage-driver", "registry-mirrors"])).toEqual([
      "--log-level=warn",
      "--exec-opt",
      "native.cgroupdriver=systemd",
      "$OPTIONS",
    ]);
  });

  it("reads a multi-line ExecStart (Fedora's moby-engine style) and ignores tsm's own drop-in", () => {
    const cat = [
      "# /usr/lib/systemd/system/docker.service",
      "[Unit]",
      "Description=Docker Application Container Engine",
      "# /not/a/header because it is a comment",
      "[Service]",
      "Type=notify",
      "EnvironmentFile=-/etc/sysconfig/docker",
      "ExecStart=/usr/bin/dockerd \\",
      "          --host=fd:// \\",
      "          --exec-opt native.cgroupdriver=systemd \\",
      "          $OPTIONS",
      "",
      "# /etc/systemd/system/docker.service.d/10-tsm.conf",
      "[Service]",
      "ExecStart=",
      "ExecStart=/usr/bin/dockerd -H fd:// -H tcp://0.0.0.0:2376",
      "",
    ].join("\n");
    const unit = systemdUnitFacts(parseSystemctlCat(cat, "docker.service"));
    expect(unit).toEqual({
      baseExecStart: "/usr/bin/dockerd --host=fd:// --exec-opt native.cgroupdriver=systemd $OPTIONS",
      overriddenBy: [],
    });
    const text = renderSystemdDropIn({ dockerdPath: "/usr/bin/dockerd", socketActivation: true, baseExecStart: unit.baseExecStart }, planEngine(engine(), "g"));
    expect(text).toContain("\nExecStart=/usr/bin/dockerd -H fd:// -H tcp://0.0.0.0:2376 --exec-opt native.cgroupdriver=systemd $OPTIONS\n");
  });

  it("refuses when a drop-in applied after tsm's sets ExecStart= (it would undo TLS); earlier ones are fine", () => {
    const cat = (dropIn: string): string =>
      `# /lib/systemd/system/docker.service\n${DEBIAN_UNIT}\n# /etc/systemd/system/docker.service.d/${dropIn}\n[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H tcp://0.0.0.0:2375\n`;
    const late = systemdUnitFacts(parseSystemctlCat(cat("override.conf"), "docker.service"));
    expect(late.overriddenBy).toEqual(["/etc/systemd/system/docker.service.d/override.conf"]);
    expect(() => assertNotOverridden(late)).toThrow(EngineConfigConflictError);
    expect(() => assertNotOverridden(late)).toThrow(/also set by \/etc\/systemd\/system\/docker.service.d\/override.conf/);
    const early = systemdUnitFacts(parseSystemctlCat(cat("05-local.conf"), "docker.service"));
    expect(early).toEqual({ baseExecStart: "/usr/bin/dockerd -H tcp://0.0.0.0:2375", overriddenBy: [] });
  });

  it("carries hostile --engine-opt and --engine-env values exactly (independent reading of systemd's rules)", () => {
    const plan = planEngine(engine({ opts: [`log-opt=tag=${HOSTILE}`, "debug"], env: [`TSM_HOSTILE=${HOSTILE}`, "NO_PROXY=localhost"] }), "generic");
    const text = renderSystemdDropIn({ dockerdPath: "/usr/sbin/dockerd", socketActivation: true, baseExecStart: DEBIAN_EXEC }, plan);
    const lines = text.split("\n");
    const exec = lines.filter((l) => l.startsWith("ExecStart="));
    expect(exec[0]).toBe("ExecStart=");
    const argv = systemdArgv(exec[1]!.slice("ExecStart=".length).replace(" $DOCKER_OPTS", ""));
    expect(argv).toEqual([
      "/usr/sbin/dockerd",
      "-H",
      "fd://",
      "-H",
      "tcp://0.0.0.0:2376",
      "--containerd=/run/containerd/containerd.sock",
      `--log-opt=tag=${HOSTILE}`,
      "--debug",
    ]);
    const env = Object.assign({}, ...lines.filter((l) => l.startsWith("Environment=")).map((l) => systemdEnvironment(l.slice(12))));
    expect(env).toEqual({ TSM_HOSTILE: HOSTILE, NO_PROXY: "localhost" });
  });
});

describeWithPrereqs("the systemd drop-in, as systemd 252 itself reads it", systemdOracleMissing(), () => {
  it("Debian 12 unit + tsm's drop-in: one ExecStart with the hostile values intact, Environment exact", () => {
    const plan = planEngine(
      engine({ opts: [`log-opt=tag=${HOSTILE}`, "debug", "dns-search=x;y"], env: [`TSM_HOSTILE=${HOSTILE}`] }),
      "generic",
    );
    const files = parseSystemctlCat(`# /lib/systemd/system/docker.service\n${DEBIAN_UNIT}`, "docker.service");
    const dropIn = renderSystemdDropIn(
      { dockerdPath: "/usr/sbin/dockerd", socketActivation: true, baseExecStart: systemdUnitFacts(files).baseExecStart },
      plan,
    );
    const view = systemdTest(
      {
        "docker.service": DEBIAN_UNIT,
        "docker.socket": readFixture("debian-12-docker.io.socket"),
        "docker.service.d/10-tsm.conf": dropIn,
      },
      "docker.service",
    );
    expect(view.dropIns).toHaveLength(1);
    expect(view.warnings).toEqual([]);
    expect(view.environment).toContain(`TSM_HOSTILE=${HOSTILE}`);
    // $DOCKER_OPTS stays a variable for systemd to expand at exec time (from /etc/default/docker).
    expect(execTimeDollars(view.execStart.filter((a) => a !== "$DOCKER_OPTS"))).toEqual([
      "/usr/sbin/dockerd",
      "-H",
      "fd://",
      "-H",
      "tcp://0.0.0.0:2376",
      "--containerd=/run/containerd/containerd.sock",
      `--log-opt=tag=${HOSTILE}`,
      "--debug",
      "--dns-search=x;y",
    ]);
    expect(view.execStart).toContain("$DOCKER_OPTS");
    expect(existsSync(PWNED)).toBe(false);
  });

  it("tsm's own unit for a static binary, with its drop-in", () => {
    const unit = renderSystemdUnit("/usr/local/bin/dockerd");
    const plan = planEngine(engine({ opts: ["log-level=warn"] }), "generic");
    const dropIn = renderSystemdDropIn(
      { dockerdPath: "/usr/local/bin/dockerd", socketActivation: false, baseExecStart: "/usr/local/bin/dockerd -H unix:///var/run/docker.sock" },
      plan,
    );
    const view = systemdTest({ "docker.service": unit, "docker.service.d/10-tsm.conf": dropIn }, "docker.service");
    expect(view.execStart).toEqual([
      "/usr/local/bin/dockerd",
      "-H",
      "unix:///var/run/docker.sock",
      "-H",
      "tcp://0.0.0.0:2376",
      "--log-level=warn",
    ]);
  });
});

/** Sources a conf.d in a real shell and expands DOCKER_OPTS the way OpenRC's supervise-daemon.sh does. */
function openRcArgv(shell: readonly string[], conf: string, extra = ""): { args: string[]; out: string } {
  const dir = mkdtempSync(path.join(scratch, "openrc-"));
  // Files that an unquoted glob would match, to prove nothing globs.
  writeFileSync(path.join(dir, "end"), "");
  writeFileSync(path.join(dir, "zzz"), "");
  writeFileSync(path.join(dir, "docker.conf"), conf);
  const script = [
    "set -u",
    ". ./docker.conf",
    // Alpine's docker.initd:
    'command_args="${DOCKER_OPTS}"',
    // OpenRC sh/supervise-daemon.sh: eval supervise-daemon ... $command -- $command_args
    "p() { for a in \"$@\"; do printf '%s\\0' \"$a\"; done; }",
    "eval p $command_args",
    extra,
  ].join("\n");
  const r = spawnSync(shell[0]!, [...shell.slice(1), "-c", script], { cwd: dir, encoding: "utf8", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/home/nobody-here" } });
  if (r.status !== 0) throw new Error(`${shell.join(" ")} failed (${r.status}): ${r.stderr}`);
  const parts = r.stdout.split("\0");
  const out = parts.pop() ?? "";
  return { args: parts, out };
}

describe("OpenRC /etc/conf.d/docker", () => {
  const ALPINE_CONFD = [
    "# /etc/conf.d/docker: config file for /etc/init.d/docker",
    "",
    "# any other random options you want to pass to docker",
    'DOCKER_OPTS=""',
    "",
  ].join("\n");

  it("renders exactly, appending tsm's block to the package's file", () => {
    const plan = planEngine(engine({ opts: ["log-level=warn"], env: ["HTTP_PROXY=http://p:3128"] }), "generic");
    expect(renderOpenRcConf(ALPINE_CONFD, "/usr/bin/dockerd", plan)).toBe(
      [
        ALPINE_CONFD.trimEnd(),
        "",
        "# BEGIN tsm: written by tsm, rewritten on every provisioning (edits inside this block are lost).",
        "# Each dockerd argument has its own variable because the init script eval's DOCKER_OPTS.",
        "DOCKERD_BINARY='/usr/bin/dockerd'",
        "tsm_dockerd_arg_1='-H'",
        "tsm_dockerd_arg_2='unix:///var/run/docker.sock'",
        "tsm_dockerd_arg_3='-H'",
        "tsm_dockerd_arg_4='tcp://0.0.0.0:2376'",
        "tsm_dockerd_arg_5='--log-level=warn'",
        `DOCKER_OPTS='"$tsm_dockerd_arg_1" "$tsm_dockerd_arg_2" "$tsm_dockerd_arg_3" "$tsm_dockerd_arg_4" "$tsm_dockerd_arg_5"'`,
        "export HTTP_PROXY='http://p:3128'",
        "# END tsm",
        "",
      ].join("\n"),
    );
  });

  it("is idempotent and removable: re-rendering replaces the block, stripping restores the package's file", () => {
    const plan = planEngine(engine({ opts: ["debug"] }), "generic");
    const once = renderOpenRcConf(ALPINE_CONFD, "/usr/bin/dockerd", plan);
    expect(renderOpenRcConf(once, "/usr/bin/dockerd", plan)).toBe(once);
    expect(stripOpenRcBlock(once)).toBe(ALPINE_CONFD);
    expect(renderOpenRcConf(undefined, "/usr/bin/dockerd", plan).startsWith("# BEGIN tsm")).toBe(true);
  });

  for (const shell of [["sh"], ["bash", "--posix"], ["busybox", "sh"]]) {
    const available = spawnSync(shell[0]!, [...shell.slice(1), "-c", "true"]).status === 0;
    it.skipIf(!available)(`${shell.join(" ")}: each argument reaches dockerd intact through the init script's eval, nothing executes, env is exported`, () => {
      const plan = planEngine(
        engine({ opts: [`log-opt=tag=${HOSTILE}`, "debug", "dns-search=*"], env: [`TSM_HOSTILE=${HOSTILE}`, "EMPTY="] }),
        "generic",
      );
      const conf = renderOpenRcConf(ALPINE_CONFD, "/usr/bin/dockerd", plan);
      const { args, out } = openRcArgv(shell, conf, `sh -c 'printf "%s|%s" "$TSM_HOSTILE" "\${EMPTY-unset}"'`);
      expect(args).toEqual(["-H", "unix:///var/run/docker.sock", "-H", "tcp://0.0.0.0:2376", `--log-opt=tag=${HOSTILE}`, "--debug", "--dns-search=*"]);
      expect(out).toBe(`${HOSTILE}|`);
      expect(existsSync(PWNED)).toBe(false);
    });
  }

  it("the init script for a static binary is valid sh and uses the same variables", () => {
    const text = renderOpenRcInitScript("/usr/local/bin/dockerd");
    expect(text).toContain('command="${DOCKERD_BINARY:-/usr/local/bin/dockerd}"');
    expect(text).toContain('command_args="${DOCKER_OPTS}"');
    expect(spawnSync("sh", ["-n"], { input: text }).status).toBe(0);
  });
});

it("leaves no stray files behind in the scratch directory's glob bait", () => {
  expect(readdirSync(scratch).includes("pwned")).toBe(false);
});
