/**
 * Pure renderers for Docker Engine's configuration on a host: /etc/docker/daemon.json,
 * the systemd drop-in, OpenRC's /etc/conf.d/docker, and the service definitions
 * used when dockerd comes from a static tarball.
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
import { EngineConfigConflictError, InvalidEngineOptionError } from "./errors.js";
import { shQuote } from "./remote.js";
import {
  assertPrintable,
  effectiveExecStart,
  environmentLine,
  quoteExecArg,
  splitCommandLine,
  type RawWord,
  type UnitFile,
  unitAssignments,
} from "./systemd-syntax.js";

/** Where tsm puts things on the host. */
export const PATHS = {
  dockerDir: "/etc/docker",
  caCert: "/etc/docker/ca.pem",
  serverCert: "/etc/docker/server.pem",
  serverKey: "/etc/docker/server-key.pem",
  daemonJson: "/etc/docker/daemon.json",
  dropInDir: "/etc/systemd/system/docker.service.d",
  dropIn: "/etc/systemd/system/docker.service.d/10-tsm.conf",
  /** Written only when the host has no docker.service (static binary install). */
  systemdUnit: "/etc/systemd/system/docker.service",
  openrcConf: "/etc/conf.d/docker",
  /** Written only when the host has no /etc/init.d/docker (static binary install). */
  openrcInit: "/etc/init.d/docker",
  unixSocket: "unix:///var/run/docker.sock",
  containerdSocket: "/run/containerd/containerd.sock",
  engineLog: "/var/log/docker.log",
} as const;

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

/** --engine-opt names tsm refuses: they would switch TLS off, move the listeners, or make dockerd ignore daemon.json. */
const MANAGED_OPTS: Record<string, string> = {
  H: "the listening addresses are set by tsm (-H fd:// or unix socket, plus tcp://0.0.0.0:<engine port>)",
  host: "the listening addresses are set by tsm (-H fd:// or unix socket, plus tcp://0.0.0.0:<engine port>)",
  tls: "TLS is set up by tsm",
  tlsverify: "TLS verification is always on",
  tlscacert: "the CA certificate is installed by tsm",
  tlscert: "the server certificate is installed by tsm",
  tlskey: "the server key is installed by tsm",
  "config-file": "tsm writes its settings to /etc/docker/daemon.json",
};

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

