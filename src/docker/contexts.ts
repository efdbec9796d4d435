/**
 * The docker CLI's context store, written the way the docker CLI reads it
 * (docker/cli cli/context/store), so `docker --context NAME` and `docker context ls`
 * see what tsm writes without tsm running the docker CLI:
 *
 *   <config>/contexts/meta/<sha256(name)>/meta.json
 *       {"Name":..,"Metadata":{..},"Endpoints":{"docker":{"Host":..,"SkipTLSVerify":false}}}
 *   <config>/contexts/tls/<sha256(name)>/docker/{ca.pem,cert.pem,key.pem}   (0600)
 *   <config>/config.json                 "currentContext" (absent = the "default" context)
 *
 * where <config> is $DOCKER_CONFIG, else ~/.docker (dockerConfigDir).
 *
 * Contexts tsm writes carry a mark in their Metadata (`"tsm": {"machine","store"}`); a
 * context without tsm's mark for the same machine of the same store is someone else's,
 * and the writer neither replaces nor removes it (`ownership`). The docker CLI keeps
 * unknown Metadata keys when it rewrites a context, so the mark survives
 * `docker context update`.
 *
 * Each file is replaced atomically (src/store/atomic.ts). A context appears when its
 * meta.json does, so the TLS files are written first and meta.json last; removal goes
 * the other way. config.json is edited, never rewritten from scratch: every other key is
 * kept, and a file that is not a JSON object is refused, not replaced.
 *
 * Synchronous fs, like the store: small local files.
 */
