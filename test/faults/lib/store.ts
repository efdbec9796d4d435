/**
 * What "nothing lost" means on disk, checked from outside tsm (files, node:crypto and
 * `tsm ls`), so the checks hold whatever the fixes change inside:
 *
 * - the store holds only the known layout (README.md "The store"): anything else, such as
 *   a temporary file of an atomic write or an orphaned private key, is reported;
 * - the CA key and certificate are a pair, and the key is byte-identical to what it was
 *   unless a deliberate rotation (`regenerate-certs --client-certs`) ran;
 * - every machine is either valid (record readable and named right, full certificate set,
 *   each key matching its certificate, certificates issued by the machine's CA) or shown by
 *   `tsm ls` as broken/incomplete with a hint (`tsm rm -f NAME`, `tsm regenerate-certs
 *   NAME`, ...) that, followed, leaves it valid or gone;
 * - machines that must survive are valid.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { cp, lstat, readdir, readFile, rm } from "node:fs/promises";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describeOutcome, stderrProblems, tsm, type Outcome } from "./proc.js";

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9.-]*$/;
const CERT_FILES = ["ca.pem", "ca-key.pem", "cert.pem", "key.pem"];
/**
 * A machine directory (README.md "The store"), for the none driver, plus certs.json: the
 * certificate stamp (src/certs/stamp.ts) that `env` reads instead of loading node:crypto.
 * (The README's layout omits it.) Files of other drivers (disk.qcow2, ...) are not expected here.
 */
const MACHINE_FILES = ["config.json", "ca.pem", "cert.pem", "key.pem", "server.pem", "server-key.pem", "certs.json"];

export function tempStoreDir(prefix = "tsm-faults-"): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function copyStore(from: string, to: string): Promise<void> {
  await cp(from, to, { recursive: true, preserveTimestamps: true });
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export const noneUrl = (port: number) => `tcp://127.0.0.1:${port}`;
/** `tsm create -d none --url tcp://127.0.0.1:PORT NAME`: certificates and a record, no engine. */
export const createArgs = (name: string, port: number) => ["create", "-d", "none", "--url", noneUrl(port), name];

/** Builds a store with a CA and these machines (sequentially), failing loudly if any create fails. */
export async function buildStore(dir: string, machines: ReadonlyArray<{ name: string; port: number }>): Promise<void> {
  for (const m of machines) {
    const o = await tsm(dir, createArgs(m.name, m.port));
    if (o.code !== 0) throw new Error(`setting up the store failed: ${describeOutcome(o)}`);
  }
}

// ---------------------------------------------------------------- files

export interface Entry {
  rel: string;
  kind: "dir" | "file" | "other";
}

export async function walk(root: string): Promise<Entry[]> {
  const out: Entry[] = [];
  async function visit(rel: string): Promise<void> {
    let names: string[];
    try {
      names = await readdir(path.join(root, rel));
    } catch {
      return;
    }
    for (const n of names.sort()) {
      const r = rel ? `${rel}/${n}` : n;
      let st;
      try {
        st = await lstat(path.join(root, r));
      } catch {
        continue; // vanished meanwhile
      }
      const kind = st.isDirectory() ? "dir" : st.isFile() ? "file" : "other";
      out.push({ rel: r, kind });
      if (kind === "dir") await visit(r);
    }
  }
  await visit("");
  return out;
}

/**
 * Entries that are not part of the known layout. Lock files are tsm's business (their
 * harm is measured by timing the next command), and so is the image cache.
 */
export function unknownEntries(entries: readonly Entry[]): string[] {
  const bad: string[] = [];
  for (const { rel, kind } of entries) {
    const parts = rel.split("/");
    const top = parts[0]!;
    if (top === "locks" || top === "cache") {
      if (parts.length === 1 && kind !== "dir") bad.push(`${rel} (not a directory)`);
      continue;
    }
    if (top === "certs") {
      if (parts.length === 1 ? kind === "dir" : parts.length === 2 && kind === "file" && CERT_FILES.includes(parts[1]!)) continue;
      bad.push(rel);
      continue;
    }
    if (top === "machines") {
      if (parts.length === 1 && kind === "dir") continue;
      if (parts.length === 2 && kind === "dir" && NAME_RE.test(parts[1]!)) continue;
      if (parts.length === 3 && kind === "file" && MACHINE_FILES.includes(parts[2]!)) continue;
      bad.push(kind === "dir" ? `${rel}/` : rel);
      continue;
    }
    bad.push(kind === "dir" ? `${rel}/` : rel);
  }
  return bad;
}

async function readOpt(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch {
    return undefined;
  }
}

export async function readCaKey(root: string): Promise<Buffer | undefined> {
  return readOpt(path.join(root, "certs", "ca-key.pem"));
}

// ---------------------------------------------------------------- certificates

function spki(key: ReturnType<typeof createPublicKey>): string {
  return key.export({ type: "spki", format: "der" }).toString("base64");
}

/** Does the private key (PEM) belong to the certificate (PEM)? A reason when not. */
export function keyMatchesCert(keyPem: string, certPem: string): string | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    return "the certificate does not parse";
  }
  try {
    const fromKey = spki(createPublicKey(createPrivateKey(keyPem)));
    return fromKey === spki(cert.publicKey) ? undefined : "the key does not match the certificate";
  } catch {
    return "the key does not parse";
  }
}

