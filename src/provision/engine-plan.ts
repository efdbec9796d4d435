/**
 * The engine plan: what dockerd gets on a host, whichever init system runs it.
 * Contract: `planEngine` turns a machine's engine options into an EnginePlan (the
 * daemon.json values, the dockerd arguments, the environment) or throws
 * InvalidEngineOptionError; `renderDaemonJson` and `stripDaemonJson` merge the plan
 * into, or take tsm's keys out of, the host's existing /etc/docker/daemon.json, or
 * throw EngineConfigConflictError. Pure: no I/O and no init-system syntax (the
 * plan is rendered by systemd-unit.ts and openrc.ts). The option rules themselves
 * are engine-rules.ts.
 *
 * Where each setting goes, and why:
 * - daemon.json carries TLS, labels, registries and the storage driver. JSON holds
 *   any string exactly, so those values need no shell or systemd quoting at all.
 * - The listening addresses (`-H`) and every `--engine-opt` go on dockerd's command
 *   line: Debian's docker.service runs `dockerd -H fd://`, and dockerd refuses a
 *   setting given both as a flag and in daemon.json ("the following directives
 *   are specified both as a flag and in the configuration file"), so `hosts` can
 *   never live in daemon.json while a unit passes -H.
 * - `-H fd://` when a docker.socket unit exists: systemd owns /run/docker.sock and
 *   hands it over (socket activation keeps working). Docker Machine passed
 *   `-H unix:///var/run/docker.sock` next to docker.socket and raced it.
 */
import { assertPrintable, labelKey, parseEngineEnv, parseEngineOpt } from "./engine-rules.js";
import { EngineConfigConflictError, InvalidEngineOptionError } from "./errors.js";
import { PATHS } from "./paths.js";

/** The keys of daemon.json tsm owns: removed from an existing file, then written with tsm's values (when it has any). */
export const TSM_DAEMON_KEYS = [
  "hosts",
  "tls",
  "tlsverify",
  "tlscacert",
  "tlscert",
  "tlskey",
  "labels",
  "insecure-registries",
  "registry-mirrors",
  "storage-driver",
] as const;

/**
 * dockerd list flags whose daemon.json key is not the flag name (dockerd's
 * NamedOption names). Any other flag uses its own name as the key.
 */
const FLAG_TO_JSON_KEY: Record<string, string> = {
  D: "debug",
  G: "group",
  l: "log-level",
  s: "storage-driver",
  label: "labels",
  "insecure-registry": "insecure-registries",
  "registry-mirror": "registry-mirrors",
  "storage-opt": "storage-opts",
  "log-opt": "log-opts",
  "exec-opt": "exec-opts",
  "dns-opt": "dns-opts",
  "default-ulimit": "default-ulimits",
  "add-runtime": "runtimes",
  "authorization-plugin": "authorization-plugins",
  "node-generic-resource": "node-generic-resources",
  "default-address-pool": "default-address-pools",
  "cluster-store-opt": "cluster-store-opts",
  feature: "features",
  "cdi-spec-dir": "cdi-spec-dirs",
};

export interface EngineSettings {
  port: number;
  opts: readonly string[];
  env: readonly string[];
  labels: readonly string[];
  insecureRegistries: readonly string[];
  registryMirrors: readonly string[];
  storageDriver: string;
}

/** What the engine options become: daemon.json values, dockerd arguments, environment. */
export interface EnginePlan {
  port: number;
  /** The daemon.json keys tsm writes, in output order. */
  daemonJson: Record<string, unknown>;
  /** dockerd arguments from --engine-opt, one element per argument, unquoted. */
  args: string[];
  /** daemon.json keys removed because an --engine-opt sets the same setting as a flag. */
  displacedKeys: string[];
  env: Array<{ name: string; value: string }>;
}

/**
 * The listeners tsm always gives dockerd, unquoted: a local socket (`fd://` or the
 * unix socket), then mutual TLS on every interface at the plan's port.
 */
export function listenerArgs(local: string, plan: Pick<EnginePlan, "port">): string[] {
  return ["-H", local, "-H", `tcp://0.0.0.0:${plan.port}`];
}

/** The labels with provider=<driver> added; dockerd refuses two values for one label key, an identical duplicate is dropped. */
function finalLabels(labels: readonly string[], driverName: string): string[] {
  const provider = `provider=${driverName}`;
  const seen = new Map<string, string>();
  const out: string[] = [];
  for (const l of [...labels, provider]) {
    const key = labelKey(l);
    const prev = seen.get(key);
    if (prev === undefined) {
      seen.set(key, l);
      out.push(l);
    } else if (prev !== l) {
      throw new InvalidEngineOptionError(
        key === "provider"
          ? `The engine label ${JSON.stringify(prev)} conflicts with "${provider}", which tsm sets`
          : `The engine labels ${JSON.stringify(prev)} and ${JSON.stringify(l)} give two values to one key`,
      );
    }
  }
  return out;
}