function splitOpt(opt: string): { name: string; value?: string } {
  const eq = opt.indexOf("=");
  return eq < 0 ? { name: opt } : { name: opt.slice(0, eq), value: opt.slice(eq + 1) };
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
    assertPrintable("The engine option", opt);
    const { name, value } = splitOpt(opt);
    if (!/^[A-Za-z0-9][A-Za-z0-9-]*$/.test(name)) {
      throw new InvalidEngineOptionError(`Invalid --engine-opt ${JSON.stringify(opt)}: expected NAME=VALUE with a dockerd flag name`);
    }
    const managed = MANAGED_OPTS[name];
    if (managed !== undefined) {
      throw new InvalidEngineOptionError(`--engine-opt ${JSON.stringify(opt)} is not allowed: ${managed}`);
    }
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

  // dockerd refuses two values for one label key; an identical duplicate is harmless and dropped.
  const provider = `provider=${driverName}`;
  const seen = new Map<string, string>();
  const finalLabels: string[] = [];
  for (const l of [...labels, provider]) {
    const eq = l.indexOf("=");
    const key = eq < 0 ? l : l.slice(0, eq);
    const prev = seen.get(key);
    if (prev === undefined) {
      seen.set(key, l);
      finalLabels.push(l);
    } else if (prev !== l) {
      throw new InvalidEngineOptionError(
        key === "provider"
          ? `The engine label ${JSON.stringify(prev)} conflicts with "${provider}", which tsm sets`
          : `The engine labels ${JSON.stringify(prev)} and ${JSON.stringify(l)} give two values to one key`,
      );
    }
  }

  const env = engine.env.map((e) => {
    const eq = e.indexOf("=");
    if (eq <= 0) throw new InvalidEngineOptionError(`Invalid --engine-env ${JSON.stringify(e)}: expected NAME=VALUE`);
    const name = e.slice(0, eq);
    const value = e.slice(eq + 1);
    environmentLine(name, value); // validates the name and refuses control characters
    return { name, value };
  });

  const daemonJson: Record<string, unknown> = {
    tlsverify: true,
    tlscacert: PATHS.caCert,
    tlscert: PATHS.serverCert,
    tlskey: PATHS.serverKey,
    labels: finalLabels,
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
  return { text: `${JSON.stringify(out, null, 2)}\n`, removedKeys };
}

/**
 * daemon.json without tsm's keys (for `rm --remove-engine-config`); undefined when
 * nothing else is left, meaning the file should be deleted.
 */
export function stripDaemonJson(existing: string | undefined): string | undefined {
  const current = parseDaemonJson(existing);
  const owned = new Set<string>(TSM_DAEMON_KEYS);
  const out = Object.fromEntries(Object.entries(current).filter(([k]) => !owned.has(k)));
  return Object.keys(out).length === 0 ? undefined : `${JSON.stringify(out, null, 2)}\n`;
}

/** Facts about the host's docker.service that the drop-in depends on. */
export interface SystemdFacts {
  /** Absolute path of dockerd as found on the host. */
  dockerdPath: string;
  /** A docker.socket unit exists: use `-H fd://` and let systemd own the unix socket. */
  socketActivation: boolean;
  /** The unit's ExecStart= value without tsm's drop-in, as written (undefined: none). */
  baseExecStart?: string;
}

/**
 * Flags of the original command line that tsm replaces, with the daemon.json key
 * each one collides with ("" for the listeners, which tsm always passes itself).
 */
const REPLACED_FLAGS: Record<string, { key: string; takesValue: boolean }> = {
  "-H": { key: "", takesValue: true },
  "--host": { key: "", takesValue: true },
  "--tls": { key: "tlsverify", takesValue: false },
  "--tlsverify": { key: "tlsverify", takesValue: false },
  "--tlscacert": { key: "tlscacert", takesValue: true },
  "--tlscert": { key: "tlscert", takesValue: true },
  "--tlskey": { key: "tlskey", takesValue: true },
  "--label": { key: "labels", takesValue: true },
  "--insecure-registry": { key: "insecure-registries", takesValue: true },
  "--registry-mirror": { key: "registry-mirrors", takesValue: true },
  "--storage-driver": { key: "storage-driver", takesValue: true },
  "-s": { key: "storage-driver", takesValue: true },
};

/**
 * The original command line's words that tsm keeps: everything but the listeners
 * and the flags whose setting tsm now writes to daemon.json (a flag and a
 * daemon.json key for one setting make dockerd refuse to start). Words are kept
 * as written: `$DOCKER_OPTS` stays a reference to the unit's EnvironmentFile,
 * `--containerd=/run/containerd/containerd.sock` stays.
 */
export function keptBaseWords(words: readonly RawWord[], writtenKeys: ReadonlySet<string>): RawWord[] {
  const kept: RawWord[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!.value;
    const eq = w.indexOf("=");
    const flag = w.startsWith("-") && eq > 0 ? w.slice(0, eq) : w;
    const replaced = REPLACED_FLAGS[flag];
    if (replaced && (replaced.key === "" || writtenKeys.has(replaced.key))) {
      if (replaced.takesValue && eq < 0) i++; // the value is the next word
      continue;
    }
    if (/^-H[^=]/.test(w)) continue; // -Hfd:// (shorthand with its value attached)
    kept.push(words[i]!);
  }
  return kept;
}

/** Splits an ExecStart= value into its prefix characters, program, argv[0] override and arguments. */
function parseExecStart(value: string): { prefix: string; argv0?: RawWord; program: RawWord; args: RawWord[] } | undefined {
  const words = splitCommandLine(value);
  const first = words[0];
  if (!first) return undefined;
  const prefix = /^[-@:+!]*/.exec(first.raw)![0];
  const program: RawWord = { raw: first.raw.slice(prefix.length), value: first.value.slice(prefix.length) };
  if (prefix.includes("@")) {
    const argv0 = words[1];
    return argv0 ? { prefix, argv0, program, args: words.slice(2) } : undefined;
  }
  return { prefix, program, args: words.slice(1) };
}

/** The command line dockerd gets under systemd, as one ExecStart= value. */
export function systemdExecStart(facts: SystemdFacts, plan: EnginePlan): string {
  if (!facts.dockerdPath.startsWith("/")) {
    throw new EngineConfigConflictError(`dockerd was found at ${JSON.stringify(facts.dockerdPath)}, which is not an absolute path`);
  }
  const base = facts.baseExecStart === undefined ? undefined : parseExecStart(facts.baseExecStart);
  const words: string[] = [`${base?.prefix ?? ""}${quoteExecArg(facts.dockerdPath)}`];
  if (base?.argv0) words.push(base.argv0.raw);
  words.push("-H", facts.socketActivation ? "fd://" : PATHS.unixSocket, "-H", `tcp://0.0.0.0:${plan.port}`);
  if (base) words.push(...keptBaseWords(base.args, new Set(Object.keys(plan.daemonJson))).map((w) => w.raw));
  words.push(...plan.args.map(quoteExecArg));
  return words.join(" ");
}

/**
 * /etc/systemd/system/docker.service.d/10-tsm.conf. `ExecStart=` (empty) first
 * resets the unit's command, then tsm's replaces it; Environment= lines add the
 * `--engine-env` variables.
 */
export function renderSystemdDropIn(facts: SystemdFacts, plan: EnginePlan): string {
  const lines = [
    "# Written by tsm; rewritten on every provisioning.",
    `# Docker Engine listens with mutual TLS on tcp://0.0.0.0:${plan.port}. TLS, labels, registries`,
    `# and the storage driver are in ${PATHS.daemonJson}; the listeners are here because`,
    "# dockerd refuses \"hosts\" in daemon.json while its unit passes -H.",
    "[Service]",
    ...plan.env.map((e) => environmentLine(e.name, e.value)),
    "ExecStart=",
    `ExecStart=${systemdExecStart(facts, plan)}`,
  ];
  return `${lines.join("\n")}\n`;
}

/** What tsm learns from the host's docker.service (`systemctl cat docker.service` split into files). */
export interface SystemdUnitFacts {
  /** The ExecStart= value without tsm's drop-in (undefined when the unit has none). */
  baseExecStart?: string;
  /** Drop-ins that systemd applies after tsm's and that set ExecStart=, which would undo tsm's. */
  overriddenBy: string[];
}

/**
 * Reads the unit files: the command line without tsm's drop-in, and the drop-ins
 * that would override tsm's ExecStart= (same directory order systemd uses: by
 * file name, whichever directory holds it).
 */
export function systemdUnitFacts(files: readonly UnitFile[]): SystemdUnitFacts {
  const ours = PATHS.dropIn;
  const oursName = ours.slice(ours.lastIndexOf("/") + 1);
  const base = effectiveExecStart(files, ours);
  const overriddenBy = files
    .filter((f) => f.path !== ours && /\.service\.d\/[^/]+\.conf$/.test(f.path))
    .filter((f) => f.path.slice(f.path.lastIndexOf("/") + 1) > oursName)
    // Even an empty ExecStart= there would erase tsm's command.
    .filter((f) => unitAssignments(f.text, "Service", "ExecStart").length > 0)
    .map((f) => f.path);
  return { baseExecStart: base.value, overriddenBy };
}

/** Throws when a later drop-in would replace tsm's ExecStart=, which would leave the engine without TLS. */
export function assertNotOverridden(facts: SystemdUnitFacts): void {
  if (facts.overriddenBy.length > 0) {
    throw new EngineConfigConflictError(
      `docker.service's ExecStart= is also set by ${facts.overriddenBy.join(", ")}, which systemd applies after tsm's ${PATHS.dropIn}`,
      ["Remove ExecStart= from that drop-in (or rename it so that it sorts before 10-tsm.conf), then provision again."],
    );
  }
}

/**
 * docker.service for a dockerd unpacked from a static tarball: upstream's unit
 * without docker.socket and without a separate containerd service (dockerd starts
 * the bundled containerd itself when no --containerd is given).
 */
export function renderSystemdUnit(dockerdPath: string): string {
  return [
    "# Written by tsm for Docker Engine installed from a static binary tarball.",
    "[Unit]",
    "Description=Docker Application Container Engine",
    "Documentation=https://docs.docker.com",
    "After=network-online.target firewalld.service time-set.target",
    "Wants=network-online.target",
    "",
    "[Service]",
    "Type=notify",
    `ExecStart=${quoteExecArg(dockerdPath)} -H ${PATHS.unixSocket}`,
    "ExecReload=/bin/kill -s HUP $MAINPID",
    "TimeoutStartSec=0",
    "RestartSec=2",
    "Restart=always",
    "StartLimitBurst=3",
    "StartLimitInterval=60s",
    "LimitNPROC=infinity",
    "LimitCORE=infinity",
    "TasksMax=infinity",
    "Delegate=yes",
    "KillMode=process",
    "OOMScoreAdjust=-500",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/**
 * /etc/init.d/docker for a dockerd unpacked from a static tarball, modelled on
 * Alpine's (aports community/docker/docker.initd): same variables, so the same
 * /etc/conf.d/docker drives both; logs go straight to DOCKER_LOGFILE because
 * Alpine's log_proxy is not there without the package.
 */
export function renderOpenRcInitScript(dockerdPath: string): string {
  return [
    "#!/sbin/openrc-run",
    "# Written by tsm for Docker Engine installed from a static binary tarball.",
    "supervisor=supervise-daemon",
    "",
    'name="Docker Daemon"',
    'description="Persistent process that manages docker containers"',
    "",
    `command="\${DOCKERD_BINARY:-${dockerdPath}}"`,
    'command_args="${DOCKER_OPTS}"',
    "",
    `DOCKER_LOGFILE="\${DOCKER_LOGFILE:-${PATHS.engineLog}}"`,
    'output_log="${DOCKER_LOGFILE}"',
    'error_log="${DOCKER_LOGFILE}"',
    "",
    'rc_ulimit="${DOCKER_ULIMIT:--c unlimited -n 1048576 -u unlimited}"',
    'retry="${DOCKER_RETRY:-TERM/60/KILL/10}"',
    "",
    "depend() {",
    "\tneed sysfs cgroups net",
    "\tafter firewall",
    "}",
    "",
    "start_pre() {",
    '\tcheckpath -f -m 0644 -o root:root "$DOCKER_LOGFILE"',
    "}",
    "",
  ].join("\n");
}

const OPENRC_BEGIN = "# BEGIN tsm";
const OPENRC_END = "# END tsm";

/** The file without tsm's block (and without the blank line tsm put before it). */
export function stripOpenRcBlock(text: string): string {
  const lines = text.split("\n");
  const out: string[] = [];
  let inBlock = false;
  for (const line of lines) {
    if (!inBlock && line.startsWith(OPENRC_BEGIN)) {
      inBlock = true;
      if (out.length > 0 && out[out.length - 1] === "") out.pop();
      continue;
    }
    if (inBlock) {
      if (line.startsWith(OPENRC_END)) inBlock = false;
      continue;
    }
    out.push(line);
  }
  let result = out.join("\n");
  if (result !== "" && !result.endsWith("\n")) result += "\n";
  return result;
}

/** The dockerd arguments under OpenRC: listeners, then the --engine-opt flags. */
export function openRcArgs(plan: EnginePlan): string[] {
  return ["-H", PATHS.unixSocket, "-H", `tcp://0.0.0.0:${plan.port}`, ...plan.args];
}

/**
 * /etc/conf.d/docker: the existing file (the package's defaults and the admin's
 * settings) with tsm's block at the end, replacing an earlier one.
 *
 * OpenRC sources this file in the service's shell, and Alpine's init script sets
 * `command_args="${DOCKER_OPTS}"`, which OpenRC's supervise-daemon.sh (and
 * start-stop-daemon.sh) expand unquoted inside an `eval`. So DOCKER_OPTS is parsed
 * by the shell a second time, after field splitting and pathname expansion of its
 * unquoted value. A plain list of single-quoted words would survive the eval but
 * not that first splitting (runs of spaces collapse, `*` globs). Hence each
 * argument gets its own variable, assigned with shQuote, and DOCKER_OPTS only holds
 * `"$tsm_dockerd_arg_N"` references: nothing in it splits or globs, and the eval
 * expands each reference to exactly one argument.
 * --engine-env variables are exported here: supervise-daemon passes its
 * environment on to dockerd (Alpine's own script exports its proxy settings the
 * same way).
 */
export function renderOpenRcConf(existing: string | undefined, dockerdPath: string, plan: EnginePlan): string {
  const args = openRcArgs(plan);
  for (const a of args) assertPrintable("The engine option", a);
  const block = [
    `${OPENRC_BEGIN}: written by tsm, rewritten on every provisioning (edits inside this block are lost).`,
    "# Each dockerd argument has its own variable because the init script eval's DOCKER_OPTS.",
    `DOCKERD_BINARY=${shQuote(dockerdPath)}`,
    ...args.map((a, i) => `tsm_dockerd_arg_${i + 1}=${shQuote(a)}`),
    `DOCKER_OPTS='${args.map((_, i) => `"$tsm_dockerd_arg_${i + 1}"`).join(" ")}'`,
    ...plan.env.map((e) => `export ${e.name}=${shQuote(e.value)}`),
    OPENRC_END,
  ];
  const kept = stripOpenRcBlock(existing ?? "");
  const sep = kept === "" ? "" : kept.endsWith("\n\n") ? "" : "\n";
  return `${kept}${sep}${block.join("\n")}\n`;
}
