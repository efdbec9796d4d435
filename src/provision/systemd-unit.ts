/**
 * The engine plan rendered for systemd. Contract, all pure:
 * - `systemdUnitFacts` reads the host's docker.service (`systemctl cat`, split into
 *   files) into what the drop-in depends on: the command line without tsm's drop-in,
 *   and the drop-ins that would override tsm's; `assertNotOverridden` refuses the latter
 *   (EngineConfigConflictError).
 * - `renderSystemdDropIn` writes /etc/systemd/system/docker.service.d/10-tsm.conf:
 *   the unit's own command line with tsm's listeners and --engine-opt flags, and the
 *   --engine-env variables, each value quoted so that dockerd receives it exactly.
 * - `renderSystemdUnit` writes docker.service for a dockerd from a static tarball.
 * Quoting and unit-file parsing are systemd-syntax.ts; what dockerd gets is engine-plan.ts.
 */
import { EngineConfigConflictError } from "./errors.js";
import { listenerArgs, type EnginePlan } from "./engine-plan.js";
import { PATHS } from "./paths.js";
import {
  effectiveExecStart,
  environmentLine,
  quoteExecArg,
  splitCommandLine,
  type RawWord,
  type UnitFile,
  unitAssignments,
} from "./systemd-syntax.js";

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
  // The listeners are inert words (no quoting needed): fd://, unix:///..., tcp://0.0.0.0:PORT.
  words.push(...listenerArgs(facts.socketActivation ? "fd://" : PATHS.unixSocket, plan));
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
