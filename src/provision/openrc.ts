/**
 * The engine plan rendered for OpenRC. Contract, all pure:
 * - `renderOpenRcConf` writes /etc/conf.d/docker: the host's file with tsm's block
 *   (between "# BEGIN tsm" and "# END tsm") at the end, replacing an earlier one;
 *   `stripOpenRcBlock` takes that block out again. Each dockerd argument and
 *   --engine-env value reaches dockerd exactly, through the init script's eval.
 * - `renderOpenRcInitScript` writes /etc/init.d/docker for a dockerd from a static tarball.
 * What dockerd gets is engine-plan.ts; shell quoting is shQuote (remote.ts).
 */
import { assertPrintable } from "./engine-rules.js";
import { listenerArgs, type EnginePlan } from "./engine-plan.js";
import { PATHS } from "./paths.js";
import { shQuote } from "./remote.js";

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
  return [...listenerArgs(PATHS.unixSocket, plan), ...plan.args];
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
