/**
 * src/store/file-set.ts: files written as one unit. A writer that dies after its journal
 * is complete is finished by the next lock holder; one that dies before leaves the old set.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { JOURNAL_FILE, recoverFileSet, writeFileSet } from "../../../src/store/file-set.js";
import { tempDir } from "../../helpers/cli.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

const read = (name: string) => readFileSync(path.join(dir, name), "utf8");

describe("writeFileSet", () => {
  it("replaces every file with its mode and leaves no journal", () => {
    writeFileSync(path.join(dir, "key.pem"), "old key");
    writeFileSync(path.join(dir, "cert.pem"), "old cert");
    writeFileSet(dir, [
      { name: "key.pem", content: "new key", mode: 0o600 },
      { name: "cert.pem", content: "new cert", mode: 0o644 },
    ]);
    expect([read("key.pem"), read("cert.pem")]).toEqual(["new key", "new cert"]);
    expect(statSync(path.join(dir, "key.pem")).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(dir, "cert.pem")).mode & 0o777).toBe(0o644);
    expect(readdirSync(dir).sort()).toEqual(["cert.pem", "key.pem"]);
  });

  it("refuses names outside the directory", () => {
    expect(() => writeFileSet(dir, [{ name: "../x", content: "", mode: 0o600 }])).toThrow(/invalid file name/);
  });
});

describe("recoverFileSet", () => {
  it("installs the whole set a crashed writer had journaled (the key was replaced, the certificate not yet)", () => {
    writeFileSync(path.join(dir, "key.pem"), "new key");
    writeFileSync(path.join(dir, "cert.pem"), "old cert");
    writeFileSync(
      path.join(dir, JOURNAL_FILE),
      JSON.stringify({ version: 1, files: [{ name: "key.pem", content: "new key", mode: 0o600 }, { name: "cert.pem", content: "new cert", mode: 0o644 }] }),
    );
    expect(recoverFileSet(dir)).toEqual(["key.pem", "cert.pem"]);
    expect([read("key.pem"), read("cert.pem")]).toEqual(["new key", "new cert"]);
    expect(readdirSync(dir).sort()).toEqual(["cert.pem", "key.pem"]);
    expect(recoverFileSet(dir)).toEqual([]);
  });

  it("drops a journal it cannot read and keeps the files; a directory without one is left alone", () => {
    writeFileSync(path.join(dir, "key.pem"), "old key");
    writeFileSync(path.join(dir, JOURNAL_FILE), '{"version":1,"files":[{"name":"../../etc/x","content":"","mode":420}]}');
    expect(recoverFileSet(dir)).toEqual([]);
    expect(readdirSync(dir)).toEqual(["key.pem"]);
    expect(recoverFileSet(path.join(dir, "nope"))).toEqual([]);
  });
});
