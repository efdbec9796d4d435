/**
 * Damaged stores, as a crash between two writes, a bad disk or a user's mistake leaves
 * them: a garbage CA certificate, a garbage CA key, a CA key that is not the certificate's,
 * a CA key without its certificate, a machine record that is a directory, a truncated
 * record, a record without its certificates, a server key that is not its certificate's.
 * The next create / ls / env must never silently replace the CA (key or certificate), must
 * say what is wrong with a hint, exit with a documented status (README.md "Exit codes"), and
 * the hint must work.
 */
import { generateKeyPairSync } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { counts, reportCounts } from "./lib/counts.js";
import { DOCUMENTED_EXIT, describeOutcome, errorText, killStragglers, stderrProblems, tsm, type Outcome } from "./lib/proc.js";
import { buildStore, checkStore, copyStore, createArgs, hintFor, lsRows, readCaKey, removeDir, rowSaysBroken, tempStoreDir } from "./lib/store.js";

let template: string;

beforeAll(async () => {
  template = tempStoreDir("tsm-faults-template-");
  await buildStore(template, [
    { name: "a", port: 2301 },
    { name: "b", port: 2302 },
  ]);
}, 120_000);
afterAll(async () => {
  await killStragglers();
  await removeDir(template);
});
reportCounts("damaged");

/** A fresh copy of the two-machine store, damaged by `damage`; removed afterwards. */
async function withDamagedStore(damage: (store: string) => Promise<void>, body: (store: string, problems: string[]) => Promise<void>): Promise<string[]> {
  const store = tempStoreDir();
  const problems: string[] = [];
  try {
    await copyStore(template, store);
    await damage(store);
    counts.tries++;
    counts.faults++;
    await body(store, problems);
  } finally {
    await removeDir(store);
  }
  counts.problems += problems.length;
  return problems;
}

function sane(o: Outcome, problems: string[]): void {
  if (o.code === null || !DOCUMENTED_EXIT.has(o.code)) problems.push(`not a documented exit status: ${describeOutcome(o)}`);
  for (const p of stderrProblems(o)) problems.push(`${describeOutcome(o)} -> ${p}`);
}

const file = (store: string, ...parts: string[]) => path.join(store, ...parts);
const bytes = (store: string, ...parts: string[]) => readFile(file(store, ...parts)).catch(() => undefined);

/**
 * The CA is damaged: create must fail (documented, non-zero) naming the damaged file and the
 * way out (`tsm regenerate-certs --client-certs`), touch neither CA file, and leave no new
 * machine; ls and env keep working for the machines (their own certificate copies are
 * intact); following the hint rotates the CA, after which create works and all is valid.
 */
async function damagedCa(store: string, problems: string[], damagedFiles: readonly string[]): Promise<void> {
  const keyBefore = await bytes(store, "certs", "ca-key.pem");
  const certBefore = await bytes(store, "certs", "ca.pem");
  const unchanged = async (when: string) => {
    const key = await bytes(store, "certs", "ca-key.pem");
    const cert = await bytes(store, "certs", "ca.pem");
    if (!sameBytes(key, keyBefore)) problems.push(`${when}: certs/ca-key.pem was ${key ? "replaced" : "removed"} (LOST: the CA key)`);
    if (!sameBytes(cert, certBefore)) problems.push(`${when}: certs/ca.pem was ${cert ? "replaced" : "removed"} silently`);
  };
  const create = await tsm(store, createArgs("c", 2303));
  sane(create, problems);
  if (create.code === 0) {
    problems.push(`create succeeded on a damaged CA: ${describeOutcome(create)}`);
    await unchanged("after create");
    counts.lost += problems.filter((p) => p.includes("LOST")).length;
    return; // the rest would only repeat the consequences
  }
  const named = damagedFiles.map((f) => file(store, "certs", f));
  const error = errorText(create);
  if (!named.some((f) => error.includes(f))) problems.push(`create's error does not name ${named.join(" or ")}: ${describeOutcome(create)}`);
  if (!/tsm regenerate-certs\b[^\n]*--client-certs/.test(error)) problems.push(`create's error does not give the way out (tsm regenerate-certs --client-certs): ${describeOutcome(create)}`);
  await unchanged("after create");
  const ls = await lsRows(store);
  sane(ls.outcome, problems);
  if (ls.outcome.code !== 0 || ls.rows.map((r) => r.Name).join(",") !== "a,b") problems.push(`ls should list a and b: ${describeOutcome(ls.outcome)}`);
  const env = await tsm(store, ["env", "a"]);
  sane(env, problems);
  await unchanged("after ls and env");
  if (await bytes(store, "machines", "c", "config.json")) problems.push("a failed create left machine c's record");

  // The way out, then everything works again.
  const rotate = await tsm(store, ["regenerate-certs", "-f", "--client-certs", "a", "b"]);
  if (rotate.code !== 0) problems.push(`the way out failed: ${describeOutcome(rotate)}`);
  const again = await tsm(store, createArgs("c", 2303));
  if (again.code !== 0) problems.push(`create after the way out failed: ${describeOutcome(again)}`);
  const report = await checkStore(store, { mustBeValid: ["a", "b", "c"], followHints: false });
  counts.records += report.recordsChecked;
  counts.lost += report.lost.length + problems.filter((p) => p.includes("LOST")).length;
  problems.push(...report.problems, ...report.lost.map((l) => `LOST: ${l}`));
}

function sameBytes(x: Buffer | undefined, y: Buffer | undefined): boolean {
  return x === undefined ? y === undefined : y !== undefined && x.equals(y);
}