/** Was `certPem` signed by the CA certificate `caPem`? */
function issuedBy(certPem: string, caPem: string): boolean {
  try {
    const ca = new X509Certificate(caPem);
    const cert = new X509Certificate(certPem);
    return cert.checkIssued(ca) && cert.verify(ca.publicKey);
  } catch {
    return false;
  }
}

/** The store's CA: absent (neither file), a matching pair, or a reason it is broken. */
export async function caState(root: string): Promise<{ state: "absent" | "pair" | "broken"; reason?: string; key?: Buffer; cert?: Buffer }> {
  const key = await readOpt(path.join(root, "certs", "ca-key.pem"));
  const cert = await readOpt(path.join(root, "certs", "ca.pem"));
  if (!key && !cert) return { state: "absent" };
  if (!key) return { state: "broken", reason: "certs/ca.pem exists without certs/ca-key.pem", cert };
  if (!cert) return { state: "broken", reason: "certs/ca-key.pem exists without certs/ca.pem", key };
  const why = keyMatchesCert(key.toString(), cert.toString());
  return why ? { state: "broken", reason: `certs/ca-key.pem and certs/ca.pem: ${why}`, key, cert } : { state: "pair", key, cert };
}

/** Why the machine is not valid (empty: valid). `storeCa`: its ca.pem must be this one (no rotation happened). */
export async function machineProblems(root: string, name: string, storeCa?: Buffer): Promise<string[]> {
  const dir = path.join(root, "machines", name);
  const reasons: string[] = [];
  try {
    const st = await lstat(path.join(dir, "config.json"));
    if (!st.isFile()) reasons.push("config.json is not a file");
    else {
      const text = await readFile(path.join(dir, "config.json"), "utf8");
      try {
        const rec = JSON.parse(text) as { name?: unknown };
        if (rec.name !== name) reasons.push(`config.json names ${JSON.stringify(rec.name)}`);
      } catch {
        reasons.push(`config.json is not valid JSON (${text.length} bytes)`);
      }
    }
  } catch {
    reasons.push("config.json is missing");
  }
  const files: Record<string, string | undefined> = {};
  for (const f of ["ca.pem", "cert.pem", "key.pem", "server.pem", "server-key.pem"]) {
    files[f] = (await readOpt(path.join(dir, f)))?.toString();
    if (files[f] === undefined) reasons.push(`${f} is missing`);
  }
  const { "ca.pem": ca, "cert.pem": cert, "key.pem": key, "server.pem": server, "server-key.pem": serverKey } = files;
  if (server && serverKey) {
    const why = keyMatchesCert(serverKey, server);
    if (why) reasons.push(`server-key.pem / server.pem: ${why}`);
  }
  if (cert && key) {
    const why = keyMatchesCert(key, cert);
    if (why) reasons.push(`key.pem / cert.pem: ${why}`);
  }
  if (ca && server && !issuedBy(server, ca)) reasons.push("server.pem was not issued by the machine's ca.pem");
  if (ca && cert && !issuedBy(cert, ca)) reasons.push("cert.pem was not issued by the machine's ca.pem");
  if (ca && storeCa && ca !== storeCa.toString()) reasons.push("the machine's ca.pem is not the store's CA");
  return reasons;
}

