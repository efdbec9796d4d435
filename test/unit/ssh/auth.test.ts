import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
// Keys are made with ssh2's own generator so this unit test needs no ssh-keygen.
import ssh2 from "ssh2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkKeyFile, planAuthentication } from "../../../src/ssh/auth.js";
import { SshAuthError, SshKeyFileError } from "../../../src/ssh/errors.js";

const asRoot = process.getuid?.() === 0;

describe("key files and authentication plans", () => {
  let dir: string;
  let plain: string;
  let encrypted: string;
  let agentSock: string;
  let agentServer: net.Server;
  const target = (privateKeyPath: string) => ({ host: "10.0.0.5", port: 22, user: "core", privateKeyPath });
  const noLog = () => {};

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "tsm-ssh-auth-"));
    const pair = ssh2.utils.generateKeyPairSync("ed25519");
    const enc = ssh2.utils.generateKeyPairSync("ed25519", { passphrase: "pw", cipher: "aes256-ctr", rounds: 16 });
    plain = path.join(dir, "id plain");
    encrypted = path.join(dir, "id_encrypted");
    await writeFile(plain, pair.private, { mode: 0o600 });
    await writeFile(`${plain}.pub`, `${pair.public}\n`, { mode: 0o644 });
    await writeFile(encrypted, enc.private, { mode: 0o600 });
    // Only the socket's existence is checked while planning: a listener stands in for ssh-agent.
    agentSock = path.join(dir, "agent.sock");
    agentServer = net.createServer().listen(agentSock);
    await new Promise((r) => agentServer.once("listening", r));
  });
  afterAll(async () => {
    agentServer?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("accepts an unencrypted private key and names its type", async () => {
    const r = await checkKeyFile(plain);
    expect(r.kind).toBe("usable");
    expect(r.kind === "usable" && r.keyType).toBe("ssh-ed25519");
  });

  it("detects an encrypted key", async () => {
    expect(await checkKeyFile(encrypted)).toEqual({ kind: "encrypted" });
  });

  it("refuses a missing file, a directory, a public key and garbage", async () => {
    await expect(checkKeyFile(path.join(dir, "nope"))).rejects.toThrow(/nope: the file does not exist/);
    await expect(checkKeyFile(dir)).rejects.toThrow(/not a regular file/);
    await expect(checkKeyFile(`${plain}.pub`)).rejects.toThrow(/too open|public key/);
    const garbage = path.join(dir, "garbage");
    await writeFile(garbage, "hello\n", { mode: 0o600 });
    await expect(checkKeyFile(garbage)).rejects.toThrow(/not a private key tsm can read/);
    const pubOnly = path.join(dir, "pub-only");
    await writeFile(pubOnly, readFileSync(`${plain}.pub`), { mode: 0o600 });
    await expect(checkKeyFile(pubOnly)).rejects.toThrow(/holds a public key/);
  });

  it.skipIf(process.getuid === undefined)("refuses group/other permission bits like OpenSSH, with the chmod to run", async () => {
    const open = path.join(dir, "open key");
    await writeFile(open, "x", { mode: 0o640 });
    const err = await checkKeyFile(open).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SshKeyFileError);
    expect((err as Error).message).toBe(
      `Cannot use the SSH key ${open}: its permissions 0640 are too open: a private key must be readable by its owner only (OpenSSH refuses it too). Fix it with: chmod 600 '${open}'`,
    );
  });

  it("plans the key first, then the agent", async () => {
    const plan = await planAuthentication(target(plain), { SSH_AUTH_SOCK: agentSock }, noLog);
    expect(plan.methods.map((m) => m.label)).toEqual([`key file ${plain} (ssh-ed25519)`, `ssh-agent at ${agentSock}`]);
    expect(plan.methods.map((m) => m.method.type)).toEqual(["publickey", "agent"]);
  });

  it("uses an encrypted key only through the agent, and refuses it without one", async () => {
    const plan = await planAuthentication(target(encrypted), { SSH_AUTH_SOCK: agentSock }, noLog);
    expect(plan.methods.map((m) => m.method.type)).toEqual(["agent"]);
    expect(plan.hints.join(" ")).toContain(`ssh-add ${encrypted}`);
    const err = await planAuthentication(target(encrypted), {}, noLog).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SshKeyFileError);
    expect((err as Error).message).toContain(`load it into ssh-agent with "ssh-add ${encrypted}"`);
    const stale = await planAuthentication(target(encrypted), { SSH_AUTH_SOCK: path.join(dir, "gone.sock") }, noLog).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(SshKeyFileError);
    expect((stale as Error).message).toContain("gone.sock, which is not a running agent's socket");
  });

  it("without a key: the agent, then usable default keys; skips encrypted ones", async () => {
    const home = path.join(dir, "home");
    await mkdir(path.join(home, ".ssh"), { recursive: true });
    await writeFile(path.join(home, ".ssh", "id_ed25519"), readFileSync(encrypted), { mode: 0o600 });
    await writeFile(path.join(home, ".ssh", "id_rsa"), readFileSync(plain), { mode: 0o600 });
    const plan = await planAuthentication(target(""), { SSH_AUTH_SOCK: agentSock, HOME: home }, noLog);
    expect(plan.methods.map((m) => m.label)).toEqual([`ssh-agent at ${agentSock}`, `key file ${path.join(home, ".ssh", "id_rsa")} (ssh-ed25519)`]);
  });

  it("says there is nothing to try instead of connecting in vain", async () => {
    const empty = path.join(dir, "empty-home");
    await mkdir(empty);
    const err = await planAuthentication(target(""), { HOME: empty }, noLog).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SshAuthError);
    expect((err as Error).message).toBe(
      'Cannot authenticate as "core" on 10.0.0.5:22: there is no SSH key to try. No key file was given, SSH_AUTH_SOCK names no agent, ' +
        "and none of ~/.ssh/id_ed25519, id_ecdsa, id_rsa is usable. Give a private key file (e.g. --generic-ssh-key) or start ssh-agent and add your key.",
    );
  });

  it.skipIf(!asRoot)("(as root) still refuses a too-open key root owns", async () => {
    const open = path.join(dir, "root open");
    await writeFile(open, "x", { mode: 0o644 });
    await expect(checkKeyFile(open)).rejects.toThrow(/chmod 600/);
  });
});
