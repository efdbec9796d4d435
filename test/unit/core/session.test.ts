/** createSession: the one way a Session is built from the composition root's deps. */
import { describe, expect, it } from "vitest";
import { createSession, opContext, type SessionDeps } from "../../../src/core/session.js";
import { DriverRegistry } from "../../../src/model/registry.js";

function deps(env: Record<string, string | undefined>, now?: () => Date): SessionDeps {
  const lines: string[] = [];
  return {
    io: { out: () => undefined, err: () => undefined, stdoutIsTTY: false, stderrIsTTY: false, stdinIsTTY: false, readLine: async () => undefined },
    progress: { step: (t) => void lines.push(t), update: () => undefined, note: (t) => void lines.push(t), above: () => undefined, finish: () => undefined },
    drivers: new DriverRegistry(),
    exec: async () => Promise.reject(new Error("no exec")),
    ssh: async () => Promise.reject(new Error("no ssh")),
    env,
    platform: "linux",
    argv: ["tsm"],
    signal: new AbortController().signal,
    ...(now ? { now } : {}),
  };
}

describe("createSession", () => {
  it("puts the store at --storage-path, else TSM_STORAGE_PATH, else ~/.tsm", () => {
    expect(createSession(deps({ TSM_STORAGE_PATH: "/from/env" }), { storagePath: "/from/flag", debug: false }).store.paths.root).toBe("/from/flag");
    expect(createSession(deps({ TSM_STORAGE_PATH: "/from/env" }), { debug: false }).store.paths.root).toBe("/from/env");
    expect(createSession(deps({ HOME: "/home/u" }), { debug: false }).store.paths.root).toBe("/home/u/.tsm");
  });

  it("keeps the deps as given, adds debug, and a clock when none was given", () => {
    const d = deps({ HOME: "/h" }, () => new Date("2020-01-01T00:00:00Z"));
    const s = createSession(d, { debug: true });
    expect(s.io).toBe(d.io);
    expect(s.drivers).toBe(d.drivers);
    expect(s.debug).toBe(true);
    expect(s.now().toISOString()).toBe("2020-01-01T00:00:00.000Z");
    const t = createSession(deps({ HOME: "/h" }), { debug: false }).now().getTime();
    expect(Math.abs(t - Date.now())).toBeLessThan(5000);
  });

  it("debug lines reach progress only with debug on, prefixed with the machine name", () => {
    const d = deps({ HOME: "/h" });
    const noted: string[] = [];
    const withNotes = { ...d, progress: { ...d.progress, note: (t: string) => void noted.push(t) } };
    opContext(createSession(withNotes, { debug: false }), "m").debug("hidden");
    opContext(createSession(withNotes, { debug: true }), "m").debug("shown");
    expect(noted).toEqual(["(m) DBG | shown"]);
  });
});
