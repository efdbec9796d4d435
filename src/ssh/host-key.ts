/**
 * Host key fingerprints in OpenSSH's format, so that what tsm stores and prints can be
 * compared by eye with `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the host.
 * Pure functions: no ssh2 here.
 */
import { createHash } from "node:crypto";

/**
 * The key type named inside an SSH public key blob (RFC 4253 §6.6: the blob starts with
 * the type as an SSH string), e.g. "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa".
 * Returns "unknown" for a malformed blob rather than throwing: the fingerprint still identifies it.
 */
export function keyTypeOfBlob(blob: Buffer): string {
  if (blob.length < 4) return "unknown";
  const len = blob.readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > blob.length) return "unknown";
  const type = blob.subarray(4, 4 + len).toString("latin1");
  return /^[\x21-\x7e]+$/.test(type) ? type : "unknown";
}

/** "SHA256:" + base64 of the SHA-256 of the raw blob, without "=" padding, exactly like OpenSSH. */
export function sha256Fingerprint(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** "<type> SHA256:<b64>": the form stored with machines and shown in messages. */
export function formatHostKey(blob: Buffer): string {
  return `${keyTypeOfBlob(blob)} ${sha256Fingerprint(blob)}`;
}

export interface ParsedHostKey {
  type: string;
  fingerprint: string;
}

/**
 * Reads a stored "<type> SHA256:<b64>" (tolerating extra spaces and "=" padding, as pasted
 * from other tools). undefined when it is not in that form.
 */
export function parseHostKey(value: string): ParsedHostKey | undefined {
  const m = /^\s*(\S+)\s+SHA256:([A-Za-z0-9+/]+)=*\s*$/.exec(value);
  if (!m) return undefined;
  return { type: m[1]!, fingerprint: `SHA256:${m[2]!}` };
}

/** True when `actual` (from `formatHostKey`) is the key `pinned` names. */
export function hostKeyMatches(pinned: string, actual: string): boolean {
  const p = parseHostKey(pinned);
  const a = parseHostKey(actual);
  return p !== undefined && a !== undefined && p.type === a.type && p.fingerprint === a.fingerprint;
}

/** ssh2 1.17's default host key algorithms, in its order (Node 20 always has Ed25519). */
export const DEFAULT_HOST_KEY_ALGORITHMS: readonly string[] = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "rsa-sha2-512",
  "rsa-sha2-256",
  "ssh-rsa",
];

/**
 * The host key algorithm list to offer when a key of `keyType` is pinned: its algorithms
 * first, then the other defaults. A server may hold several host keys and would otherwise
 * be asked for ssh2's favourite, making a perfectly good host look "changed". The others
 * stay offered so that a host that really lost the pinned key type still reaches the
 * mismatch check (a clear error) instead of failing negotiation. RSA keys sign with the
 * SHA-2 variants first. undefined for a type outside the defaults: keep ssh2's order.
 */
export function hostKeyAlgorithmsFor(keyType: string): string[] | undefined {
  const preferred = keyType === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [keyType];
  if (!preferred.every((a) => DEFAULT_HOST_KEY_ALGORITHMS.includes(a))) return undefined;
  return [...preferred, ...DEFAULT_HOST_KEY_ALGORITHMS.filter((a) => !preferred.includes(a))];
}
