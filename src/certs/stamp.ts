/**
 * A verified summary of a machine's certificate set, so `env` and `config`
 * can check certificates without loading node:crypto (which costs ~20 ms of
 * start-up, more than everything else `env` does).
 *
 * tsm writes `certs.json` right after it writes the certificates, from a full
 * X.509 check. It records each file's identity (inode, size, mtime) and what
 * the check found: validity window, issuer and key agreement, the names the
 * server certificate covers. A reader trusts it only while every file still
 * has the recorded identity; any change (a file replaced, touched, or
 * missing) falls back to the full check. Files are only ever replaced by
 * rename, so a rewrite always changes the inode.
 *
 * A stamp also vouches that each key is its certificate's (checked before it is
 * written), so `ls` checks the pairs only when the stamp does not cover them.
 * Stamps from before the server key was covered have no `serverKey` entry:
 * they vouch for the client pair only.
 */
import { readFileSync, statSync } from "node:fs";
import { writeFileAtomic } from "../store/atomic.js";
import type { MachinePaths } from "../store/paths.js";
import { crypto, keyPairProblem, parseSubjectAltName, type KeyPairFiles } from "./check.js";

export const STAMP_FILE = "certs.json";
const STAMP_VERSION = 1;

type CertFile = "caCert" | "clientCert" | "clientKey" | "serverCert";
const FILES: readonly CertFile[] = ["caCert", "clientCert", "clientKey", "serverCert"];

interface FileIdentity {
  ino: number;
  size: number;
  mtimeMs: number;
}

export interface CertStamp {
  version: number;
  /** The server key is recorded when it was there (every set tsm writes now). */
  files: Record<CertFile, FileIdentity> & { serverKey?: FileIdentity };
  /** Per certificate: ISO dates. */
  validity: Record<"ca" | "client" | "server", { notBefore: string; notAfter: string }>;
  /** Names (IPs and DNS names) the server certificate covers, as written in it. */
  serverSans: string[];
}

function identity(file: string): FileIdentity {
  const st = statSync(file);
  return { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
}

function stampPath(mp: MachinePaths): string {
  return `${mp.dir}/${STAMP_FILE}`;
}

function readOptional(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** Records the set as it is on disk now; call right after writing it. Refuses (throws) a set whose keys are not their certificates'. */
export async function writeCertStamp(mp: MachinePaths): Promise<void> {
  const { X509Certificate } = await crypto();
  const read = (f: string) => new X509Certificate(readFileSync(f, "utf8"));
  const ca = read(mp.caCert);
  const client = read(mp.clientCert);
  const server = read(mp.serverCert);
  const serverKeyPem = readOptional(mp.serverKey);
  const pairs: KeyPairFiles[] = [
    { what: "client", certPem: readFileSync(mp.clientCert, "utf8"), keyPem: readFileSync(mp.clientKey, "utf8"), certFile: mp.clientCert, keyFile: mp.clientKey },
  ];
  if (serverKeyPem !== undefined) pairs.push({ what: "server", certPem: readFileSync(mp.serverCert, "utf8"), keyPem: serverKeyPem, certFile: mp.serverCert, keyFile: mp.serverKey });
  for (const pair of pairs) {
    const problem = await keyPairProblem(pair);
    if (problem) throw new Error(`The certificates in ${mp.dir} are not a set: ${problem}`);
  }
  const dates = (c: InstanceType<typeof X509Certificate>) => ({
    notBefore: new Date(c.validFrom).toISOString(),
    notAfter: new Date(c.validTo).toISOString(),
  });
  const stamp: CertStamp = {
    version: STAMP_VERSION,
    files: {
      ...(Object.fromEntries(FILES.map((f) => [f, identity(mp[f])])) as Record<CertFile, FileIdentity>),
      ...(serverKeyPem === undefined ? {} : { serverKey: identity(mp.serverKey) }),
    },
    validity: { ca: dates(ca), client: dates(client), server: dates(server) },
    serverSans: parseSubjectAltName(server.subjectAltName),
  };
  writeFileAtomic(stampPath(mp), `${JSON.stringify(stamp)}\n`, { mode: 0o600 });
}

/**
 * The stamp, if it still describes the files on disk; undefined otherwise
 * (missing, unreadable, another version, or any file changed or missing).
 */
export function readValidStamp(mp: MachinePaths): CertStamp | undefined {
  let stamp: CertStamp;
  try {
    stamp = JSON.parse(readFileSync(stampPath(mp), "utf8")) as CertStamp;
  } catch {
    return undefined;
  }
  if (stamp?.version !== STAMP_VERSION || typeof stamp.files !== "object") return undefined;
  try {
    for (const f of [...FILES, ...(stamp.files.serverKey ? (["serverKey"] as const) : [])]) {
      const want = stamp.files[f];
      const have = identity(mp[f]);
      if (!want || want.ino !== have.ino || want.size !== have.size || want.mtimeMs !== have.mtimeMs) return undefined;
    }
  } catch {
    return undefined;
  }
  return stamp;
}

/**
 * What the stamp says is wrong for `address` at `now`, as check.ts phrases
 * it; undefined when the stamp cannot decide (an address it does not list
 * literally, e.g. one a wildcard name might cover): then run the full check.
 */
export function stampProblems(stamp: CertStamp, address: string, now: Date): string[] | undefined {
  const problems: string[] = [];
  const names = { ca: "CA certificate", client: "client certificate", server: "server certificate" } as const;
  for (const k of ["ca", "client", "server"] as const) {
    const from = new Date(stamp.validity[k].notBefore);
    const to = new Date(stamp.validity[k].notAfter);
    if (now < from) problems.push(`the ${names[k]} is not valid until ${from.toISOString()}`);
    if (now > to) problems.push(`the ${names[k]} expired on ${to.toISOString()}`);
  }
  if (!stamp.serverSans.includes(address)) return undefined;
  return problems;
}

