import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCidataIso, buildIso9660, buildNoCloudSeed, level1Name, writeCidataIso } from "../../../src/cloudinit/seed.js";
import { describeWithPrereqs, missingPrereqs } from "../../helpers/prereq.js";
import { readIso } from "./iso-reader.js";

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), "tsm-cidata-"));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const DATE = new Date("2024-05-06T07:08:09.120Z");
const seed = buildNoCloudSeed({
  instanceId: "iid-iso-test",
  hostname: "isohost",
  authorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA test@iso"],
  networkConfig: { version: 2, ethernets: {} },
});

describe("ISO 9660 cidata volume", () => {
  it("holds user-data, meta-data and network-config under their Rock Ridge names", () => {
    const iso = readIso(buildCidataIso(seed, { date: DATE }));
    expect(iso.volumeId).toBe("cidata");
    expect(iso.rockRidge).toBe(true);
    const [dot, dotdot, ...files] = iso.entries;
    expect([dot!.isoName, dotdot!.isoName, dot!.isDir, dotdot!.isDir]).toEqual([".", "..", true, true]);
    expect(files.map((f) => [f.isoName, f.rrName, f.isDir, f.mode?.toString(8)])).toEqual([
      ["META_DAT.;1", "meta-data", false, "100444"],
      ["NETWORK_.;1", "network-config", false, "100444"],
      ["USER_DAT.;1", "user-data", false, "100444"],
    ]);
    const byName = new Map(files.map((f) => [f.rrName, f.data.toString("utf8")]));
    expect(byName.get("user-data")).toBe(seed.userData);
    expect(byName.get("meta-data")).toBe(seed.metaData);
    expect(byName.get("network-config")).toBe(seed.networkConfig);
  });

  it("is small, deterministic for a date, and has only the two required files without network-config", () => {
    const a = buildCidataIso(seed, { date: DATE });
    expect(a.equals(buildCidataIso(seed, { date: DATE }))).toBe(true);
    expect(a.length).toBeLessThan(400 * 1024);
    const { networkConfig: _drop, ...plain } = seed;
    expect(readIso(buildCidataIso(plain, { date: DATE })).entries.slice(2).map((f) => f.rrName)).toEqual(["meta-data", "user-data"]);
  });

  it("spreads larger files over several sectors and keeps empty ones", () => {
    const big = Buffer.alloc(5000, 0x61);
    const iso = readIso(buildIso9660([{ name: "big.txt", data: big }, { name: "empty", data: Buffer.alloc(0) }], { volumeId: "TEST" }));
    const files = iso.entries.slice(2);
    expect(files.map((f) => [f.isoName, f.rrName, f.data.length])).toEqual([
      ["BIG.TXT;1", "big.txt", 5000],
      ["EMPTY.;1", "empty", 0],
    ]);
    expect(files[0]!.data.equals(big)).toBe(true);
  });

  it("maps names to unique level-1 identifiers and refuses bad names and labels", () => {
    expect(level1Name("user-data")).toBe("USER_DAT.");
    expect(level1Name("vendor-data")).toBe("VENDOR_D.");
    expect(level1Name("a.tar.gz")).toBe("A_TAR.GZ");
    const iso = readIso(buildIso9660([{ name: "longname-a", data: Buffer.from("a") }, { name: "longname-b", data: Buffer.from("b") }], { volumeId: "x" }));
    expect(iso.entries.slice(2).map((e) => [e.isoName, e.rrName, e.data.toString()]).sort()).toEqual([
      ["LONGNAME.;1", "longname-a", "a"],
      ["LONGNA~1.;1", "longname-b", "b"],
    ]);
    expect(() => buildIso9660([{ name: "../x", data: Buffer.alloc(1) }], { volumeId: "x" })).toThrow(/invalid file name/);
    expect(() => buildIso9660([{ name: "a/b", data: Buffer.alloc(1) }], { volumeId: "x" })).toThrow(/invalid file name/);
    expect(() => buildIso9660([], { volumeId: "bad label" })).toThrow(/volume identifier/);
  });

  it("writes the image atomically with mode 0600", async () => {
    const out = path.join(scratch, "seed.iso");
    writeFileSync(out, "old");
    await writeCidataIso(seed, out, { date: DATE });
    expect(readFileSync(out).equals(buildCidataIso(seed, { date: DATE }))).toBe(true);
    expect(statSync(out).mode & 0o777).toBe(0o600);
  });
});

function tool(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

describeWithPrereqs("the cidata image as standard tools read it", missingPrereqs(["isoinfo", "xorriso", "blkid"]), () => {
  let iso: string;
  beforeAll(() => {
    iso = path.join(scratch, "tools.iso");
    writeFileSync(iso, buildCidataIso(seed, { date: DATE }));
  });

  it("blkid sees an iso9660 filesystem labelled cidata (how cloud-init finds it)", () => {
    const out = tool("blkid", ["-p", "-o", "export", iso]);
    expect(out).toMatch(/^TYPE=iso9660$/m);
    expect(out).toMatch(/^LABEL=cidata$/m);
  });

  it("isoinfo lists the Rock Ridge names and extracts the files", () => {
    expect(tool("isoinfo", ["-d", "-i", iso])).toMatch(/Rock Ridge signatures version 1 found/);
    const listing = tool("isoinfo", ["-R", "-l", "-i", iso]);
    for (const name of ["meta-data", "network-config", "user-data"]) expect(listing).toMatch(new RegExp(`-r--r--r-- .* ${name} *$`, "m"));
    expect(tool("isoinfo", ["-R", "-x", "/user-data", "-i", iso])).toBe(seed.userData);
    expect(tool("isoinfo", ["-R", "-x", "/meta-data", "-i", iso])).toBe(seed.metaData);
  });

  it("xorriso (libisofs) loads it without complaint", () => {
    const r = spawnSync("xorriso", ["-abort_on", "WARNING", "-indev", iso, "-find", "/", "-exec", "lsdl"], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/'\/user-data'$/m);
    expect(r.stdout).toMatch(/'\/meta-data'$/m);
    expect(r.stderr).toMatch(/Volume id\s*: 'cidata'/);
  });
});
