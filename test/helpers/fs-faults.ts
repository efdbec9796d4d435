/**
 * File-system faults at exact points of the built tsm (fs-faults.cjs, preloaded with
 * node --require): SIGKILL right before a file is renamed into place, a full disk on
 * one file's write, a process held still in the middle of a create while another
 * command looks at the store.
 */
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const PRELOAD = fileURLToPath(new URL("./fs-faults.cjs", import.meta.url));

export interface FsFault {
  /** rename: the destination's basename; unlink: the removed file's; write: the file a descriptor was opened on. */
  op: "rename" | "unlink" | "write";
  /** A regular expression tested against that basename. */
  name: string;
  /** Before (default) or after the operation. */
  when?: "before" | "after";
  /** Fire on the nth matching operation only (default 1). */
  nth?: number;
  /** Send this signal to the process (no handler: the process dies at this point). */
  signal?: "SIGKILL" | "SIGTERM";
  /** Fail the operation with ENOSPC, as a full disk does. */
  enospc?: boolean;
  /** Stop the process here until this file exists (at most 30 s). */
  holdUntil?: string;
  /** Write this file when the rule fires (so a test knows the process got there). */
  touch?: string;
}

/** The environment that makes the built tsm run with these faults. */
export function faultEnv(faults: readonly FsFault[]): Record<string, string> {
  return { NODE_OPTIONS: `--require ${PRELOAD}`, TSM_TEST_FS_FAULTS: JSON.stringify(faults) };
}

/** Resolves once `file` exists (a fault's `touch`), failing after `ms`. */
export async function waitForFile(file: string, ms = 20_000): Promise<void> {
  const limit = Date.now() + ms;
  while (!existsSync(file)) {
    if (Date.now() > limit) throw new Error(`timed out waiting for ${file}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Lets a process held by `holdUntil` go on. */
export function release(file: string): Promise<void> {
  return writeFile(file, "go\n");
}
