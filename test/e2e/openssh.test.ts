/**
 * `tsm ssh` and `tsm scp` through the system's OpenSSH, as Docker Machine does it, with the
 * built tsm against a real sshd (test/helpers/sshd.ts) and a generic machine pointing at it.
 * The store path has a space, a quote and a % in it, so every path tsm hands to ssh, scp
 * and rsync goes through their own parsers for real. The "remote" host is this machine.
 */
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runTsm, TSM_BIN, baseEnv, type RunResult } from "../helpers/cli.js";
import { describeWithPrereqs, missingPrereqs, which } from "../helpers/prereq.js";
import { freePort, sshdPrereqs, startSshd, type TestSshd } from "../helpers/sshd.js";

describeWithPrereqs("ssh and scp through OpenSSH", [...sshdPrereqs(), ...missingPrereqs(["ssh", "scp", "rsync"])], () => {
  let sshd: TestSshd;
  let tmp = "";
  let store = "";
  let remote = "";
  const tsm = (args: string[], env: Record<string, string | undefined> = {}): Promise<RunResult> => runTsm(store, args, { env: { TSM_SSH_TIMEOUT: "10", ...env } });
  const recordFile = () => path.join(store, "machines", "m", "config.json");
  const knownHosts = () => path.join(store, "machines", "m", "known_hosts");

  beforeAll(async () => {
    sshd = await startSshd();
    tmp = await mkdtemp(path.join(os.tmpdir(), "tsm-openssh-"));
    store = path.join(tmp, "st ore's 50%");
    remote = path.join(sshd.dir, "remote");
    mkdirSync(remote);
    // A generic machine on the test sshd, without provisioning: a none record made generic.
    const made = await runTsm(store, ["create", "-d", "none", "--url", "tcp://127.0.0.1:2376", "m"]);
    expect(made.exitCode, made.stderr).toBe(0);
    const key = path.join(store, "machines", "m", "id ed25519");
    copyFileSync(sshd.clientKeyPath, key);
    const record = JSON.parse(readFileSync(recordFile(), "utf8"));
    record.driver = { name: "generic", config: { ipAddress: sshd.host, sshUser: sshd.user, sshKeyPath: key, sshPort: sshd.port, enginePort: 2376 } };
    writeFileSync(recordFile(), JSON.stringify(record, null, 2));
  });
  afterAll(async () => {
    await sshd?.cleanup();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("runs `tsm ssh NAME -C echo foo` with -C for ssh, pins the key on first contact, then connects once per command", async () => {
    const before = sshd.acceptedCount();
    const r = await tsm(["--debug", "ssh", "m", "-C", "echo", "foo"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe("foo\n");
    expect(r.stderr).toMatch(/running \S*\/ssh -F \/dev\/null .*-o StrictHostKeyChecking=yes .*-C -- 127\.0\.0\.1 "echo foo"/);
    expect(JSON.parse(readFileSync(recordFile(), "utf8")).ssh.hostKey).toBe(sshd.hostKeyFingerprint);
    expect(readFileSync(knownHosts(), "utf8")).toMatch(new RegExp(`^\\[127\\.0\\.0\\.1\\]:${sshd.port} ssh-ed25519 AAAA\\S+\\n$`));
    expect(statSync(knownHosts()).mode & 0o777).toBe(0o600);
    // First contact: the built-in client pins the key and writes known_hosts, then OpenSSH logs in.
    expect(sshd.acceptedCount() - before).toBe(2);
    const again = await tsm(["ssh", "m", "echo", "foo"]);
    expect(again.stdout).toBe("foo\n");
    expect(sshd.acceptedCount() - before).toBe(3);
  });

  it("hands back the remote command's output and exit status; the command line reaches one remote shell", async () => {
    const r = await tsm(["ssh", "m", "--", "echo out; echo err >&2; exit 3"]);
    expect(r).toEqual({ stdout: "out\n", stderr: "err\n", exitCode: 3 });
    expect((await tsm(["ssh", "m", "printf", "'%s|'", "a b", "c"])).stdout).toBe("a|b|c|");
  });

  it.skipIf(which("script") === undefined)("gives an interactive `tsm ssh NAME` on a terminal the terminal: a remote PTY, the shell's exit status", async () => {
    // script(1) runs tsm on a new pseudo-terminal, as a user's terminal would.
    const r = await new Promise<{ out: string; code: number | null }>((resolve) => {
      const child = spawn("script", ["-qec", `'${process.execPath}' '${TSM_BIN}' ssh m`, "/dev/null"], {
        env: { ...baseEnv(), TSM_STORAGE_PATH: store, TERM: "dumb" },
        stdio: ["pipe", "pipe", "pipe"],
      });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (out += d.toString()));
      child.on("exit", (code) => resolve({ out, code }));
      child.stdin.write("echo on-$(tty | cut -c1-8)-pty; exit 4\n");
    });
    expect(r.out).toContain("on-/dev/pts-pty");
    expect(r.code).toBe(4);
  });

  it("forwards a port with -L to a port listening on the remote side", async () => {
    const server = net.createServer((s) => s.end("hello from the remote side\n"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const remotePort = (server.address() as net.AddressInfo).port;
    const localPort = await freePort();
    const done = path.join(remote, "forward-done");
    const child = spawn(
      process.execPath,
      [TSM_BIN, "ssh", "m", "-o", "ExitOnForwardFailure=yes", "-L", `${localPort}:127.0.0.1:${remotePort}`, "--", `for i in $(seq 100); do [ -e '${done}' ] && exit 0; sleep 0.1; done; exit 9`],
      { env: { ...baseEnv(), TSM_STORAGE_PATH: store }, stdio: "ignore" },
    );
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    try {
      let answer = "";
      for (let i = 0; i < 100 && answer === ""; i++) {
        answer = await new Promise<string>((resolve) => {
          const s = net.connect(localPort, "127.0.0.1");
          let got = "";
          s.on("data", (d) => (got += d.toString()));
          s.on("end", () => resolve(got));
          s.on("error", () => setTimeout(() => resolve(""), 100));
        });
      }
      expect(answer).toBe("hello from the remote side\n");
      writeFileSync(done, "");
      expect(await exited).toBe(0);
    } finally {
      child.kill();
      server.close();
    }
  });

  it("copies with OpenSSH's scp both ways, and with rsync for -d (again after a change), -q quiet", async () => {
    const file = path.join(tmp, "up.txt");
    writeFileSync(file, "payload with spaces\n");
    const up = await tsm(["scp", file, `m:${remote}/up.txt`]);
    expect(up.exitCode, up.stderr).toBe(0);
    expect(readFileSync(path.join(remote, "up.txt"), "utf8")).toBe("payload with spaces\n");
    const back = path.join(tmp, "down.txt");
    expect((await tsm(["scp", "-q", `m:${remote}/up.txt`, back])).exitCode).toBe(0);
    expect(readFileSync(back, "utf8")).toBe("payload with spaces\n");

    const tree = path.join(tmp, "tree");
    mkdirSync(path.join(tree, "sub dir"), { recursive: true });
    writeFileSync(path.join(tree, "sub dir", "f 1"), "one");
    writeFileSync(path.join(tree, "big"), "x".repeat(200_000));
    const d = await tsm(["scp", "-r", "-d", tree, `m:${remote}/`]);
    expect(d.exitCode, d.stderr).toBe(0);
    expect(d.stdout).toContain("sub dir/f 1");
    expect(readFileSync(path.join(remote, "tree", "sub dir", "f 1"), "utf8")).toBe("one");
    // A different size: rsync skips a file whose size and mtime (to the second) match.
    writeFileSync(path.join(tree, "sub dir", "f 1"), "two, longer");
    const q = await tsm(["scp", "--recursive", "--delta", "--quiet", tree, `m:${remote}/`]);
    expect(q).toEqual({ stdout: "", stderr: "", exitCode: 0 });
    expect(readFileSync(path.join(remote, "tree", "sub dir", "f 1"), "utf8")).toBe("two, longer");
    expect(readFileSync(path.join(remote, "tree", "big"), "utf8")).toHaveLength(200_000);
  });

  it("uses the built-in client when asked (TSM_NATIVE_SSH, MACHINE_NATIVE_SSH, --native-ssh) or when OpenSSH is not on PATH", async () => {
    for (const env of [{ TSM_NATIVE_SSH: "1" }, { MACHINE_NATIVE_SSH: "true" }, { PATH: "/nonexistent" }]) {
      const r = await tsm(["--debug", "ssh", "m", "echo", "foo"], env);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toBe("foo\n");
      expect(r.stderr).not.toMatch(/running \S*ssh/);
      const withOption = await tsm(["ssh", "m", "-C", "echo", "foo"], env);
      expect(withOption.exitCode).toBe(2);
      expect(withOption.stderr).toMatch(/The ssh options -C need OpenSSH's ssh/);
    }
    // TSM_NATIVE_SSH wins over MACHINE_NATIVE_SSH.
    expect((await tsm(["ssh", "m", "-C", "echo", "foo"], { TSM_NATIVE_SSH: "0", MACHINE_NATIVE_SSH: "1" })).stdout).toBe("foo\n");
    const forced = await tsm(["--native-ssh", "ssh", "m", "-C", "echo", "foo"]);
    expect(forced.exitCode).toBe(2);
    expect(forced.stderr).toMatch(/The ssh options -C need OpenSSH's ssh/);
    expect((await tsm(["--native-ssh", "ssh", "m", "echo", "foo"])).stdout).toBe("foo\n");
    // scp falls back to SFTP without OpenSSH; -d cannot.
    const file = path.join(tmp, "native.txt");
    writeFileSync(file, "native\n");
    expect((await tsm(["scp", file, `m:${remote}/native.txt`], { PATH: "/nonexistent" })).exitCode).toBe(0);
    expect(readFileSync(path.join(remote, "native.txt"), "utf8")).toBe("native\n");
    const delta = await tsm(["scp", "-d", file, `m:${remote}/native.txt`], { PATH: "/nonexistent" });
    expect(delta.exitCode).toBe(1);
    expect(delta.stderr).toMatch(/scp --delta needs rsync and OpenSSH's ssh on PATH/);
  });

  it("maps OpenSSH's 255 to one line saying why: a host that is down", async () => {
    await sshd.stop();
    try {
      const r = await tsm(["ssh", "m", "true"], { TSM_SSH_TIMEOUT: "2" });
      expect(r.exitCode).toBe(1);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(/Cannot reach SSH on 127\.0\.0\.1:\d+/);
    } finally {
      await sshd.start();
    }
  });

  it("refuses a changed host key on the OpenSSH path too, runs nothing, and works again after ssh-trust", async () => {
    const recordBefore = readFileSync(recordFile(), "utf8");
    const knownBefore = readFileSync(knownHosts(), "utf8");
    await sshd.restart(true);
    const pwned = path.join(remote, "pwned");
    for (const args of [
      ["ssh", "m", "--", `touch '${pwned}'`],
      ["--debug", "ssh", "m", "--", `touch '${pwned}'`],
      ["scp", "-d", path.join(tmp, "up.txt"), `m:${remote}/pwned`],
      ["scp", path.join(tmp, "up.txt"), `m:${remote}/pwned`],
    ]) {
      const r = await tsm(args);
      expect(r.exitCode, r.stderr).toBe(1);
      // tsm's line is the last; scp and rsync say their own piece before it, ssh nothing.
      expect(r.stderr.trim().split("\n").at(-1)).toMatch(/^Error: The SSH host key of 127\.0\.0\.1:\d+ has changed .*tsm ssh-trust m/);
      if (args[0] === "--debug") expect(r.stderr).toMatch(/ssh exited with 255/);
      if (args[0] === "ssh") expect(r.stderr.trim().split("\n"), r.stderr).toHaveLength(1);
    }
    expect(existsSync(pwned)).toBe(false);
    expect(readFileSync(recordFile(), "utf8")).toBe(recordBefore);
    expect(readFileSync(knownHosts(), "utf8")).toBe(knownBefore);
    expect((await tsm(["ssh-trust", "-f", "m"])).exitCode).toBe(0);
    const r = await tsm(["ssh", "m", "echo", "trusted"]);
    expect(r.stdout).toBe("trusted\n");
    expect(readFileSync(knownHosts(), "utf8")).not.toBe(knownBefore);
  });
});
