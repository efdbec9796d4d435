/**
 * src/store/atomic.ts: a replaced file is the old or the new one, a failed write leaves
 * nothing behind and names the file, and what a dead writer left is cleaned while a live
 * writer's temporary file is left alone.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileIoError } from "../../../src/model/errors.js";
import { cleanTemps, tempName, writeFileAtomic } from "../../../src/store/atomic.js";
import { tempDir } from "../../helpers/cli.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

/** The pid of a process that has exited. */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString());
}

describe("writeFileAtomic", () => {
  it("replaces the file with the given mode and leaves only it", () => {
    const file = path.join(dir, "key.pem");
    writeFileSync(file, "old");
    writeFileAtomic(file, "new", { mode: 0o600 });
    expect(readFileSync(file, "utf8")).toBe("new");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(["key.pem"]);
  });

  it("on failure names the file (or the path it is shown as), keeps the old content and leaves no temporary file", () => {
    const blocked = path.join(dir, "config.json");
    mkdirSync(blocked); // renaming a file over a directory fails
    const err = (() => {
      try {
        writeFileAtomic(blocked, "{}", { mode: 0o600, shownAs: "/shown/config.json" });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(FileIoError);
    expect((err as FileIoError).message).toMatch(/^Cannot write \/shown\/config\.json: /);
    expect(readdirSync(dir)).toEqual(["config.json"]);
  });
});

describe("FileIoError", () => {
  it("says the disk is full for ENOSPC, with its own code", () => {
    const e = new FileIoError("write", "/s/machines/m/config.json", Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" }));
    expect(e.code).toBe("DISK_FULL");
    expect(e.message).toBe("Cannot write /s/machines/m/config.json: the disk is full (ENOSPC). Free some space and run the command again");
    const other = new FileIoError("remove", "/s/x", Object.assign(new Error("EBUSY: resource busy"), { code: "EBUSY" }));
    expect(other.code).toBe("STORE");
    expect(other.message).toBe("Cannot remove /s/x: EBUSY: resource busy");
  });
});

describe("cleanTemps", () => {
  it("removes what dead writers and older tsm versions left, keeps live writers' files and everything else", () => {
    const dead = deadPid();
    const names = [
      `.tsm-tmp-${dead}-abc.server-key.pem`,
      `.tsm-tmp-${dead}-dir`,
      tempName("key.pem"), // this (live) process
      `.tsm-tmp-${process.ppid}-def.cert.pem`, // a live process
      "server-key.pem.1a2b3c4d", // write-file-atomic's temporary name
      "notes.txt.1a2b",
      "key.pem",
    ];
    for (const n of names) (n.endsWith("-dir") ? mkdirSync : (p: string) => writeFileSync(p, "x"))(path.join(dir, n));
    const removed = cleanTemps(dir, ["server-key.pem", "key.pem"]);
    expect(removed.sort()).toEqual([`.tsm-tmp-${dead}-abc.server-key.pem`, `.tsm-tmp-${dead}-dir`, "server-key.pem.1a2b3c4d"].sort());
    expect(readdirSync(dir).sort()).toEqual([names[2], names[3], "key.pem", "notes.txt.1a2b"].sort());
  });
});