/**
 * Machine `a` is damaged: ls lists it as broken with a hint and the others normally; env a
 * exits with `envCode` and a hint; a create of another machine works; the CA is untouched;
 * following ls's hint leaves `a` valid or gone.
 */
async function damagedMachine(store: string, problems: string[], envCodes: readonly number[], planted: readonly string[] = []): Promise<void> {
  const caKey = await readCaKey(store);
  const ls = await lsRows(store);
  sane(ls.outcome, problems);
  if (ls.outcome.code !== 0) problems.push(`ls failed: ${describeOutcome(ls.outcome)}`);
  const rowA = ls.rows.find((r) => r.Name === "a");
  const rowB = ls.rows.find((r) => r.Name === "b");
  if (!rowA || !rowSaysBroken(rowA) || !hintFor(rowA.Error, "a")) problems.push(`ls must show a as broken with a hint: ${rowA ? `${rowA.State} | ${rowA.Error}` : "no row"}`);
  if (!rowB || rowSaysBroken(rowB)) problems.push(`ls must show b normally: ${rowB ? `${rowB.State} | ${rowB.Error}` : "no row"}`);
  const env = await tsm(store, ["env", "a"]);
  sane(env, problems);
  if (env.code === null || !envCodes.includes(env.code)) problems.push(`env a should exit ${envCodes.join(" or ")}: ${describeOutcome(env)}`);
  if (env.code !== 0 && !hintFor(env.stderr, "a")) problems.push(`env a gives no hint (a tsm command for a): ${describeOutcome(env)}`);
  const envB = await tsm(store, ["env", "b"]);
  if (envB.code !== 0) problems.push(`env b failed: ${describeOutcome(envB)}`);
  const create = await tsm(store, createArgs("c", 2303));
  sane(create, problems);
  if (create.code !== 0) problems.push(`create of another machine failed: ${describeOutcome(create)}`);
  const createA = await tsm(store, createArgs("a", 2304));
  sane(createA, problems);
  if (createA.code !== 5 && createA.code !== 6) problems.push(`create a over the damaged machine should be refused (exit 5 or 6): ${describeOutcome(createA)}`);
  // checkStore follows ls's hint for a and checks the result.
  const report = await checkStore(store, { caKey, mustBeValid: ["b", "c"], planted });
  counts.records += report.recordsChecked;
  counts.lost += report.lost.length;
  problems.push(...report.problems, ...report.lost.map((l) => `LOST: ${l}`));
}

const expectNone = (problems: string[]) => expect(problems, `\n    - ${problems.join("\n    - ")}`).toEqual([]);

describe.concurrent("damaged CA", () => {
  it("a garbage certs/ca.pem: create refuses, naming it and the way out; the CA key is kept", async () => {
    expectNone(await withDamagedStore((s) => writeFile(file(s, "certs", "ca.pem"), "garbage\n"), (s, p) => damagedCa(s, p, ["ca.pem"])));
  });
  it("a garbage certs/ca-key.pem: create refuses, naming it and the way out; nothing is overwritten", async () => {
    expectNone(await withDamagedStore((s) => writeFile(file(s, "certs", "ca-key.pem"), "garbage\n"), (s, p) => damagedCa(s, p, ["ca-key.pem"])));
  });
  it("a CA key that is not the certificate's (a crash between their writes): create refuses; nothing is overwritten", async () => {
    const other = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    expectNone(await withDamagedStore((s) => writeFile(file(s, "certs", "ca-key.pem"), other), (s, p) => damagedCa(s, p, ["ca-key.pem", "ca.pem"])));
  });
  it("a CA key without its certificate: create refuses and keeps the key", async () => {
    expectNone(await withDamagedStore((s) => rm(file(s, "certs", "ca.pem")), (s, p) => damagedCa(s, p, ["ca.pem"])));
  });
});

describe.concurrent("damaged machine", () => {
  it("a record that is a directory: ls reports it with a hint, env exits 6, the rest works", async () => {
    const damage = async (s: string) => {
      await rm(file(s, "machines", "a", "config.json"));
      await mkdir(file(s, "machines", "a", "config.json"));
    };
    expectNone(await withDamagedStore(damage, (s, p) => damagedMachine(s, p, [6], ["machines/a/config.json/"])));
  });
  it("a truncated record: ls reports it with a hint, env exits 6, the rest works", async () => {
    const damage = async (s: string) => {
      const text = await readFile(file(s, "machines", "a", "config.json"), "utf8");
      await writeFile(file(s, "machines", "a", "config.json"), text.slice(0, Math.floor(text.length / 3)));
    };
    expectNone(await withDamagedStore(damage, (s, p) => damagedMachine(s, p, [6])));
  });
  it("a record without its certificates (an interrupted create): ls reports it as incomplete with a hint that works", async () => {
    const damage = async (s: string) => {
      for (const f of ["ca.pem", "cert.pem", "key.pem", "server.pem", "server-key.pem", "certs.json"]) await rm(file(s, "machines", "a", f));
    };
    expectNone(await withDamagedStore(damage, (s, p) => damagedMachine(s, p, [1, 6])));
  });
  // env only reads the client side, so it may succeed; ls checks every key against its certificate.
  it("a server key that is not its certificate's (a crash between their writes): ls reports the mismatch with a hint", async () => {
    const other = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    expectNone(await withDamagedStore((s) => writeFile(file(s, "machines", "a", "server-key.pem"), other, { mode: 0o600 }), (s, p) => damagedMachine(s, p, [0, 1, 6])));
  });
});
