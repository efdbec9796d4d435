/**
 * The OpenSSH command lines (src/ssh/openssh-args.ts): Docker Machine's options with the
 * host key pinned, ssh's own option grammar for what follows `tsm ssh NAME`, and nothing a
 * record holds turning into an option. Where OpenSSH is installed, `ssh -G` (which prints
 * the configuration it would use, without connecting) reads the very arguments built here.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { TsmError, UsageError } from "../../../src/model/errors.js";
import { knownHostsField, remoteCommandLine, rsyncArgs, rsyncWord, scpArgs, splitSshArguments, sshArgs, type OpenSshTarget } from "../../../src/ssh/openssh-args.js";

const target: OpenSshTarget = { host: "10.0.0.5", port: 2222, user: "docker", privateKeyPath: "/s/machines/m/id_ed25519", knownHostsFile: "/s/machines/m/known_hosts" };

const PINNED = [
  "-F",
  "/dev/null",
  "-o",
  "ConnectionAttempts=3",
  "-o",
  "ConnectTimeout=10",
  "-o",
  "ControlMaster=no",
  "-o",
  "ControlPath=none",
  "-o",
  "LogLevel=quiet",
  "-o",
  "PasswordAuthentication=no",
  "-o",
  "ServerAliveInterval=60",
  "-o",
  "StrictHostKeyChecking=yes",
  "-o",
  "UserKnownHostsFile=/s/machines/m/known_hosts",
  "-o",
  "GlobalKnownHostsFile=/dev/null",
  "-o",
  "UpdateHostKeys=no",
  "-o",
  "CheckHostIP=no",
  "-o",
  "IdentitiesOnly=yes",
  "-o",
  "IdentityFile=/s/machines/m/id_ed25519",
];

function hasSsh(): boolean {
  try {
    execFileSync("ssh", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** What OpenSSH itself makes of the arguments (`ssh -G`: the resolved configuration, no connection), as key -> values. */
function sshConfigOf(args: readonly string[]): Map<string, string[]> {
  const dash = args.indexOf("--");
  const out = execFileSync("ssh", ["-G", ...args.slice(0, dash), "--", args[dash + 1]!], { encoding: "utf8" });
  const config = new Map<string, string[]>();
  for (const line of out.split("\n")) {
    const space = line.indexOf(" ");
    if (space < 0) continue;
    const key = line.slice(0, space);
    config.set(key, [...(config.get(key) ?? []), line.slice(space + 1)]);
  }
  return config;
}

