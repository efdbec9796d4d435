/**
 * The SSH layer against a real OpenSSH server (test/helpers/sshd.ts): key files, the
 * agent, host key pinning, retries, connection loss, SFTP and quoting, all on the real
 * protocol. The "remote" host is this machine, so remote paths live in the sshd's
 * scratch directory.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { PassThrough, Writable } from "node:stream";
import { afterAll, beforeAll, expect, it } from "vitest";
import { InterruptedError } from "../../src/model/errors.js";
import { shQuote, type SshConnectOptions, type SshSession } from "../../src/ssh/client.js";
import {
  SshAuthError,
  SshCommandTimeoutError,
  SshConnectionLostError,
  SshHostKeyMismatchError,
  SshKeyFileError,
  SshUnreachableError,
} from "../../src/ssh/errors.js";
import { ssh2Connector } from "../../src/ssh/ssh2-connector.js";
import { describeWithPrereqs } from "../helpers/prereq.js";
import { freePort, sshdPrereqs, startSshd, type TestSshd } from "../helpers/sshd.js";

describeWithPrereqs("ssh layer against a real sshd", sshdPrereqs(), () => {
  let sshd: TestSshd;
  const sessions: SshSession[] = [];

  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    for (const s of sessions) s.close();
    await sshd?.cleanup();
  });

  /** Connects with the plain client key and no agent unless told otherwise; sessions are closed after the suite. */
  async function connect(overrides: Partial<SshConnectOptions> & { privateKeyPath?: string; port?: number } = {}): Promise<SshSession> {
    const { privateKeyPath, port, ...rest } = overrides;
    const session = await ssh2Connector({
      target: { host: sshd.host, port: port ?? sshd.port, user: sshd.user, privateKeyPath: privateKeyPath ?? sshd.clientKeyPath },
      env: {},
      deadlineMs: 20_000,
      ...rest,
    });
    sessions.push(session);
    return session;
  }

  async function rejection(p: Promise<unknown>): Promise<unknown> {
    try {
      await p;
    } catch (err) {
      return err;
    }
    throw new Error("expected a rejection");
  }

  it("runs commands on ONE connection: stdout, stderr, exit codes, 1 MiB of stdin, concurrency beyond MaxSessions", async () => {
    const before = sshd.acceptedCount();
    const s = await connect();
    // First contact reports the key as OpenSSH's ssh-keygen -l computes it.
    expect(s.hostKey).toBe(sshd.hostKeyFingerprint);

    expect(await s.exec("echo out; echo err >&2; exit 3")).toEqual({ stdout: "out\n", stderr: "err\n", exitCode: 3 });
    expect((await s.exec("true")).exitCode).toBe(0);

    const text = randomBytes(768 * 1024).toString("base64"); // 1 MiB of text
    const echoed = await s.exec("cat", { input: text });
    expect(echoed.stdout.length).toBe(text.length);
    expect(echoed.stdout === text).toBe(true);

    const binary = randomBytes(1024 * 1024);
    const sum = await s.exec("sha256sum", { input: binary });
    expect(sum.stdout.split(" ")[0]).toBe(createHash("sha256").update(binary).digest("hex"));

    // No input: stdin is closed at once, so commands that read to EOF finish.
    expect(await s.exec("cat; echo done")).toMatchObject({ stdout: "done\n", exitCode: 0 });
    // The provisioner's `sudo tee FILE` pattern.
    const teeFile = path.join(sshd.dir, "tee-target");
    expect((await s.exec(`tee ${shQuote(teeFile)} >/dev/null`, { input: "via tee\n" })).exitCode).toBe(0);
    expect(await readFile(teeFile, "utf8")).toBe("via tee\n");

    // 12 at once: more than OpenSSH's MaxSessions (10) per connection; the session queues them.
    const many = await Promise.all(Array.from({ length: 12 }, (_, i) => s.exec(`sleep 0.2; echo "$SSH_CONNECTION" ${i}`)));
    const connections = new Set(many.map((r) => r.stdout.split(" ").slice(0, 4).join(" ")));
    expect(many.every((r) => r.exitCode === 0)).toBe(true);
    expect(connections.size).toBe(1);

    const streamed: string[] = [];
    await s.exec("echo a; echo b >&2", { onStdout: (c) => streamed.push(`o:${c}`), onStderr: (c) => streamed.push(`e:${c}`) });
    expect(streamed.sort()).toEqual(["e:b\n", "o:a\n"]);

    // Everything above was one authenticated connection.
    expect(sshd.acceptedCount() - before).toBe(1);
  });

  it("reports a command killed by a signal as 128+N with the signal name", async () => {
    const s = await connect();
    const r = await s.exec("kill -TERM $$");
    expect(r.signal).toBe("TERM");
    expect(r.exitCode).toBe(128 + 15);
  });

  it("allocates a PTY on request", async () => {
    const s = await connect();
    const r = await s.exec("tty", { pty: true });
    expect(r.stdout).toMatch(/^\/dev\/pts\/\d+\r?\n$/);
    expect((await s.exec("tty")).exitCode).not.toBe(0);
  });

  it("accepts the pinned host key", async () => {
    const s = await connect({ pinnedHostKey: sshd.hostKeyFingerprint });
    expect(s.hostKey).toBe(sshd.hostKeyFingerprint);
    expect((await s.exec("echo pinned")).stdout).toBe("pinned\n");
  });

  it("refuses a wrong pinned host key before authenticating, without retrying", async () => {
    const before = sshd.acceptedCount();
    const wrong = `ssh-ed25519 SHA256:${"A".repeat(43)}`;
    const started = Date.now();
    const err = await rejection(connect({ pinnedHostKey: wrong, machineName: "web1" }));
    expect(err).toBeInstanceOf(SshHostKeyMismatchError);
    const e = err as SshHostKeyMismatchError;
    expect(e.code).toBe("SSH_HOST_KEY_MISMATCH");
    expect(e.expected).toBe(wrong);
    expect(e.actual).toBe(sshd.hostKeyFingerprint);
    expect(e.message).toBe(
      `The SSH host key of 127.0.0.1:${sshd.port} has changed (expected ${wrong}, got ${sshd.hostKeyFingerprint}). ` +
        `If the host was reinstalled, accept the new key with "tsm ssh-trust web1"; otherwise someone may be intercepting the connection.`,
    );
    expect(Date.now() - started).toBeLessThan(10_000); // deadline is 20 s: not retried
    expect(sshd.acceptedCount()).toBe(before); // never authenticated, so nothing ran
  });

  it("authenticates with an encrypted key held by ssh-agent", async () => {
    const agent = await sshd.startAgent([sshd.encryptedKeyPath]);
    const s = await connect({ privateKeyPath: sshd.encryptedKeyPath, env: { SSH_AUTH_SOCK: agent.socket } });
    expect((await s.exec("whoami")).stdout).toBe("root\n");
    // And with no key file at all, the agent is tried first.
    const s2 = await connect({ privateKeyPath: "", env: { SSH_AUTH_SOCK: agent.socket, HOME: sshd.dir } });
    expect((await s2.exec("echo agent")).stdout).toBe("agent\n");
  });

  it("refuses an encrypted key without an agent, saying to ssh-add it", async () => {
    const err = await rejection(connect({ privateKeyPath: sshd.encryptedKeyPath, env: {} }));
    expect(err).toBeInstanceOf(SshKeyFileError);
    expect((err as Error).message).toContain(`ssh-add ${sshd.encryptedKeyPath}`);
  });

  it("reports an encrypted key the agent does not hold as an auth failure naming ssh-add", async () => {
    const empty = await sshd.startAgent([]);
    const err = await rejection(connect({ privateKeyPath: sshd.encryptedKeyPath, env: { SSH_AUTH_SOCK: empty.socket } }));
    expect(err).toBeInstanceOf(SshAuthError);
    expect((err as Error).message).toContain(`ssh-agent at ${empty.socket}`);
    expect((err as Error).message).toContain("ssh-add");
  });

  it("refuses a key the server does not know, naming what was tried, without retrying", async () => {
    const started = Date.now();
    const err = await rejection(connect({ privateKeyPath: sshd.strangerKeyPath }));
    expect(err).toBeInstanceOf(SshAuthError);
    expect((err as Error).message).toContain(`key file ${sshd.strangerKeyPath} (ssh-ed25519)`);
    expect((err as Error).message).toContain("The server accepts: publickey");
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("refuses a key file with mode 0644 like OpenSSH, saying chmod 600", async () => {
    const open = path.join(sshd.dir, "too-open key");
    await copyFile(sshd.clientKeyPath, open);
    await chmod(open, 0o644);
    const err = await rejection(connect({ privateKeyPath: open }));
    expect(err).toBeInstanceOf(SshKeyFileError);
    expect((err as Error).message).toContain("permissions 0644 are too open");
    expect((err as Error).message).toContain(`chmod 600 '${open}'`);
  });

  it("uses the default ~/.ssh/id_ed25519 when no key is given, and says so when there is none", async () => {
    const home = await mkdtemp(path.join(sshd.dir, "home-"));
    await mkdir(path.join(home, ".ssh"), { mode: 0o700 });
    const empty = await mkdtemp(path.join(sshd.dir, "empty-home-"));
    const err = await rejection(connect({ privateKeyPath: "", env: { HOME: empty } }));
    expect(err).toBeInstanceOf(SshAuthError);
    expect((err as Error).message).toContain("there is no SSH key to try");

    await copyFile(sshd.clientKeyPath, path.join(home, ".ssh", "id_ed25519"));
    await chmod(path.join(home, ".ssh", "id_ed25519"), 0o600);
    const s = await connect({ privateKeyPath: "", env: { HOME: home } });
    expect((await s.exec("echo default-key")).stdout).toBe("default-key\n");
  });

  it("gives SshUnreachableError after the deadline, counting attempts", async () => {
    const port = await freePort();
    const started = Date.now();
    const lines: string[] = [];
    const err = await rejection(connect({ port, deadlineMs: 2_000, log: (l) => lines.push(l) }));
    const elapsed = Date.now() - started;
    expect(err).toBeInstanceOf(SshUnreachableError);
    const e = err as SshUnreachableError;
    expect(e.attempts).toBeGreaterThanOrEqual(4); // 0, 0.25, 0.75, 1.75 s, then a last one before 2 s
    expect(e.attempts).toBe(lines.filter((l) => l.includes("connecting to")).length);
    expect(e.message).toContain("ECONNREFUSED");
    expect(e.message).toContain(`127.0.0.1:${port}`);
    expect(elapsed).toBeGreaterThanOrEqual(1_800);
    expect(elapsed).toBeLessThan(6_000);

    // Aborting while retrying stops at once.
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const abortedAt = Date.now();
    await expect(connect({ port, signal: ac.signal })).rejects.toBeInstanceOf(InterruptedError);
    expect(Date.now() - abortedAt).toBeLessThan(2_000);
  });

  it("connects to an sshd that comes up 1.5 s late, thanks to retries", async () => {
    await sshd.stop();
    const lines: string[] = [];
    const late = new Promise<void>((resolve, reject) => setTimeout(() => sshd.start().then(resolve, reject), 1_500));
    const started = Date.now();
    try {
      const s = await connect({ log: (l) => lines.push(l) });
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
      expect(lines.filter((l) => l.includes("connecting to")).length).toBeGreaterThan(1);
      expect((await s.exec("echo late")).stdout).toBe("late\n");
    } finally {
      await late;
    }
  });

  it("rejects with SshConnectionLostError quickly when the connection dies mid-command", async () => {
    const s = await connect();
    const started = Date.now();
    const running = s.exec("sleep 5");
    setTimeout(() => void sshd.killSessions(), 500);
    const err = await rejection(running);
    expect(err).toBeInstanceOf(SshConnectionLostError);
    expect((err as Error).message).toContain('"sleep 5"');
    expect(Date.now() - started).toBeLessThan(3_000);
    // The session stays dead: later operations fail at once, with the same error type.
    await expect(s.exec("true")).rejects.toBeInstanceOf(SshConnectionLostError);
    await expect(s.readFile("/etc/hostname")).rejects.toBeInstanceOf(SshConnectionLostError);
  });

  it("stops a command at its timeout or on abort, and the session stays usable", async () => {
    const s = await connect();
    const started = Date.now();
    // Without a PTY, OpenSSH refuses "signal" requests for root sessions, so the command may
    // run on after its channel closes (hence a short sleep here); the call returns on time anyway.
    const err = await rejection(s.exec("sleep 2.345", { timeoutMs: 500 }));
    expect(err).toBeInstanceOf(SshCommandTimeoutError);
    expect((err as Error).message).toBe(`The command "sleep 2.345" on 127.0.0.1:${sshd.port} did not finish within 0.5 s and was stopped.`);
    expect(Date.now() - started).toBeLessThan(5_000);
    // With a PTY, closing the channel hangs up the command's terminal: it is gone.
    await expect(s.exec("sleep 31.2345", { timeoutMs: 500, pty: true })).rejects.toBeInstanceOf(SshCommandTimeoutError);
    await new Promise((r) => setTimeout(r, 500));
    expect(processesWithArgs("sleep 31.2345")).toEqual([]);

    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    await expect(s.exec("sleep 2.5", { signal: ac.signal })).rejects.toBeInstanceOf(InterruptedError);
    expect((await s.exec("echo still-here")).stdout).toBe("still-here\n");
  });

  it("writes files atomically with an exact mode, and reads them back", async () => {
    const s = await connect();
    const target = path.join(sshd.dir, "conf dir", "daemon.json");
    await mkdir(path.dirname(target));
    await s.writeFile(target, '{"a": 1}\n', 0o600);
    expect((await s.exec(`stat -c %a ${shQuote(target)}`)).stdout).toBe("600\n");
    expect(await readFile(target, "utf8")).toBe('{"a": 1}\n');
    // Replacing an existing file (plain SFTP rename would refuse) with another mode.
    await s.writeFile(target, Buffer.from("second\n"), 0o640);
    expect((await s.exec(`stat -c %a ${shQuote(target)}`)).stdout).toBe("640\n");
    expect((await s.readFile(target)).toString()).toBe("second\n");
    // No temporary files left behind.
    expect(await readdir(path.dirname(target))).toEqual(["daemon.json"]);
    await expect(s.readFile(path.join(sshd.dir, "missing"))).rejects.toThrow(/no such file/);
  });

  it("uploads and downloads a tree with odd names recursively, keeping contents and modes", async () => {
    const s = await connect();
    const local = await mkdtemp(path.join(os.tmpdir(), "tsm-scp-"));
    try {
      const src = path.join(local, "a dir");
      const odd = path.join(src, `it's "quoted" $x`);
      await mkdir(odd, { recursive: true });
      await mkdir(path.join(src, "empty sub"));
      await writeFile(path.join(odd, "file with spaces.txt"), "hello\n");
      await writeFile(path.join(odd, "back`tick`;*"), "weird\n");
      await writeFile(path.join(src, "empty"), "");
      await writeFile(path.join(src, "blob.bin"), randomBytes(300 * 1024));
      await writeFile(path.join(src, "script.sh"), "#!/bin/sh\necho hi\n", { mode: 0o755 });

      // Destination missing: it becomes the copy.
      const remote = path.join(sshd.dir, "uploaded tree");
      await s.upload(src, remote, { recursive: true });
      expect(await snapshot(remote)).toEqual(await snapshot(src));
      // Destination an existing directory: the source lands inside it (cp/scp rules).
      const into = path.join(sshd.dir, "into");
      await mkdir(into);
      await s.upload(src, into, { recursive: true });
      expect(await snapshot(path.join(into, "a dir"))).toEqual(await snapshot(src));

      const back = path.join(local, "downloaded");
      await s.download(remote, back, { recursive: true });
      expect(await snapshot(back)).toEqual(await snapshot(src));

      // Single files, and directories without recursive refused.
      await s.upload(path.join(src, "script.sh"), path.join(sshd.dir, "one.sh"), { recursive: false });
      expect((await s.exec(`${shQuote(path.join(sshd.dir, "one.sh"))}`)).stdout).toBe("hi\n");
      await expect(s.upload(src, path.join(sshd.dir, "nope"), { recursive: false })).rejects.toThrow(/is a directory/);
      await s.download(path.join(sshd.dir, "one.sh"), local, { recursive: false });
      expect(await readFile(path.join(local, "one.sh"), "utf8")).toBe("#!/bin/sh\necho hi\n");
    } finally {
      await rm(local, { recursive: true, force: true });
    }
  });

  it("shQuote: hostile strings round-trip through the remote shell exactly and execute nothing", async () => {
    const s = await connect();
    const marker = path.join(sshd.dir, "pwned");
    const hostile = [
      "",
      " ",
      "plain",
      "a'b",
      "'",
      "''",
      `"double" and 'single'`,
      `$(touch ${marker})`,
      `\`touch ${marker}\``,
      `; touch ${marker}`,
      `&& touch ${marker} ||`,
      `| touch ${marker}`,
      "line1\nline2\n",
      "\n",
      "*",
      "~",
      "${HOME}",
      "$HOME",
      "\\",
      "\\'",
      "-n",
      "--",
      "a\tb\r\n",
      "!!",
      "#comment",
      "é ✓ 漢字",
      `'; touch ${marker}; echo '`,
    ];
    for (const value of hostile) {
      const r = await s.exec(`printf %s ${shQuote(value)}`);
      expect({ value, out: r.stdout, code: r.exitCode }).toEqual({ value, out: value, code: 0 });
    }
    // All at once as separate arguments, too.
    const r = await s.exec(`printf '%s\\0' ${hostile.map(shQuote).join(" ")}`);
    expect(r.stdout.split("\0").slice(0, -1)).toEqual(hostile);
    expect(existsSync(marker)).toBe(false);
  });

  it("runs interactive commands and a PTY shell wired to streams", async () => {
    const s = await connect();
    const out = collector();
    const err = collector();
    const stdin = new PassThrough();
    stdin.end("hello\n");
    const code = await s.interactive({ command: 'read x; echo "got:$x"; echo oops >&2; exit 4', stdin, stdout: out.stream, stderr: err.stream, pty: false });
    expect(code).toBe(4);
    expect(out.text()).toBe("got:hello\n");
    expect(err.text()).toBe("oops\n");

    const shellOut = collector();
    const shellIn = new PassThrough();
    const done = s.interactive({ stdin: shellIn, stdout: shellOut.stream, stderr: shellOut.stream, pty: true, cols: 100, rows: 30 });
    shellIn.write("stty size; echo hi-$((1+2))\n");
    shellIn.write("exit 5\n");
    expect(await done).toBe(5);
    expect(shellOut.text()).toContain("30 100");
    expect(shellOut.text()).toContain("hi-3");
  });

  it("refuses a host whose key changed after a reinstall (restart with a new host key)", async () => {
    const old = sshd.hostKeyFingerprint;
    await sshd.restart(true);
    expect(sshd.hostKeyFingerprint).not.toBe(old);
    const err = await rejection(connect({ pinnedHostKey: old }));
    expect(err).toBeInstanceOf(SshHostKeyMismatchError);
    expect((err as SshHostKeyMismatchError).actual).toBe(sshd.hostKeyFingerprint);
    expect((err as Error).message).toContain('"tsm ssh-trust <machine>"');
    const s = await connect({ pinnedHostKey: sshd.hostKeyFingerprint });
    expect((await s.exec("echo new-key")).stdout).toBe("new-key\n");
  });
});

/** Pids of local processes whose command line is exactly `args` (the "remote" host is this machine). */
function processesWithArgs(args: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ") === args) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** path -> "dir mode" | "file mode sha256" for a tree, relative names, sorted. */
async function snapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(dir: string, rel: string): Promise<void> {
    for (const name of (await readdir(dir)).sort()) {
      const full = path.join(dir, name);
      const relName = rel ? `${rel}/${name}` : name;
      const st = await stat(full);
      if (st.isDirectory()) {
        out[relName] = `dir`;
        await walk(full, relName);
      } else {
        out[relName] = `file ${(st.mode & 0o777).toString(8)} ${createHash("sha256").update(await readFile(full)).digest("hex")}`;
      }
    }
  }
  await walk(root, "");
  return out;
}

function collector(): { stream: Writable; text(): string } {
  const chunks: Buffer[] = [];
  return {
    stream: new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(Buffer.from(chunk));
        cb();
      },
    }),
    text: () => Buffer.concat(chunks).toString("utf8"),
  };
}
