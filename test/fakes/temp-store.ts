/**
 * A core Session over a temporary store, built by the product's own createSession:
 * both output streams and every progress line are recorded, and the process seams
 * (exec, SSH) fail loudly unless a test hands in its own fake.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createSession, type Session } from "../../src/core/session.js";
import type { DriverDescriptor } from "../../src/model/driver.js";
import { DriverRegistry } from "../../src/model/registry.js";
import type { Io } from "../../src/output/io.js";
import type { Progress } from "../../src/output/progress.js";
import type { SshConnectOptions, SshConnector } from "../../src/ssh/client.js";

export interface TempStore {
  readonly session: Session;
  readonly root: string;
  /** What went to stdout and stderr (stderr includes progress `above` text). */
  readonly out: string[];
  readonly err: string[];
  /** Progress lines: "step: ...", "note: ...", "update: ...", "finish: true". */
  readonly progress: string[];
  /** Calls to seams the test did not provide. */
  readonly unexpected: string[];
  /** Every SSH connection asked for, in order. */
  readonly sshCalls: SshConnectOptions[];
  /** Does the machine directory exist? */
  hasMachine(name: string): boolean;
  cleanup(): Promise<void>;
}

export interface TempStoreOptions {
  drivers: readonly DriverDescriptor[];
  ssh?: SshConnector;
  env?: Record<string, string | undefined>;
  /** The command's signal (main.ts aborts it on Ctrl-C); default: never aborted. */
  signal?: AbortSignal;
}

export async function tempStore(options: TempStoreOptions): Promise<TempStore> {
  const root = await mkdtemp(path.join(os.tmpdir(), "tsm-core-"));
  const out: string[] = [];
  const err: string[] = [];
  const progressLines: string[] = [];
  const unexpected: string[] = [];
  const sshCalls: SshConnectOptions[] = [];
  const io: Io = {
    out: (t) => void out.push(t),
    err: (t) => void err.push(t),
    stdoutIsTTY: false,
    stderrIsTTY: false,
    stdinIsTTY: false,
    readLine: async () => undefined,
  };
  const progress: Progress = {
    step: (t) => void progressLines.push(`step: ${t}`),
    update: (t) => void progressLines.push(`update: ${t}`),
    note: (t) => void progressLines.push(`note: ${t}`),
    above: (t) => void err.push(t),
    finish: (ok) => void progressLines.push(`finish: ${ok}`),
  };
  const drivers = new DriverRegistry();
  for (const d of options.drivers) drivers.register(d);
  const session = createSession(
    {
      io,
      progress,
      drivers,
      exec: async (file, args) => {
        unexpected.push(`exec ${file} ${args.join(" ")}`);
        throw new Error(`unexpected exec: ${file}`);
      },
      ssh: async (o) => {
        sshCalls.push(o);
        if (options.ssh) return options.ssh(o);
        unexpected.push(`ssh ${o.target.user}@${o.target.host}:${o.target.port}`);
        throw new Error("unexpected SSH connection");
      },
      // TSM_NO_CONTEXTS: in-process tests leave the developer's ~/.docker alone (test/cli/contexts.test.ts covers contexts).
      env: { USER: "tsm-test", TSM_NO_CONTEXTS: "1", ...options.env },
      platform: process.platform,
      argv: ["tsm"],
      signal: options.signal ?? new AbortController().signal,
    },
    { storagePath: root, debug: false },
  );
  return {
    session,
    root,
    out,
    err,
    progress: progressLines,
    unexpected,
    sshCalls,
    hasMachine: (name) => existsSync(session.store.paths.machineDir(name)),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}
