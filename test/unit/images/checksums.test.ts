import { describe, expect, it } from "vitest";
import { cacheKey, findChecksum, findChecksums, parseCacheKey } from "../../../src/images/checksums.js";

const H512 = "ab".repeat(64);
const H512B = "cd".repeat(64);
const H256 = "ef".repeat(32);

describe("checksum files", () => {
  it("reads GNU text and binary mode lines", () => {
    const text = `${H512B}  debian-13-generic-amd64.qcow2\n${H512} *debian-13-genericcloud-amd64.qcow2\n`;
    expect(findChecksum(text, "debian-13-genericcloud-amd64.qcow2")).toEqual({ algorithm: "sha512", hex: H512 });
    expect(findChecksum(text, "debian-13-generic-amd64.qcow2")).toEqual({ algorithm: "sha512", hex: H512B });
    expect(findChecksum(text, "debian-13-generic")).toBeUndefined();
  });

  it("reads BSD lines, lower-cases the hex, and tolerates CRLF and ./ names", () => {
    const text = `-----BEGIN PGP SIGNED MESSAGE-----\r\nHash: SHA256\r\n\r\nSHA256 (./Fedora.qcow2) = ${H256.toUpperCase()}\r\n`;
    expect(findChecksum(text, "Fedora.qcow2")).toEqual({ algorithm: "sha256", hex: H256 });
  });

  it("tells the algorithm by hex length and ignores lengths that fit neither", () => {
    const text = `${H256}  a.img\n${"0".repeat(40)}  b.img\n${H512.slice(1)}  c.img\n`;
    expect(findChecksum(text, "a.img")).toEqual({ algorithm: "sha256", hex: H256 });
    expect(findChecksum(text, "b.img")).toBeUndefined();
    expect(findChecksum(text, "c.img")).toBeUndefined();
  });

  it("ignores a BSD line whose hex does not fit its tag", () => {
    expect(findChecksum(`SHA512 (a.img) = ${H256}\n`, "a.img")).toBeUndefined();
  });

  it("prefers SHA-512 when both are listed", () => {
    const text = `SHA256 (a.img) = ${H256}\nSHA512 (a.img) = ${H512}\n`;
    expect(findChecksums(text, "a.img").map((d) => d.algorithm)).toEqual(["sha256", "sha512"]);
    expect(findChecksum(text, "a.img")).toEqual({ algorithm: "sha512", hex: H512 });
  });

  it("unescapes names in GNU escaped lines", () => {
    expect(findChecksum(`\\${H256}  a\\nb.img\n`, "a\nb.img")).toEqual({ algorithm: "sha256", hex: H256 });
    expect(findChecksum(`\\${H256}  a\\\\b.img\n`, "a\\b.img")).toEqual({ algorithm: "sha256", hex: H256 });
  });

  it("does not match a name that only starts or ends the same", () => {
    expect(findChecksum(`${H256}  a.img.sig\n${H256}  xa.img\n`, "a.img")).toBeUndefined();
  });

  it("round-trips cache keys and rejects malformed ones", () => {
    expect(cacheKey({ algorithm: "sha512", hex: H512 })).toBe(`sha512-${H512}`);
    expect(parseCacheKey(`sha512-${H512}`)).toEqual({ algorithm: "sha512", hex: H512 });
    expect(parseCacheKey(`sha256-${H256}`)).toEqual({ algorithm: "sha256", hex: H256 });
    expect(parseCacheKey(`sha256-${H512}`)).toBeUndefined();
    expect(parseCacheKey(`md5-${H256}`)).toBeUndefined();
    expect(parseCacheKey("locks")).toBeUndefined();
  });
});
