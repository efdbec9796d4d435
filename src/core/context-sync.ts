/**
 * Each machine's Docker context (`tsm-NAME`), kept in step with the machine: written at the
 * end of create, rewritten when its address or certificates change (after a start that
 * changed the driver's settings, regenerate-certs), removed with the machine. `tsm use`
 * makes one current and `tsm use --unset` goes back to the context the user had before,
 * which tsm remembers in the store (docker-context.json). The files are
 * src/docker/contexts.ts's.
 *
 * The contract with the machine operations: a context is a convenience, so a failure here
 * is a warning on stderr and never fails the create, start, regenerate-certs or rm that
 * asked for it (`tsm use` does fail: the context is what it was asked for). Contexts tsm
 * did not create are never written or removed (their mark says whose they are), and
 * removing the machine whose context is current switches back to the remembered previous
 * context (or "default"), so the docker CLI is never left on a dead context.
 *
 * TSM_NO_CONTEXTS=1 turns all of this off: tsm then neither reads nor writes the docker
 * CLI's files (and `tsm use` refuses).
 *
 * Locks: the machine's context is written under the machine's lock (the callers hold it);
 * config.json and the remembered previous context change under the store lock, taken
 * inside the machine lock where both are needed (the store's lock order).
 */
import os from "node:os";
import path from "node:path";
import { readFileSync } from "node:fs";
import type { EngineTls } from "../docker/engine-api.js";
import { DEFAULT_CONTEXT, DockerContextStore, dockerConfigDir, type ContextMark } from "../docker/contexts.js";
import { TsmError, UsageError } from "../model/errors.js";
import { writeFileAtomic } from "../store/atomic.js";
import { parseBool } from "../model/options.js";
import type { Machine } from "./machine.js";
import { opContext, type Session } from "./session.js";

/** The Docker context of machine `name`. */
export function contextName(name: string): string {
  return `tsm-${name}`;
}

/** Is contexts' upkeep turned off (TSM_NO_CONTEXTS set to a true value)? */
export function contextsDisabled(env: Readonly<Record<string, string | undefined>>): boolean {
  const value = env.TSM_NO_CONTEXTS;
  if (value === undefined || value === "") return false;
  try {
    return parseBool("TSM_NO_CONTEXTS", value);
  } catch {
    return true; // a value that is neither true nor false still asks for something: leave the files alone
  }
}

function contextStore(session: Session): DockerContextStore {
  const home = session.platform === "win32" ? session.env.USERPROFILE || os.homedir() : session.env.HOME || os.homedir();
  return new DockerContextStore(dockerConfigDir(session.env, home));
}

function markFor(session: Session, name: string): ContextMark {
  return { machine: name, store: session.store.paths.root };
}

function warn(session: Session, what: string, err: unknown): void {
  session.io.err(`Warning: ${what}: ${(err as Error).message}\n`);
}

/**
 * Writes (or refreshes) the machine's context, if its certificates exist; a failure is a
 * warning. `announce` (create) says that the context is there and how to use it.
 */
export async function syncMachineContext(session: Session, machine: Machine, options: { announce?: boolean } = {}): Promise<void> {
  if (contextsDisabled(session.env)) return;
  const name = machine.record.name;
  try {
    const p = machine.paths;
    let tls: EngineTls;
    try {
      tls = { ca: readFileSync(p.caCert, "utf8"), cert: readFileSync(p.clientCert, "utf8"), key: readFileSync(p.clientKey, "utf8") };
    } catch {
      return; // no certificates yet (a create that stopped early): no context until there are
    }
    const host = await machine.driver.getUrl(opContext(session, name));
    const written = writeContext(session, machine, host, tls);
    if (written && options.announce) session.progress.note(`Docker context "${contextName(name)}" is ready: "tsm use ${name}" makes it the current one.`);
  } catch (err) {
    warn(session, `the Docker context "${contextName(name)}" was not updated`, err);
  }
}

/** Writes the context; false (after a warning) when the name is someone else's context. */
function writeContext(session: Session, machine: Machine, host: string, tls: EngineTls): boolean {
  const name = machine.record.name;
  const ctxName = contextName(name);
  const owner = contextStore(session).write({
    name: ctxName,
    description: `tsm machine ${name} (${machine.record.driver.name})`,
    host,
    tls,
    mark: markFor(session, name),
  });
  if (owner.kind === "foreign") {
    session.io.err(`Warning: the Docker context "${ctxName}" is left alone: ${owner.why}. Remove it ("docker context rm ${ctxName}") for tsm to keep one for "${name}".\n`);
    return false;
  }
  return true;
}

/**
 * After `rm`: removes the machine's context if it is tsm's; when it was the current one,
 * first switches back to the previous context and says so. A failure is a warning.
 */