/**
 * Turns the engine options into a plan. Validates before anything is changed on a
 * host: control characters, option names, settings tsm manages itself. Options
 * that are really daemon.json settings (`label`, `insecure-registry`,
 * `registry-mirror`, `storage-driver`) join their daemon.json key instead of
 * becoming flags, since the flag and the key cannot both be set.
 */
export function planEngine(engine: EngineSettings, driverName: string): EnginePlan {
  const labels: string[] = [];
  const insecure = [...engine.insecureRegistries];
  const mirrors = [...engine.registryMirrors];
  let storageDriver = engine.storageDriver;
  const args: string[] = [];
  const displaced = new Set<string>();

  for (const l of engine.labels) {
    assertPrintable("The engine label", l);
    labels.push(l);
  }
  for (const r of [...insecure, ...mirrors]) assertPrintable("The registry", r);
  assertPrintable("The storage driver", storageDriver);

  for (const opt of engine.opts) {
    const { name, value } = parseEngineOpt(opt);
    if (value !== undefined && name === "label") labels.push(value);
    else if (value !== undefined && name === "insecure-registry") insecure.push(value);
    else if (value !== undefined && name === "registry-mirror") mirrors.push(value);
    else if (value !== undefined && (name === "storage-driver" || name === "s")) {
      if (storageDriver !== "" && storageDriver !== value) {
        throw new InvalidEngineOptionError(
          `--engine-opt ${JSON.stringify(opt)} conflicts with --engine-storage-driver ${JSON.stringify(storageDriver)}`,
        );
      }
      storageDriver = value;
    } else {
      args.push(value === undefined ? `--${name}` : `--${name}=${value}`);
      displaced.add(FLAG_TO_JSON_KEY[name] ?? name);
    }
  }

  const daemonLabels = finalLabels(labels, driverName);
  const env = engine.env.map(parseEngineEnv);

  const daemonJson: Record<string, unknown> = {
    tlsverify: true,
    tlscacert: PATHS.caCert,
    tlscert: PATHS.serverCert,
    tlskey: PATHS.serverKey,
    labels: daemonLabels,
  };
  if (insecure.length > 0) daemonJson["insecure-registries"] = insecure;
  if (mirrors.length > 0) daemonJson["registry-mirrors"] = mirrors;
  if (storageDriver !== "") daemonJson["storage-driver"] = storageDriver;

  for (const k of TSM_DAEMON_KEYS) displaced.delete(k);
  return { port: engine.port, daemonJson, args, displacedKeys: [...displaced], env };
}

function parseDaemonJson(existing: string | undefined): Record<string, unknown> {
  if (existing === undefined || existing.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(existing);
  } catch (err) {
    throw new EngineConfigConflictError(
      `${PATHS.daemonJson} on the host is not valid JSON (${(err as Error).message}): fix or remove it, then provision again`,
    );
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new EngineConfigConflictError(`${PATHS.daemonJson} on the host is not a JSON object: fix or remove it, then provision again`);
  }
  return parsed as Record<string, unknown>;
}

function jsonText(value: Record<string, unknown>): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export interface DaemonJsonResult {
  text: string;
  /** Keys of the existing file dropped because an --engine-opt now sets them as a flag. */
  removedKeys: string[];
}

/**
 * The new daemon.json: the existing file's keys that tsm does not own (in their
 * order), then tsm's keys. Keys an --engine-opt sets as a flag are dropped, since
 * dockerd refuses a setting given both ways. Throws EngineConfigConflictError
 * when the existing text is not a JSON object (tsm never overwrites a file it
 * cannot read).
 */
export function renderDaemonJson(existing: string | undefined, plan: EnginePlan): DaemonJsonResult {
  const current = parseDaemonJson(existing);
  const owned = new Set<string>(TSM_DAEMON_KEYS);
  const displaced = new Set(plan.displacedKeys);
  const out: Record<string, unknown> = {};
  const removedKeys: string[] = [];
  for (const [k, v] of Object.entries(current)) {
    if (owned.has(k)) continue;
    if (displaced.has(k)) {
      removedKeys.push(k);
      continue;
    }
    out[k] = v;
  }
  Object.assign(out, plan.daemonJson);
  return { text: jsonText(out), removedKeys };
}

/**
 * daemon.json without tsm's keys (for `rm --remove-engine-config`); undefined when
 * nothing else is left, meaning the file should be deleted.
 */
export function stripDaemonJson(existing: string | undefined): string | undefined {
  const current = parseDaemonJson(existing);
  const owned = new Set<string>(TSM_DAEMON_KEYS);
  const out = Object.fromEntries(Object.entries(current).filter(([k]) => !owned.has(k)));
  return Object.keys(out).length === 0 ? undefined : jsonText(out);
}