describe("ssh arguments", () => {
  it("are Docker Machine's base options with the host key pinned, then the user's options, --, the host and the command as one argument", () => {
    expect(sshArgs(target, ["-C", "-L", "8080:localhost:80"], ["echo", "foo"])).toEqual([...PINNED, "-p", "2222", "-l", "docker", "-C", "-L", "8080:localhost:80", "--", "10.0.0.5", "echo foo"]);
  });

  it("log in with a shell when there is no command, and leave the key to the agent when there is no key file", () => {
    const args = sshArgs({ ...target, privateKeyPath: "" }, [], []);
    expect(args.slice(-5)).toEqual(["-p", "2222", "-l", "docker", "--", "10.0.0.5"].slice(-5));
    expect(args.at(-1)).toBe("10.0.0.5");
    expect(args.filter((a) => /^Identit/.test(a))).toEqual([]);
  });

  it("say why OpenSSH failed under --debug (LogLevel=error)", () => {
    expect(sshArgs({ ...target, verbose: true }, [], [])).toContain("LogLevel=error");
  });

  it("hand the command words over as OpenSSH and the native client do: joined once, never quoted again by tsm", () => {
    // One shell on the remote side reads the line: `tsm ssh m -- "echo a; exit 3"` runs two commands.
    expect(remoteCommandLine(["echo a; exit 3"])).toBe("echo a; exit 3");
    expect(remoteCommandLine(["ls", "-la", "/tmp"])).toBe("ls -la /tmp");
    expect(remoteCommandLine([])).toBeUndefined();
    const args = sshArgs(target, [], ["echo", "'$HOME'"]);
    expect(args.slice(args.indexOf("--"))).toEqual(["--", "10.0.0.5", "echo '$HOME'"]);
  });

  it("refuse a stored user, host or port that could become an option or break the line", () => {
    for (const bad of [
      { user: "-oProxyCommand=touch /tmp/x" },
      { user: "root\n" },
      { user: "a b" },
      { user: "" },
      { host: "-oProxyCommand=touch /tmp/x" },
      { host: "host name" },
      { host: "10.0.0.5 -p 1" },
      { host: "" },
      { port: 0 },
      { port: 65536 },
      { port: 22.5 },
    ]) {
      const t = { ...target, ...bad };
      expect(() => sshArgs(t, [], []), JSON.stringify(bad)).toThrow(TsmError);
      expect(() => scpArgs("/usr/bin/ssh", t, { local: "a" }, { remote: "b" }, { recursive: false, quiet: false }), JSON.stringify(bad)).toThrow(/Refusing to run OpenSSH/);
    }
  });

  it("escape OpenSSH's % tokens in paths, quote paths with spaces in -o values, and refuse what cannot be passed", () => {
    const args = sshArgs({ ...target, knownHostsFile: "/st ore/100%/known_hosts", privateKeyPath: "/st ore/100%/id" }, [], []);
    expect(args).toContain('UserKnownHostsFile="/st ore/100%%/known_hosts"');
    expect(args).toContain('IdentityFile="/st ore/100%%/id"');
    expect(() => sshArgs({ ...target, privateKeyPath: "relative/id" }, [], [])).toThrow(/absolute path/);
    expect(() => sshArgs({ ...target, privateKeyPath: "/a/${HOME}/id" }, [], [])).toThrow(TsmError);
    expect(() => sshArgs({ ...target, knownHostsFile: '/a"b/known_hosts' }, [], [])).toThrow(/'"'/);
    expect(() => sshArgs({ ...target, knownHostsFile: "/a\nb/known_hosts" }, [], [])).toThrow(TsmError);
  });

  it.skipIf(!hasSsh())("mean to OpenSSH itself what they say (ssh -G), odd paths included", () => {
    const dir = path.join(mkdtempSync(path.join(os.tmpdir(), "tsm-openssh-")), "st ore's", "50%");
    mkdirSync(dir, { recursive: true });
    const t = { ...target, host: "::1", user: "op_er.x", knownHostsFile: path.join(dir, "known_hosts"), privateKeyPath: path.join(dir, "id key") };
    const c = sshConfigOf(sshArgs(t, ["-C", "-L", "8080:localhost:80"], ["uptime"]));
    rmSync(path.dirname(path.dirname(dir)), { recursive: true, force: true });
    expect(c.get("hostname")).toEqual(["::1"]);
    expect(c.get("user")).toEqual(["op_er.x"]);
    expect(c.get("port")).toEqual(["2222"]);
    expect(c.get("stricthostkeychecking")).toEqual(["true"]);
    expect(c.get("userknownhostsfile")).toEqual([path.join(dir, "known_hosts")]);
    expect(c.get("globalknownhostsfile")).toEqual(["/dev/null"]);
    // ssh -G shows IdentityFile before its % tokens are expanded (that happens when the key is
    // loaded; test/e2e/openssh.test.ts logs in with a key under such a path).
    expect(c.get("identityfile")).toEqual([path.join(dir, "id key").replace("%", "%%")]);
    expect(c.get("identitiesonly")).toEqual(["yes"]);
    expect(c.get("passwordauthentication")).toEqual(["no"]);
    expect(c.get("controlmaster")).toEqual(["false"]);
    expect(c.get("compression")).toEqual(["yes"]);
    expect(c.get("localforward")).toEqual(["8080 [localhost]:80"]);
    expect(c.get("updatehostkeys")).toEqual(["false"]);
  });
});