import { createHash } from "node:crypto";
import { lstatSync, readFileSync, realpathSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { TsmError } from "../model/errors.js";
import { cleanTemps, makeDir, writeFileAtomic } from "../store/atomic.js";

/** The docker CLI's built-in context: the local engine (or DOCKER_HOST). It has no files. */
export const DEFAULT_CONTEXT = "default";

/** The docker CLI's rule for context names (store.ValidateContextName). */
const CONTEXT_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$/;

/** tsm's mark in a context's Metadata: which machine of which store it belongs to. */
export interface ContextMark {
  readonly machine: string;
  /** The store's root directory (absolute): two stores may each have a machine "a". */
  readonly store: string;
}

export interface ContextTls {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

export interface ContextSpec {
  readonly name: string;
  readonly description: string;
  /** The docker endpoint: tcp://HOST:PORT, verified with `tls`. */
  readonly host: string;
  readonly tls: ContextTls;
  readonly mark: ContextMark;
}

/** Whose a context is: none (absent), tsm's for this machine (ours), or someone else's (with why). */
export type Ownership = { readonly kind: "absent" } | { readonly kind: "ours" } | { readonly kind: "foreign"; readonly why: string };

/** What meta.json says (the docker CLI's field names). */
export interface StoredContext {
  readonly Name?: unknown;
  readonly Metadata?: unknown;
  readonly Endpoints?: unknown;
}

/** The docker CLI's configuration directory: $DOCKER_CONFIG, else ~/.docker (`home` is the user's home directory). */
export function dockerConfigDir(env: Readonly<Record<string, string | undefined>>, home: string): string {
  const given = env.DOCKER_CONFIG;
  return given ? path.resolve(given) : path.join(home, ".docker");
}

/** The directory name the docker CLI gives a context: the hex SHA-256 of its name. */
export function contextId(name: string): string {
  return createHash("sha256").update(name, "utf8").digest("hex");
}

export class DockerContextStore {
  constructor(readonly configDir: string) {}

  get configFile(): string {
    return path.join(this.configDir, "config.json");
  }

  metaDir(name: string): string {
    return path.join(this.configDir, "contexts", "meta", contextId(name));
  }

  tlsDir(name: string): string {
    return path.join(this.configDir, "contexts", "tls", contextId(name));
  }

  /** The stored context, undefined when there is none. Throws for a meta.json that is not JSON. */
  read(name: string): StoredContext | undefined {
    const file = path.join(this.metaDir(name), "meta.json");
    const text = readIfThere(file);
    if (text === undefined) return undefined;
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) return parsed as StoredContext;
    } catch {
      // reported below
    }
    throw new TsmError("DOCKER_CONTEXT", `The Docker context "${name}" is unreadable (${file} is not a JSON object): fix or remove it with "docker context rm ${name}"`);
  }

  /** Does the docker CLI know a context of this name? ("default" always exists.) */
  exists(name: string): boolean {
    if (name === DEFAULT_CONTEXT) return true;
    return readIfThere(path.join(this.metaDir(name), "meta.json")) !== undefined;
  }

  /** Whose the context `name` is, for the machine `mark` names. */
  ownership(name: string, mark: ContextMark): Ownership {
    let stored: StoredContext | undefined;
    try {
      stored = this.read(name);
    } catch {
      return { kind: "foreign", why: "its meta.json is unreadable" };
    }
    if (stored === undefined) return { kind: "absent" };
    const found = markOf(stored);
    if (found === undefined) return { kind: "foreign", why: "tsm did not create it" };
    if (found.store !== mark.store) return { kind: "foreign", why: `it belongs to the tsm store ${found.store}` };
    if (found.machine !== mark.machine) return { kind: "foreign", why: `it belongs to the machine "${found.machine}"` };
    return { kind: "ours" };
  }

  /**
   * Creates or replaces the context `spec.name` with the machine's endpoint and TLS
   * material, unless a context of that name is someone else's (returned, nothing written).
   */
  write(spec: ContextSpec): Ownership {
    if (!CONTEXT_NAME.test(spec.name) || spec.name === DEFAULT_CONTEXT) {
      throw new TsmError("DOCKER_CONTEXT", `"${spec.name}" cannot be a Docker context name`);
    }
    const owner = this.ownership(spec.name, spec.mark);
    if (owner.kind === "foreign") return owner;
    const endpointDir = path.join(this.tlsDir(spec.name), "docker");
    makeDir(endpointDir);
    // A crashed writer's temporary file would be listed as TLS data by older docker CLIs.
    cleanTemps(endpointDir);
    writeFileAtomic(path.join(endpointDir, "ca.pem"), spec.tls.ca, { mode: 0o600 });
    writeFileAtomic(path.join(endpointDir, "cert.pem"), spec.tls.cert, { mode: 0o600 });
    writeFileAtomic(path.join(endpointDir, "key.pem"), spec.tls.key, { mode: 0o600 });
    const metaDir = this.metaDir(spec.name);
    makeDir(metaDir);
    const meta = {
      Name: spec.name,
      Metadata: { Description: spec.description, tsm: { machine: spec.mark.machine, store: spec.mark.store } },
      Endpoints: { docker: { Host: spec.host, SkipTLSVerify: false } },
    };
    writeFileAtomic(path.join(metaDir, "meta.json"), JSON.stringify(meta), { mode: 0o644 });
    return owner;
  }

  /** Removes the context if it is tsm's for `mark`'s machine; someone else's is returned untouched. */
  remove(name: string, mark: ContextMark): Ownership {
    const owner = this.ownership(name, mark);
    if (owner.kind !== "ours") {
      if (owner.kind === "absent") removeTree(this.tlsDir(name)); // what a write stopped before its meta.json left
      return owner;
    }
    // The context disappears with its meta.json; its TLS files follow.
    removeTree(this.metaDir(name));
    removeTree(this.tlsDir(name));
    return owner;
  }

  /** The docker CLI's current context from config.json ("default" when it names none). */
  current(): string {
    const config = this.readConfig();
    const value = config?.currentContext;
    return typeof value === "string" && value !== "" ? value : DEFAULT_CONTEXT;
  }

  /**
   * Makes `name` the current context in config.json, keeping every other key (and the
   * file's mode; a symbolic link is followed). "default" removes the key, as
   * `docker context use default` does.
   */
  setCurrent(name: string): void {
    const config = this.readConfig() ?? {};
    if (name === DEFAULT_CONTEXT) delete config.currentContext;
    else config.currentContext = name;
    const target = resolveLink(this.configFile);
    let mode = 0o600;
    try {
      mode = statSync(target).mode & 0o777;
    } catch {
      makeDir(path.dirname(target));
    }
    writeFileAtomic(target, `${JSON.stringify(config, null, "\t")}\n`, { mode });
  }

  /** config.json as an object; undefined when there is none. Throws for a file that is not a JSON object. */
  private readConfig(): Record<string, unknown> | undefined {
    const text = readIfThere(this.configFile);
    if (text === undefined || text.trim() === "") return undefined;
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    } catch {
      // reported below
    }
    throw new TsmError("DOCKER_CONTEXT", `${this.configFile} is not a JSON object, so tsm leaves it alone: fix it, then retry`);
  }
}

/** tsm's mark in a stored context, if it has one. */
export function markOf(stored: StoredContext): ContextMark | undefined {
  const metadata = stored.Metadata;
  if (metadata === null || typeof metadata !== "object") return undefined;
  const mark = (metadata as Record<string, unknown>).tsm;
  if (mark === null || typeof mark !== "object") return undefined;
  const { machine, store } = mark as Record<string, unknown>;
  return typeof machine === "string" && typeof store === "string" ? { machine, store } : undefined;
}

function readIfThere(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw new TsmError("DOCKER_CONTEXT", `Cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
}

function resolveLink(file: string): string {
  try {
    return lstatSync(file).isSymbolicLink() ? realpathSync(file) : file;
  } catch {
    return file;
  }
}

function removeTree(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch (err) {
    throw new TsmError("DOCKER_CONTEXT", `Cannot remove ${dir}: ${(err as Error).message}`, { cause: err });
  }
}
