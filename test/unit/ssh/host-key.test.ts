import { describe, expect, it } from "vitest";
import {
  DEFAULT_HOST_KEY_ALGORITHMS,
  formatHostKey,
  hostKeyAlgorithmsFor,
  hostKeyMatches,
  keyTypeOfBlob,
  parseHostKey,
  sha256Fingerprint,
} from "../../../src/ssh/host-key.js";

// Public keys with the fingerprints `ssh-keygen -lf` printed for them.
const ED25519 = Buffer.from("AAAAC3NzaC1lZDI1NTE5AAAAIO9rMyv4JzjZMwRn6fRs2bf8U4hz7Sl1TORtPwlWWSdu", "base64");
const ED25519_FP = "SHA256:A4+xKMiw6V75VCjsaT2XW4YZVFfN1IKRNlKlZ6eaIRE";
const RSA = Buffer.from(
  "AAAAB3NzaC1yc2EAAAADAQABAAAAgQDNfB0FX0OrZZW8qr8iria7uOUmg9yOZNM4X/tayOUR3DvwEeUGYKP5WC3MEyC8xf3T/eemd2ihdpmcVAoty4jlaBKkvxfboytOBQTrJbErMbGZ9IDnANz2QZlmXyg7zG3CSoUkcIFDSkFdR1aNPtFOfB7RT31Zxma+Jh9cIHtYew==",
  "base64",
);
const RSA_FP = "SHA256:OlVa5z5gwNvA6cANFlSAqHKPCsRpD4xKeXzqgWmF+lk";

describe("host key fingerprints", () => {
  it("match OpenSSH's SHA256 format (base64, no padding)", () => {
    expect(sha256Fingerprint(ED25519)).toBe(ED25519_FP);
    expect(sha256Fingerprint(RSA)).toBe(RSA_FP);
    expect(formatHostKey(ED25519)).toBe(`ssh-ed25519 ${ED25519_FP}`);
    expect(formatHostKey(RSA)).toBe(`ssh-rsa ${RSA_FP}`);
  });

  it("read the key type from the blob, and survive malformed blobs", () => {
    expect(keyTypeOfBlob(ED25519)).toBe("ssh-ed25519");
    expect(keyTypeOfBlob(Buffer.alloc(0))).toBe("unknown");
    expect(keyTypeOfBlob(Buffer.from([0, 0, 0, 200, 1]))).toBe("unknown");
    expect(formatHostKey(Buffer.from("junk"))).toMatch(/^unknown SHA256:[A-Za-z0-9+/]+$/);
  });

  it("parse stored keys leniently and compare type and fingerprint", () => {
    expect(parseHostKey(`ssh-ed25519 ${ED25519_FP}`)).toEqual({ type: "ssh-ed25519", fingerprint: ED25519_FP });
    expect(parseHostKey(`  ssh-ed25519   ${ED25519_FP}=  `)).toEqual({ type: "ssh-ed25519", fingerprint: ED25519_FP });
    expect(parseHostKey("ssh-ed25519 MD5:aa:bb")).toBeUndefined();
    expect(parseHostKey(ED25519_FP)).toBeUndefined();
    expect(hostKeyMatches(`ssh-ed25519 ${ED25519_FP}`, formatHostKey(ED25519))).toBe(true);
    expect(hostKeyMatches(`ssh-rsa ${ED25519_FP}`, formatHostKey(ED25519))).toBe(false);
    expect(hostKeyMatches(`ssh-ed25519 ${RSA_FP}`, formatHostKey(ED25519))).toBe(false);
    expect(hostKeyMatches("garbage", formatHostKey(ED25519))).toBe(false);
  });

  it("offer the pinned key's algorithms first, the others after", () => {
    expect(hostKeyAlgorithmsFor("ecdsa-sha2-nistp256")).toEqual([
      "ecdsa-sha2-nistp256",
      "ssh-ed25519",
      "ecdsa-sha2-nistp384",
      "ecdsa-sha2-nistp521",
      "rsa-sha2-512",
      "rsa-sha2-256",
      "ssh-rsa",
    ]);
    expect(hostKeyAlgorithmsFor("ssh-rsa")?.slice(0, 3)).toEqual(["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]);
    expect(hostKeyAlgorithmsFor("ssh-ed25519")).toEqual([...DEFAULT_HOST_KEY_ALGORITHMS]);
    expect(hostKeyAlgorithmsFor("sk-ssh-ed25519@openssh.com")).toBeUndefined();
  });
});
