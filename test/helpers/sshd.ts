/**
 * A real OpenSSH server for the SSH layer's tests, started in well under a second:
 * `/usr/sbin/sshd -D -e -f <tmp config>` as root on 127.0.0.1:<free port>, with its own
 * host key and authorized_keys, so the tests exercise the real protocol, real key
 * checks and real connection loss without containers. Needs Debian's openssh-server
 * (its service must not be running; it is not used) and root.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { chmod, copyFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { missingPrereqs } from "./prereq.js";

const run = promisify(execFile);
export const SSHD = "/usr/sbin/sshd";

/** Why the real-sshd tests cannot run here (empty when they can). */
export function sshdPrereqs(): string[] {
  const missing = missingPrereqs(["ssh-keygen", "ssh-agent", "ssh-add"], true);
  if (!existsSync(SSHD)) missing.push(`${SSHD} not found (apt-get install openssh-server)`);
  return missing;
}

export interface TestAgent {
  /** For SSH_AUTH_SOCK. */
  socket: string;
  stop(): Promise<void>;
}

export interface TestSshd {
  host: "127.0.0.1";
  port: number;
  user: "root";
  /** "ssh-ed25519 SHA256:..." as `ssh-keygen -lf` computes it (independent of tsm's code); changes on restart(true). */
  hostKeyFingerprint: string;
  /** The scratch directory: config, keys, log; remote-side test files go here too (the "remote" host is this machine). */
  dir: string;
  /** HOME of the remote sessions (empty; not the machine's /root, whose dotfiles are not under test). */
  home: string;
  /** Authorized, unencrypted ed25519 key (mode 0600). */
  clientKeyPath: string;
  /** Authorized ed25519 key encrypted with `encryptedKeyPassphrase`. */
  encryptedKeyPath: string;
  encryptedKeyPassphrase: string;
  /** A valid key that is NOT in authorized_keys. */
  strangerKeyPath: string;
  /** Everything sshd (listener and session processes) wrote to stderr so far. */
  log(): string;
  /** Number of "Accepted publickey" lines: one per authenticated connection. */
  acceptedCount(): number;
  /** SIGKILLs every per-connection sshd process, leaving the listener up: established connections die mid-flight. */
  killSessions(): Promise<void>;
  /** Stops the listener and all its sessions. */
  stop(): Promise<void>;
  /** Starts sshd again on the same port (after stop()). */
  start(): Promise<void>;
  /** stop() then start(); with newHostKey, sshd gets a fresh host key first (a "reinstalled" host). */
  restart(newHostKey?: boolean): Promise<void>;
  /** Starts an ssh-agent holding the given keys (encrypted ones decrypted with the passphrase first). */
  startAgent(keys: readonly string[]): Promise<TestAgent>;
  /** Stops sshd and agents and removes the scratch directory. */
  cleanup(): Promise<void>;
}

/** A TCP port nothing listens on right now (bound, then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function keygen(keyPath: string, passphrase = "", comment = "tsm-test"): Promise<void> {
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", passphrase, "-C", comment, "-f", keyPath]);
}

async function fingerprintOf(pubPath: string): Promise<string> {
  // "256 SHA256:abc... comment (ED25519)"
  const { stdout } = await run("ssh-keygen", ["-l", "-E", "sha256", "-f", pubPath]);
  const fp = /SHA256:[A-Za-z0-9+/]+/.exec(stdout)?.[0];
  const type = readFileSync(pubPath, "utf8").split(" ")[0];
  if (!fp || !type) throw new Error(`cannot read the fingerprint of ${pubPath}: ${stdout}`);
  return `${type} ${fp}`;
}

/** Every process whose parent chain leads to `pid` (per-connection sshd children call setsid, so process groups do not catch them). */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // pid (comm) state ppid ...: comm may contain spaces and parentheses, so split after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parent.set(Number(entry), ppid);
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  for (const p of parent.keys()) {
    let cur = parent.get(p);
    for (let depth = 0; cur !== undefined && cur > 1 && depth < 50; depth++) {
      if (cur === pid) {
        out.push(p);
        break;
      }
      cur = parent.get(cur);
    }
  }
  return out;
}

function killQuietly(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

function waitExit(child: ChildProcess, ms: number): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => {
      killQuietly(child.pid!, "SIGKILL");
      resolve();
    }, ms);
    child.once("exit", () => {
      clearTimeout(t);
      resolve();
    });
  });
}

