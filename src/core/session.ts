/**
 * Everything a command needs from the world, built once by the composition
 * root and passed down: no module below src/cli reads process globals.
 */
import os from "node:os";
import type { Exec } from "../exec/exec.js";
import type { SshConnector } from "../ssh/client.js";
import type { Io } from "../output/io.js";
import type { Progress } from "../output/progress.js";
import { FileStore } from "../store/file-store.js";
import { resolveStorageRoot, resolveUserPath, storePaths } from "../store/paths.js";
import { InterruptNote } from "../model/abort.js";
import type { OpContext } from "../model/driver.js";
import type { DriverRegistry } from "../model/registry.js";

export interface Session {
  readonly store: FileStore;
  readonly drivers: DriverRegistry;
  readonly exec: Exec;
  /** Opens SSH connections; the real one loads ssh2 on first use. */
  readonly ssh: SshConnector;
  readonly io: Io;
  /** Step lines of long operations (create, provision...): live on a terminal, plain otherwise. */
  readonly progress: Progress;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly platform: NodeJS.Platform;
  /** The command line as the user typed it, program name first (for usage hints). */
  readonly argv: readonly string[];
  readonly debug: boolean;
  readonly signal: AbortSignal;
  /** What stopping now would leave, for main.ts to say on a forced exit (model/abort.ts). */
  readonly interruptNote: InterruptNote;
  /** "docker-machine" when tsm runs as docker-machine (src/cli/support/compat.ts): Docker Machine's exit codes and words. */
  readonly compat: CompatMode;
  /** Use the built-in SSH client (ssh2) even where OpenSSH is installed (--native-ssh, MACHINE_NATIVE_SSH). */
  readonly nativeSsh: boolean;
  /** Bring-your-own CA and client pair (--tls-ca-cert... / MACHINE_TLS_*): absolute paths, each undefined = the store's file. */
  readonly tls: TlsPaths | undefined;
  now(): Date;
}

export interface TlsPaths {
  readonly caCert?: string | undefined;
  readonly caKey?: string | undefined;
  readonly clientCert?: string | undefined;
  readonly clientKey?: string | undefined;
}

export type CompatMode = "tsm" | "docker-machine";

/** What the composition root provides (src/cli/main.ts, or a test): the session minus the store and the --debug switch. */
export type SessionDeps = Omit<Session, "store" | "debug" | "now" | "interruptNote" | "compat" | "nativeSsh" | "tls"> & { readonly now?: () => Date; readonly interruptNote?: InterruptNote };

export interface SessionOptions {
  /** `--storage-path`; else TSM_STORAGE_PATH, else ~/.tsm (src/store/paths.ts). */
  storagePath?: string;
  debug: boolean;
  compat?: CompatMode;
  nativeSsh?: boolean;
  tls?: TlsPaths | undefined;
}

/** The one way a session is built: the deps plus the store the global options name. */
export function createSession(deps: SessionDeps, options: SessionOptions): Session {
  const pe = { env: deps.env, platform: deps.platform, homedir: os.homedir() };
  const root = resolveStorageRoot(options.storagePath, pe, options.compat ?? "tsm");
  return {
    ...deps,
    // A lock that keeps us waiting is reported as progress (stderr); our locks show other
    // processes our command line ("tsm create x", however tsm was started).
    store: new FileStore(storePaths(root, deps.platform), deps.drivers, {
      onWait: (message) => deps.progress.note(message),
      command: ["tsm", ...deps.argv.slice(1)].join(" "),
      signal: deps.signal,
    }),
    debug: options.debug,
    compat: options.compat ?? "tsm",
    nativeSsh: options.nativeSsh ?? false,
    tls: options.tls === undefined ? undefined : absoluteTlsPaths(options.tls, (f) => resolveUserPath(f, pe)),
    interruptNote: deps.interruptNote ?? new InterruptNote(),
    now: deps.now ?? (() => new Date()),
  };
}

function absoluteTlsPaths(t: TlsPaths, abs: (f: string) => string): TlsPaths {
  const a = (f: string | undefined) => (f === undefined || f === "" ? undefined : abs(f));
  return { caCert: a(t.caCert), caKey: a(t.caKey), clientCert: a(t.clientCert), clientKey: a(t.clientKey) };
}

/** An OpContext whose progress lines go to stderr, prefixed with the machine name when given. */
export function opContext(session: Session, machineName?: string, signal: AbortSignal = session.signal): OpContext {
  const prefix = machineName ? `(${machineName}) ` : "";
  return {
    signal,
    log: (line) => session.progress.step(`${prefix}${line}`),
    debug: (line) => {
      if (session.debug) session.progress.note(`${prefix}DBG | ${line}`);
    },
    display: {
      // A getter: asking whether stderr is a terminal loads Node's stream modules, which
      // commands that never draw progress (env, url) must not pay for at start-up.
      get isTty() {
        return session.io.stderrIsTTY;
      },
      progress: {
        step: (t) => session.progress.step(`${prefix}${t}`),
        update: (t) => session.progress.update(`${prefix}${t}`),
        note: (t) => session.progress.note(t),
        above: (t) => session.progress.above(t),
        finish: (ok) => session.progress.finish(ok),
      },
    },
  };
}
