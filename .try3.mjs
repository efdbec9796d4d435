// test/helpers/sshd.ts
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { chmod, copyFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

// test/helpers/prereq.ts
import { describe, it } from "vitest";

// test/helpers/sshd.ts
var run = promisify(execFile);
var SSHD = "/usr/sbin/sshd";
async function freePort() {
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
async function keygen(keyPath, passphrase = "", comment = "tsm-test") {
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", passphrase, "-C", comment, "-f", keyPath]);
}
async function fingerprintOf(pubPath) {
  const { stdout } = await run("ssh-keygen", ["-l", "-E", "sha256", "-f", pubPath]);
  const fp = /SHA256:[A-Za-z0-9+/]+/.exec(stdout)?.[0];
  const type = readFileSync(pubPath, "utf8").split(" ")[0];
  if (!fp || !type) throw new Error(`cannot read the fingerprint of ${pubPath}: ${stdout}`);
  return `${type} ${fp}`;
}
function descendants(pid) {
  const parent = /* @__PURE__ */ new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parent.set(Number(entry), ppid);
    } catch {
    }
  }
  const out = [];
  for (const p of parent.keys()) {
    let cur = parent.get(p);
    for (let depth = 0; cur !== void 0 && cur > 1 && depth < 50; depth++) {
      if (cur === pid) {
        out.push(p);
        break;
      }
      cur = parent.get(cur);
    }
  }
  return out;
}
function killQuietly(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch {
  }
}
function waitExit(child, ms) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => {
      killQuietly(child.pid, "SIGKILL");
      resolve();
    }, ms);
    child.once("exit", () => {
      clearTimeout(t);
      resolve();
    });
  });
}
async function startSshd() {
  const dir = await mkdtemp(path.join(os.tmpdir(), "tsm-sshd-"));
  mkdirSync("/run/sshd", { recursive: true, mode: 493 });
  const hostKeyPath = path.join(dir, "ssh_host_ed25519_key");
  const clientKeyPath = path.join(dir, "client_ed25519");
  const encryptedKeyPath = path.join(dir, "client_encrypted");
  const strangerKeyPath = path.join(dir, "stranger_ed25519");
  const encryptedKeyPassphrase = "correct horse battery staple";
  await Promise.all([
    keygen(hostKeyPath, "", "tsm-test-host"),
    keygen(clientKeyPath),
    keygen(encryptedKeyPath, encryptedKeyPassphrase),
    keygen(strangerKeyPath)
  ]);
  const authorized = [readFileSync(`${clientKeyPath}.pub`, "utf8"), readFileSync(`${encryptedKeyPath}.pub`, "utf8")].join("");
  await writeFile(path.join(dir, "authorized_keys"), authorized, { mode: 384 });
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
      "LogLevel INFO",
      ""
    ].join("\n")
  );
  let listener;
  let logText = "";
  const agents = [];
  const handle = {
    host: "127.0.0.1",
    port,
    user: "root",
    hostKeyFingerprint: await fingerprintOf(`${hostKeyPath}.pub`),
    dir,
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
      listener = void 0;
      if (!l?.pid) return;
      for (const pid of descendants(l.pid)) killQuietly(pid, "SIGKILL");
      killQuietly(l.pid, "SIGTERM");
      await waitExit(l, 5e3);
    },
    async start() {
      if (listener) throw new Error("sshd is already running");
      const child = spawn(SSHD, ["-D", "-e", "-f", configPath], { stdio: ["ignore", "ignore", "pipe"] });
      listener = child;
      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`sshd did not start within 10 s:
${logText}`)), 1e4);
        child.stderr.setEncoding("utf8");
        child.stderr.on("data", (text) => {
          logText += text;
          if (/Server listening on/.test(logText.slice(-2e3))) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.once("exit", (code, signal) => {
          clearTimeout(timer);
          if (listener === child) listener = void 0;
          reject(new Error(`sshd exited (${code ?? signal}) while starting:
${logText}`));
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
      const deadline = Date.now() + 1e4;
      while (!existsSync(socket)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error("ssh-agent did not start");
        await new Promise((r) => setTimeout(r, 20));
      }
      const env = { ...process.env, SSH_AUTH_SOCK: socket };
      for (const key of keys) {
        const copy = path.join(dir, `agent-key-${agents.length}-${path.basename(key)}`);
        await copyFile(key, copy);
        await chmod(copy, 384);
        if (key === encryptedKeyPath) await run("ssh-keygen", ["-q", "-p", "-P", encryptedKeyPassphrase, "-N", "", "-f", copy]);
        await run("ssh-add", ["-q", copy], { env });
      }
      const agent = {
        socket,
        async stop() {
          killQuietly(child.pid, "SIGTERM");
          await waitExit(child, 5e3);
        }
      };
      agents.push(agent);
      return agent;
    },
    async cleanup() {
      await handle.stop();
      await Promise.all(agents.map((a) => a.stop()));
      await rm(dir, { recursive: true, force: true });
    }
  };
  try {
    await handle.start();
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return handle;
}

// ../../tmp/try3.mts
var sshd = await startSshd();
console.log(sshd.port, sshd.clientKeyPath);
await new Promise((r) => setTimeout(r, 3e4));
console.log(sshd.log());
await sshd.cleanup();