// ---------------------------------------------------------------- tsm ls

export interface LsRow {
  Name: string;
  State: string;
  Error: string;
  URL: string;
}

export async function lsRows(root: string): Promise<{ outcome: Outcome; rows: LsRow[]; parseError?: string }> {
  const outcome = await tsm(root, ["ls", "-t", "3", "--format", "{{json .}}"]);
  const rows: LsRow[] = [];
  for (const line of outcome.stdout.split("\n")) {
    if (line.trim() === "") continue;
    try {
      rows.push(JSON.parse(line) as LsRow);
    } catch {
      return { outcome, rows, parseError: `ls printed a line that is not a JSON row: ${JSON.stringify(line)}` };
    }
  }
  return { outcome, rows };
}

/**
 * A row that calls the machine broken: an error state, an unreadable record, or a command
 * to run on it (remove, regenerate, ...). A valid machine whose engine is down has none of
 * these: its row only says the engine cannot be reached.
 */
export function rowSaysBroken(row: LsRow): boolean {
  return row.State === "Error" || /unreadable|corrupt|broken/i.test(row.Error) || hintFor(row.Error, row.Name) !== undefined;
}

/** A row that tells how to remove the machine. */
export function rowHasRemovalHint(row: LsRow): boolean {
  return new RegExp(`tsm rm\\b[^"\`]*\\b${escape(row.Name)}\\b`).test(row.Error);
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

const HINT_VERBS = new Set(["rm", "regenerate-certs", "provision", "create"]);

/** The tsm command a message tells the user to run for `name`, as argv (without "tsm"), if any. */
export function hintFor(message: string, name: string): string[] | undefined {
  const candidates = [...message.matchAll(/["`'](tsm [^"`']+)["`']/g)].map((m) => m[1]!);
  candidates.push(...[...message.matchAll(/\btsm ((?:rm|regenerate-certs|provision|create)\b[^"`';,\n]*)/g)].map((m) => `tsm ${m[1]!.replace(/\.$/, "")}`));
  for (const c of candidates) {
    const argv = c.trim().split(/\s+/).slice(1);
    if (argv.length > 0 && HINT_VERBS.has(argv[0]!) && argv.includes(name)) return argv;
  }
  return undefined;
}

// ---------------------------------------------------------------- the whole store

export interface Expectations {
  /** The CA key must be byte-identical to this (omit when a rotation may have happened). */
  caKey?: Buffer | undefined;
  /** A deliberate rotation may have happened: machines may keep an older CA of their own. */
  caRotated?: boolean;
  /** These machines must be valid (not merely reported). */
  mustBeValid?: readonly string[];
  /** These machines must exist (valid, or reported with a hint). */
  mustExist?: readonly string[];
  /** These must be gone. */
  mustBeAbsent?: readonly string[];
  /** Follow the hint of each reported machine and check it is then valid or gone (default true). */
  followHints?: boolean;
  /** Entries the test itself put there (a damaged store), left out of the layout check. */
  planted?: readonly string[];
  /**
   * A certificate set's journal (`.tsm-pending.json`, src/store/file-set.ts) may remain: a
   * write that failed midway (disk full) leaves it for the next lock holder to complete.
   * Only before any later command ran; a journal that outlives the next command is a problem.
   */
  journalsPending?: boolean;
}

export interface StoreReport {
  problems: string[];
  /** Things lost: a machine missing or broken without a usable report, a CA key replaced or unpaired. */
  lost: string[];
  recordsChecked: number;
  /** Machines reported by ls with a hint (and what following it gave). */
  reported: string[];
}

export async function checkStore(root: string, expect: Expectations = {}): Promise<StoreReport> {
  const problems: string[] = [];
  const lost: string[] = [];
  const reported: string[] = [];
  let recordsChecked = 0;

  const ca = await caState(root);
  if (ca.state === "broken") lost.push(`the CA is broken: ${ca.reason}`);
  if (expect.caKey && !(ca.key && ca.key.equals(expect.caKey))) lost.push(ca.key ? "certs/ca-key.pem was replaced (no rotation was asked for)" : "certs/ca-key.pem is gone");
  const storeCa = expect.caRotated ? undefined : ca.cert;

  let names: string[] = [];
  try {
    names = (await readdir(path.join(root, "machines"))).filter((n) => NAME_RE.test(n)).sort();
  } catch {
    // no machines directory yet
  }
  const ls = await lsRows(root);
  if (ls.outcome.code !== 0) problems.push(`ls failed: ${describeOutcome(ls.outcome)}`);
  if (ls.parseError) problems.push(ls.parseError);
  for (const p of stderrProblems(ls.outcome)) problems.push(`ls: ${p}`);
  const rowOf = new Map(ls.rows.map((r) => [r.Name, r]));

  for (const name of names) {
    recordsChecked++;
    const reasons = await machineProblems(root, name, storeCa);
    const row = rowOf.get(name);
    if (!row) problems.push(`machine "${name}" is in the store but not in ls`);
    if (reasons.length === 0) {
      if (row && rowSaysBroken(row)) problems.push(`ls calls valid machine "${name}" broken: ${row.State} ${row.Error}`);
      continue;
    }
    const what = `machine "${name}" (${reasons.join("; ")})`;
    if (expect.mustBeValid?.includes(name)) {
      lost.push(`${what} must be valid`);
      continue;
    }
    const hint = row ? hintFor(row.Error, name) : undefined;
    if (!row || !hint) {
      lost.push(`${what} is neither valid nor reported by ls with a hint (ls row: ${row ? `${row.State} | ${row.Error}` : "none"})`);
      continue;
    }
    reported.push(`${name}: ${hint.join(" ")}`);
    if (hint[0] === "rm" && expect.mustExist?.includes(name)) {
      lost.push(`${what}: ls's only way out is removal ("tsm ${hint.join(" ")}"), for a machine that must survive`);
      continue;
    }
    if (expect.followHints === false) continue;
    // "the one command that completes or removes it" must do so.
    const args = hint[0] === "rm" && !hint.includes("-f") && !hint.includes("-y") ? [...hint, "-y"] : hint;
    const followed = await tsm(root, args, { input: "y\n" });
    if (followed.code !== 0) {
      lost.push(`${what}: following ls's hint failed: ${describeOutcome(followed)}`);
      continue;
    }
    if (!(await exists(path.join(root, "machines", name)))) {
      if (hint[0] !== "rm") lost.push(`${what}: "tsm ${hint.join(" ")}" removed it`);
      continue;
    }
    const after = await machineProblems(root, name, expect.caRotated ? undefined : (await caState(root)).cert);
    if (after.length > 0) lost.push(`${what}: still broken after "tsm ${hint.join(" ")}": ${after.join("; ")}`);
  }
  // Checked last, once reported machines were dealt with as ls says: what is left must be the store's own.
  const unknown = unknownEntries(await walk(root)).filter((e) => !expect.planted?.includes(e) && !(expect.journalsPending && /^(certs|machines\/[^/]+)\/\.tsm-pending\.json$/.test(e)));
  if (unknown.length > 0) problems.push(`files outside the store's layout (temporary or orphaned): ${unknown.join(", ")}`);
  for (const name of expect.mustExist ?? []) if (!names.includes(name)) lost.push(`machine "${name}" is gone`);
  for (const name of expect.mustBeValid ?? []) if (!names.includes(name)) lost.push(`machine "${name}" is gone`);
  for (const name of expect.mustBeAbsent ?? []) if (names.includes(name)) problems.push(`machine "${name}" should be gone`);
  return { problems, lost, recordsChecked, reported };
}

/** Whether anything (file, directory, link) is at `p`. */
export async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}