export async function startSshd(): Promise<TestSshd> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "tsm-sshd-"));
  // sshd checks its privilege-separation directory exists before it starts.
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const hostKeyPath = path.join(dir, "ssh_host_ed25519_key");
  const clientKeyPath = path.join(dir, "client_ed25519");
  const encryptedKeyPath = path.join(dir, "client_encrypted");
  const strangerKeyPath = path.join(dir, "stranger_ed25519");
  const encryptedKeyPassphrase = "correct horse battery staple";
  await Promise.all([
    keygen(hostKeyPath, "", "tsm-test-host"),
    keygen(clientKeyPath),
    keygen(encryptedKeyPath, encryptedKeyPassphrase),
    keygen(strangerKeyPath),
  ]);
  const authorized = [readFileSync(`${clientKeyPath}.pub`, "utf8"), readFileSync(`${encryptedKeyPath}.pub`, "utf8")].join("");
  await writeFile(path.join(dir, "authorized_keys"), authorized, { mode: 0o600 });
  const home = path.join(dir, "home");
  mkdirSync(home, { mode: 0o700 });
  const port = await freePort();
  const configPath = path.join(dir, "sshd_config");
  await writeFile(
    configPath,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${hostKeyPath}`,
      `PidFile ${path.join(dir, "sshd.pid")}`,
      "PermitRootLogin prohibit-password",
      "PubkeyAuthentication yes",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`,
      "Subsystem sftp internal-sftp",
      "PrintMotd no",
      // A clean HOME for the sessions: this machine's own root dotfiles (e.g. a ~/.bashrc
      // running `pyenv rehash`, which can block on a lock for a minute) are not part of
      // the host under test, and bash started by sshd sources ~/.bashrc even for `bash -c`.
      `SetEnv HOME=${home}`,
      "LogLevel INFO",
      "",
    ].join("\n"),
  );

  let listener: ChildProcess | undefined;
  let logText = "";
  const agents: TestAgent[] = [];
  const handle: TestSshd = {
    host: "127.0.0.1",
    port,
    user: "root",
    hostKeyFingerprint: await fingerprintOf(`${hostKeyPath}.pub`),
    dir,
    home,
    clientKeyPath,
    encryptedKeyPath,
    encryptedKeyPassphrase,
    strangerKeyPath,
    log: () => logText,
    acceptedCount: () => (logText.match(/Accepted publickey/g) ?? []).length,

    async killSessions() {
      if (!listener?.pid) return;
      for (const pid of descendants(listener.pid)) killQuietly(pid, "SIGKILL");
    },

    async stop() {
      const l = listener;
      listener = undefined;
      if (!l?.pid) return;
      for (const pid of descendants(l.pid)) killQuietly(pid, "SIGKILL");
      killQuietly(l.pid, "SIGTERM");
      await waitExit(l, 5_000);
    },

    async start() {
      if (listener) throw new Error("sshd is already running");
      const child = spawn(SSHD, ["-D", "-e", "-f", configPath], { stdio: ["ignore", "ignore", "pipe"] });
      listener = child;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`sshd did not start within 10 s:\n${logText}`)), 10_000);
        child.stderr!.setEncoding("utf8");
        child.stderr!.on("data", (text: string) => {
          logText += text;
          if (/Server listening on/.test(logText.slice(-2000))) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.once("exit", (code, signal) => {
          clearTimeout(timer);
          if (listener === child) listener = undefined;
          reject(new Error(`sshd exited (${code ?? signal}) while starting:\n${logText}`));
        });
      });
    },

    async restart(newHostKey = false) {
      await handle.stop();
      if (newHostKey) {
        await rm(hostKeyPath, { force: true });
        await rm(`${hostKeyPath}.pub`, { force: true });
        await keygen(hostKeyPath, "", "tsm-test-host");
        handle.hostKeyFingerprint = await fingerprintOf(`${hostKeyPath}.pub`);
      }
      await handle.start();
    },

    async startAgent(keys) {
      const socket = path.join(dir, `agent-${agents.length}.sock`);
      const child = spawn("ssh-agent", ["-D", "-a", socket], { stdio: "ignore" });
      const deadline = Date.now() + 10_000;
      while (!existsSync(socket)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error("ssh-agent did not start");
        await new Promise((r) => setTimeout(r, 20));
      }
      const env = { ...process.env, SSH_AUTH_SOCK: socket };
      for (const key of keys) {
        // ssh-add would prompt for the passphrase; hand it a decrypted copy of the same key instead.
        const copy = path.join(dir, `agent-key-${agents.length}-${path.basename(key)}`);
        await copyFile(key, copy);
        await chmod(copy, 0o600);
        if (key === encryptedKeyPath) await run("ssh-keygen", ["-q", "-p", "-P", encryptedKeyPassphrase, "-N", "", "-f", copy]);
        await run("ssh-add", ["-q", copy], { env });
      }
      const agent: TestAgent = {
        socket,
        async stop() {
          killQuietly(child.pid!, "SIGTERM");
          await waitExit(child, 5_000);
        },
      };
      agents.push(agent);
      return agent;
    },

    async cleanup() {
      await handle.stop();
      await Promise.all(agents.map((a) => a.stop()));
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await handle.start();
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return handle;
}
