import { describe, expect, it } from "vitest";
import { resolveStorageRoot, storePaths } from "../../../src/store/paths.js";

describe("resolveStorageRoot", () => {
  it("defaults to ~/.tsm on Linux and macOS, from HOME", () => {
    expect(resolveStorageRoot(undefined, { env: { HOME: "/home/ann" }, platform: "linux", homedir: "/ignored" })).toBe("/home/ann/.tsm");
    expect(resolveStorageRoot(undefined, { env: { HOME: "/Users/ann" }, platform: "darwin", homedir: "/ignored" })).toBe("/Users/ann/.tsm");
  });

  it("falls back to the OS home directory when HOME is unset", () => {
    expect(resolveStorageRoot(undefined, { env: {}, platform: "linux", homedir: "/root" })).toBe("/root/.tsm");
  });

  it("uses %USERPROFILE%\\.tsm on Windows", () => {
    expect(resolveStorageRoot(undefined, { env: { USERPROFILE: "C:\\Users\\Ann" }, platform: "win32", homedir: "C:\\x" })).toBe("C:\\Users\\Ann\\.tsm");
  });

  it("prefers the flag over TSM_STORAGE_PATH over the default", () => {
    const pe = { env: { HOME: "/h", TSM_STORAGE_PATH: "/from/env" }, platform: "linux" as const, homedir: "/h" };
    expect(resolveStorageRoot("/from/flag", pe)).toBe("/from/flag");
    expect(resolveStorageRoot(undefined, pe)).toBe("/from/env");
  });

  it("expands ~ and makes the path absolute and normalised", () => {
    expect(resolveStorageRoot("~/stores/a/", { env: { HOME: "/home/ann" }, platform: "linux", homedir: "/h" })).toBe("/home/ann/stores/a");
    expect(resolveStorageRoot("~\\st", { env: { USERPROFILE: "D:\\U" }, platform: "win32", homedir: "D:\\U" })).toBe("D:\\U\\st");
    expect(resolveStorageRoot("D:\\a\\..\\b", { env: {}, platform: "win32", homedir: "D:\\U" })).toBe("D:\\b");
  });
});

describe("storePaths", () => {
  it("lays out certs and machine files under the root (posix)", () => {
    const p = storePaths("/s", "linux");
    expect([p.caCert, p.caKey, p.clientCert, p.clientKey]).toEqual(["/s/certs/ca.pem", "/s/certs/ca-key.pem", "/s/certs/cert.pem", "/s/certs/key.pem"]);
    const m = p.machine("dev");
    expect([m.record, m.caCert, m.clientCert, m.clientKey, m.serverCert, m.serverKey]).toEqual([
      "/s/machines/dev/config.json",
      "/s/machines/dev/ca.pem",
      "/s/machines/dev/cert.pem",
      "/s/machines/dev/key.pem",
      "/s/machines/dev/server.pem",
      "/s/machines/dev/server-key.pem",
    ]);
    expect(p.locksDir).toBe("/s/locks");
  });

  it("uses backslashes on Windows", () => {
    const p = storePaths("C:\\Users\\Ann\\.tsm", "win32");
    expect(p.machine("dev").record).toBe("C:\\Users\\Ann\\.tsm\\machines\\dev\\config.json");
    expect(p.caCert).toBe("C:\\Users\\Ann\\.tsm\\certs\\ca.pem");
  });
});
