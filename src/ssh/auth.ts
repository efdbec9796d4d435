/**
 * Which authentication methods to offer, decided before any network traffic so that an
 * unusable key file is reported as such (not as a refused login after a minute of retries).
 *
 * Order:
 * - a key file given: the key itself, then the agent (if SSH_AUTH_SOCK names a socket);
 *   an encrypted key is used only through the agent (tsm never prompts for passphrases);
 * - no key file: the agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa that exist and are
 *   usable (encrypted or too-open default keys are skipped, as OpenSSH skips them).
 *
 * Only `src/ssh` imports ssh2, and lazily: this module loads it for key parsing.
 */
import { stat, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { AnyAuthMethod } from "ssh2";
import type { SshTarget } from "./client.js";
import { SshAuthError, SshKeyFileError } from "./errors.js";
import { loadSsh2 } from "./load.js";

export interface AuthMethodChoice {
  /** For messages and debug lines: "key file /k/id (ssh-ed25519)", "ssh-agent at /tmp/a.sock". */
  label: string;
  method: AnyAuthMethod;
}

export interface AuthPlan {
  methods: AuthMethodChoice[];
  /** Sentences added to an SshAuthError when the server refuses every method. */
  hints: string[];
}

export type KeyFileCheck =
  | { kind: "usable"; data: Buffer; keyType: string }
  | { kind: "encrypted" };

/** A path as the user should type it in a shell command we suggest. */
function shellPath(p: string): string {
  return /^[\w@%+=:,./~-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`;
}

/**
 * Reads and checks a private key file. Throws SshKeyFileError when it is missing,
 * unreadable, too open (group/other permission bits on a key the current user owns:
 * OpenSSH refuses those, and so does tsm, saying `chmod 600 PATH`), or not a private key.
 * An encrypted key is reported as `{ kind: "encrypted" }`: the caller decides whether the
 * agent can stand in for it.
 */
export async function checkKeyFile(keyPath: string): Promise<KeyFileCheck> {
  let st;
  try {
    st = await stat(keyPath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SshKeyFileError(
      keyPath,
      code === "ENOENT" ? "the file does not exist" : `it cannot be read (${code ?? (err as Error).message})`,
      { cause: err },
    );
  }
  if (!st.isFile()) throw new SshKeyFileError(keyPath, "it is not a regular file");
  const uid = process.getuid?.();
  // Same rule as OpenSSH's sshkey_perm_ok(): only the owner's own keys are judged (root
  // reading another user's key is that user's business), and Windows has no such bits.
  if (uid !== undefined && st.uid === uid && (st.mode & 0o077) !== 0) {
    throw new SshKeyFileError(
      keyPath,
      `its permissions ${(st.mode & 0o777).toString(8).padStart(4, "0")} are too open: a private key must be readable by its owner only ` +
        `(OpenSSH refuses it too). Fix it with: chmod 600 ${shellPath(keyPath)}`,
    );
  }
  let data: Buffer;
  try {
    data = await readFile(keyPath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SshKeyFileError(keyPath, `it cannot be read (${code ?? (err as Error).message})`, { cause: err });
  }
  const { utils } = await loadSsh2();
  const parsed: unknown = utils.parseKey(data);
  if (parsed instanceof Error) {
    // ssh2 says "Encrypted private OpenSSH key detected, but no passphrase given" (and the
    // like for old PEM and PPK keys): that is the one parse failure we can route around.
    if (/passphrase/i.test(parsed.message)) return { kind: "encrypted" };
    throw new SshKeyFileError(keyPath, `it is not a private key tsm can read (${parsed.message})`, { cause: parsed });
  }
  const key = (Array.isArray(parsed) ? parsed[0] : parsed) as { type: string; isPrivateKey(): boolean } | undefined;
  if (!key) throw new SshKeyFileError(keyPath, "it holds no key");
  if (!key.isPrivateKey()) {
    throw new SshKeyFileError(keyPath, "it holds a public key; give the private key file (usually the same name without .pub)");
  }
  return { kind: "usable", data, keyType: key.type };
}

/** The agent socket from SSH_AUTH_SOCK when it exists; a stale variable becomes a hint instead. */
async function agentSocket(
  env: Readonly<Record<string, string | undefined>>,
  hints: string[],
  log: (line: string) => void,
): Promise<string | undefined> {
  const sock = env.SSH_AUTH_SOCK;
  if (sock === undefined || sock === "") return undefined;
  try {
    const st = await stat(sock);
    if (!st.isSocket()) throw new Error("not a socket");
    return sock;
  } catch {
    log(`ssh: SSH_AUTH_SOCK=${sock} is not a socket; not using the agent`);
    hints.push(`SSH_AUTH_SOCK points to ${sock}, which is not a running agent's socket.`);
    return undefined;
  }
}

export const DEFAULT_KEY_NAMES = ["id_ed25519", "id_ecdsa", "id_rsa"] as const;

/**
 * Builds the ordered list of methods for `target`. Throws SshKeyFileError for an unusable
 * key file given explicitly, and SshAuthError when there is nothing at all to try.
 */
export async function planAuthentication(
  target: SshTarget,
  env: Readonly<Record<string, string | undefined>>,
  log: (line: string) => void,
): Promise<AuthPlan> {
  const methods: AuthMethodChoice[] = [];
  const hints: string[] = [];
  const username = target.user;
  const agent = await agentSocket(env, hints, log);

  if (target.privateKeyPath !== "") {
    const keyPath = target.privateKeyPath;
    const check = await checkKeyFile(keyPath);
    if (check.kind === "usable") {
      methods.push({ label: `key file ${keyPath} (${check.keyType})`, method: { type: "publickey", username, key: check.data } });
      if (agent) methods.push({ label: `ssh-agent at ${agent}`, method: { type: "agent", username, agent } });
    } else {
      if (!agent) {
        throw new SshKeyFileError(
          keyPath,
          `it is encrypted with a passphrase, and tsm does not ask for passphrases: load it into ssh-agent with "ssh-add ${shellPath(keyPath)}" ` +
            `and make sure SSH_AUTH_SOCK is set where tsm runs${hints.length > 0 ? ` (${hints.join(" ")})` : ""}`,
        );
      }
      methods.push({ label: `ssh-agent at ${agent} (for the encrypted key ${keyPath})`, method: { type: "agent", username, agent } });
      hints.push(`The key ${keyPath} is encrypted, so tsm can only use it through ssh-agent: check that "ssh-add -l" lists it, or add it with "ssh-add ${shellPath(keyPath)}".`);
    }
    return { methods, hints };
  }

  if (agent) methods.push({ label: `ssh-agent at ${agent}`, method: { type: "agent", username, agent } });
  const home = env.HOME !== undefined && env.HOME !== "" ? env.HOME : os.homedir();
  for (const name of DEFAULT_KEY_NAMES) {
    const keyPath = path.join(home, ".ssh", name);
    try {
      const check = await checkKeyFile(keyPath);
      if (check.kind === "usable") {
        methods.push({ label: `key file ${keyPath} (${check.keyType})`, method: { type: "publickey", username, key: check.data } });
      } else {
        log(`ssh: skipping ${keyPath}: encrypted (load it into ssh-agent to use it)`);
        if (!agent) hints.push(`${keyPath} is encrypted: load it with "ssh-add ${shellPath(keyPath)}".`);
      }
    } catch (err) {
      if (err instanceof SshKeyFileError && err.reason === "the file does not exist") continue;
      log(`ssh: skipping ${keyPath}: ${(err as Error).message}`);
      hints.push(`${(err as Error).message}.`);
    }
  }
  if (methods.length === 0) {
    throw new SshAuthError(target.host, target.port, target.user, [], {
      hints: [
        `No key file was given, SSH_AUTH_SOCK names no agent, and none of ~/.ssh/${DEFAULT_KEY_NAMES.join(", ")} is usable.`,
        ...hints,
        "Give a private key file (e.g. --generic-ssh-key) or start ssh-agent and add your key.",
      ],
    });
  }
  return { methods, hints };
}