describe("what follows tsm ssh NAME", () => {
  it("splits like ssh: leading options with their values, then the command", () => {
    expect(splitSshArguments(["-C", "echo", "foo"])).toEqual({ sshOptions: ["-C"], command: ["echo", "foo"] });
    expect(splitSshArguments(["-C", "-L", "8080:localhost:80", "-A", "--", "cmd", "-x"])).toEqual({ sshOptions: ["-C", "-L", "8080:localhost:80", "-A"], command: ["cmd", "-x"] });
    expect(splitSshArguments(["-L8080:localhost:80", "-o", "ServerAliveInterval=5", "-tt", "top"])).toEqual({ sshOptions: ["-L8080:localhost:80", "-o", "ServerAliveInterval=5", "-tt"], command: ["top"] });
    // A value-taking letter at the end of a cluster takes the next word.
    expect(splitSshArguments(["-Cp", "2200", "ls"])).toEqual({ sshOptions: ["-Cp", "2200"], command: ["ls"] });
    expect(splitSshArguments(["ls", "-la"])).toEqual({ sshOptions: [], command: ["ls", "-la"] });
    expect(splitSshArguments(["--", "-weird"])).toEqual({ sshOptions: [], command: ["-weird"] });
    expect(splitSshArguments([])).toEqual({ sshOptions: [], command: [] });
    // The option's value is never the command, even when it looks like one.
    expect(splitSshArguments(["-o", "LogLevel=error"])).toEqual({ sshOptions: ["-o", "LogLevel=error"], command: [] });
  });

  it("refuses an option without its value, and long options ssh does not have", () => {
    expect(() => splitSshArguments(["-L"])).toThrow(UsageError);
    expect(() => splitSshArguments(["--compress", "ls"])).toThrow(/ssh has no option "--compress"/);
  });

  it("skips tsm's own long options and refuses its short ones, which would mean two things", () => {
    const tsm = { long: (w: string) => (w === "--debug" ? 0 : w === "--storage-path" ? 1 : undefined), short: "sD" };
    expect(splitSshArguments(["--debug", "-C", "--storage-path", "/x", "uptime"], tsm)).toEqual({ sshOptions: ["-C"], command: ["uptime"] });
    expect(() => splitSshArguments(["-D", "1080"], tsm)).toThrow(/-D after the machine name is tsm's own option.*DynamicForward/);
    expect(() => splitSshArguments(["-Cs", "sftp"], tsm)).toThrow(/-s after the machine name is tsm's own option/);
    // After the options, everything is the command's.
    expect(splitSshArguments(["--", "ls", "-D"], tsm)).toEqual({ sshOptions: [], command: ["ls", "-D"] });
  });
});

describe("scp and rsync arguments", () => {
  it("scp: the same pinned options, -P port, the same ssh binary, -r and -q, then -- and user@host:path", () => {
    expect(scpArgs("/usr/bin/ssh", target, { local: "./app.tar" }, { remote: "/tmp/" }, { recursive: true, quiet: true })).toEqual([
      ...PINNED,
      "-P",
      "2222",
      "-S",
      "/usr/bin/ssh",
      "-r",
      "-q",
      "--",
      "./app.tar",
      "docker@10.0.0.5:/tmp/",
    ]);
    expect(scpArgs("/usr/bin/ssh", { ...target, host: "fd00::5" }, { remote: "" }, { local: "/tmp/x" }, { recursive: false, quiet: false }).slice(-3)).toEqual(["--", "docker@[fd00::5]:.", "/tmp/x"]);
  });

  it("never lets a local path pass for an option or a host", () => {
    const tail = (local: string) => scpArgs("/usr/bin/ssh", target, { local }, { remote: "x" }, { recursive: false, quiet: false }).at(-2);
    expect(tail("-rf")).toBe("./-rf");
    expect(tail("a:b")).toBe("./a:b");
    expect(tail("dir/a:b")).toBe("dir/a:b");
    expect(tail("/abs/a:b")).toBe("/abs/a:b");
    expect(() => tail("")).toThrow(UsageError);
  });

  it("rsync: --progress unless quiet, -e with the same ssh options as rsync splits them, -r", () => {
    const args = rsyncArgs("/usr/bin/ssh", target, { local: "tree" }, { remote: "/srv/" }, { recursive: true, quiet: false });
    expect(args[0]).toBe("--progress");
    expect(args[1]).toBe("-e");
    expect(args[2]).toBe([`/usr/bin/ssh`, ...PINNED, "-p", "2222"].map((w) => `'${w}'`).join(" "));
    expect(args.slice(3)).toEqual(["-r", "--", "tree", "docker@10.0.0.5:/srv/"]);
    expect(rsyncArgs("/usr/bin/ssh", target, { remote: "a" }, { local: "b" }, { recursive: false, quiet: true })[0]).toBe("-e");
  });

  it("rsync words: single quotes, a quote inside doubled (rsync's own rule, not a shell's)", () => {
    expect(rsyncWord("plain")).toBe("'plain'");
    expect(rsyncWord("it's a b")).toBe("'it''s a b'");
    expect(rsyncWord("")).toBe("''");
    expect(() => rsyncWord("a\0b")).toThrow(UsageError);
  });

  it("known_hosts host fields as OpenSSH looks them up", () => {
    expect(knownHostsField("10.0.0.5", 22)).toBe("10.0.0.5");
    expect(knownHostsField("10.0.0.5", 2222)).toBe("[10.0.0.5]:2222");
    expect(knownHostsField("::1", 2222)).toBe("[::1]:2222");
  });
});