export async function removeMachineContext(session: Session, name: string): Promise<void> {
  if (contextsDisabled(session.env)) return;
  const ctxName = contextName(name);
  try {
    const docker = contextStore(session);
    const mark = markFor(session, name);
    if (docker.ownership(ctxName, mark).kind !== "ours") return;
    if (docker.current() === ctxName) {
      await session.store.withStoreLock(async () => {
        const to = restorePrevious(session, docker);
        session.io.err(`The current Docker context was "${ctxName}": switched back to "${to.name}"${to.note}.\n`);
      });
    }
    docker.remove(ctxName, mark);
  } catch (err) {
    warn(session, `the Docker context "${ctxName}" was not removed`, err);
  }
}

export interface UseResult {
  context: string;
  /** The context `tsm use --unset` goes back to. */
  previous: string;
}

/** `tsm use NAME`: writes the machine's context from its checked connection (its URL and the client's TLS material it read) and makes it current. */
export async function useMachineContext(session: Session, machine: Machine, url: string, tls: EngineTls): Promise<UseResult> {
  refuseWhenDisabled(session);
  const name = machine.record.name;
  return session.store.withMachineLock(name, async () => {
    const ctxName = contextName(name);
    if (!writeContext(session, machine, url, tls)) {
      throw new TsmError("DOCKER_CONTEXT", `The Docker context "${ctxName}" is not tsm's, so tsm cannot make it "${name}"'s: remove it with "docker context rm ${ctxName}" and retry`);
    }
    return session.store.withStoreLock(async () => {
      const docker = contextStore(session);
      const current = docker.current();
      const remembered = readPrevious(session);
      // Switching from one tsm machine to another keeps the context the user came from.
      const previous = isOurs(session, docker, current) ? (remembered ?? DEFAULT_CONTEXT) : current;
      if (previous !== remembered) writePrevious(session, previous);
      docker.setCurrent(ctxName);
      return { context: ctxName, previous };
    });
  });
}

export interface UnsetResult {
  /** The context that was current; undefined when it was not tsm's (nothing changed). */
  from?: string;
  to: string;
  note: string;
}

/** `tsm use --unset`: from a tsm context back to the remembered previous one (or "default"). */
export async function unsetContext(session: Session): Promise<UnsetResult> {
  refuseWhenDisabled(session);
  return session.store.withStoreLock(async () => {
    const docker = contextStore(session);
    const current = docker.current();
    if (!isOurs(session, docker, current)) return { to: current, note: "" };
    const to = restorePrevious(session, docker);
    return { from: current, to: to.name, note: to.note };
  });
}

/** The docker CLI's current context as tsm sees it (for messages). */
export function currentContext(session: Session): string {
  return contextStore(session).current();
}

function refuseWhenDisabled(session: Session): void {
  if (contextsDisabled(session.env)) {
    throw new UsageError(`Docker contexts are turned off (TSM_NO_CONTEXTS=${session.env.TSM_NO_CONTEXTS}): unset it to use "tsm use", or point docker at a machine with "tsm env"`);
  }
}

/** Is `context` a context tsm made for a machine of this store? */
function isOurs(session: Session, docker: DockerContextStore, context: string): boolean {
  if (!context.startsWith("tsm-")) return false;
  return docker.ownership(context, markFor(session, context.slice("tsm-".length))).kind === "ours";
}

/** Under the store lock: makes the remembered previous context current again (default if it is gone) and forgets it. */
function restorePrevious(session: Session, docker: DockerContextStore): { name: string; note: string } {
  const remembered = readPrevious(session) ?? DEFAULT_CONTEXT;
  const usable = docker.exists(remembered) && !isDeadMachineContext(session, docker, remembered);
  const name = usable ? remembered : DEFAULT_CONTEXT;
  docker.setCurrent(name);
  writePrevious(session, undefined);
  return { name, note: usable ? "" : ` (the previous one, "${remembered}", no longer exists)` };
}

/** A tsm context of this store whose machine is gone (never a context to go back to). */
function isDeadMachineContext(session: Session, docker: DockerContextStore, context: string): boolean {
  return isOurs(session, docker, context) && !existsMachine(session, context.slice("tsm-".length));
}

function existsMachine(session: Session, name: string): boolean {
  try {
    readFileSync(session.store.paths.machine(name).record);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- the remembered previous context

function previousFile(session: Session): string {
  return path.join(session.store.paths.root, "docker-context.json");
}

function readPrevious(session: Session): string | undefined {
  try {
    const parsed = JSON.parse(readFileSync(previousFile(session), "utf8")) as { previous?: unknown };
    return typeof parsed.previous === "string" && parsed.previous !== "" ? parsed.previous : undefined;
  } catch {
    return undefined;
  }
}

function writePrevious(session: Session, previous: string | undefined): void {
  const file = previousFile(session);
  if (previous === undefined) {
    try {
      readFileSync(file);
    } catch {
      return; // nothing remembered, nothing to forget
    }
  }
  writeFileAtomic(file, `${JSON.stringify(previous === undefined ? {} : { previous })}\n`, { mode: 0o600 });
}
