/**
 * Provisioning over a `Remote`: detect the OS, set the host name, install Docker
 * Engine when it is missing, install the TLS certificates and the daemon
 * configuration, restart the engine. Waiting for the TLS API is the caller's job
 * (it holds the client certificate).
 *
 * Shape of every run:
 * - Privileges first: a non-root user must pass `sudo -n true` before anything
 *   else happens, and every later script runs through one `sudo -n sh -c '<script>'`.
 * - Then one read-only probe (probe.ts) and every decision that can fail (OS,
 *   init system, engine options, existing daemon.json, install method) before the
 *   first change to the host.
 * - Scripts are built from constants and shQuote'd values; file contents go on
 *   stdin. Each script starts with a "# tsm: <step>" line, which is what sudo logs
 *   and what tests match on.
 * - Running it twice is harmless: files are rewritten with the same content, the
 *   host name and /etc/hosts are left alone when already right, the engine restarts.
 */
import { InterruptedError, isTsmError } from "../model/errors.js";
import { validateMachineName } from "../model/name.js";
import type { EngineOptions } from "../model/machine.js";
import { planEngine, renderDaemonJson, stripDaemonJson, type EnginePlan } from "./engine-plan.js";
import { EngineInstallError, ProvisionError, SudoRequiredError, UnsupportedInitError, lastLine, tailLines } from "./errors.js";
import {
  ensureHostsEntry,
  removeFilesScript,
  replaceHostsScript,
  setHostnameScript,
  writeFilesScript,
  type RemoteFile,
} from "./host-files.js";
import { installPlan, upgradePlan, type InstallPlan } from "./install.js";
import { detectFamily, parseOsRelease, prettyOsName, type InitSystem, type OsFamily } from "./os-release.js";
import { renderOpenRcConf, renderOpenRcInitScript, stripOpenRcBlock } from "./openrc.js";
import { PATHS } from "./paths.js";
import { DOCKERD_CANDIDATES, parseProbe, probeScript, type HostFacts } from "./probe.js";
import { shQuote, type Remote, type RunResult } from "./remote.js";
import { parseSystemctlCat } from "./systemd-syntax.js";
import { assertNotOverridden, renderSystemdDropIn, renderSystemdUnit, systemdUnitFacts } from "./systemd-unit.js";

export interface ProvisionInput {
  /** The host name to set (validated by the caller: [a-zA-Z0-9][a-zA-Z0-9.-]*). */
  machineName: string;
  /** Becomes the engine label provider=<driverName>. */
  driverName: string;
  engine: EngineOptions;
  certs: { caPem: string; serverCertPem: string; serverKeyPem: string };
  /** One line per step, e.g. "Installing Docker Engine (distribution packages: docker.io)...". */
  log(step: string): void;
  signal?: AbortSignal;
  /** A VM booted with a cloud-init seed: wait for cloud-init to finish before changing anything (it may still be setting up users, disks or apt). */
  waitForFirstBoot?: boolean;
}

export interface ProvisionResult {
  os: OsFamily;
  dockerdPath: string;
  initSystem: InitSystem;
  /** Docker Engine was installed by this run. */
  installed: boolean;
}

/** Steps: the id tags the script ("# tsm: <id>"), `what` completes "Provisioning failed while trying to ...". */
export const STEPS = {
  sudo: { id: "sudo-check", what: "check for passwordless sudo" },
  firstBoot: { id: "first-boot", what: "wait for the first boot (cloud-init) to finish" },
  probe: { id: "probe", what: "read the host's configuration" },
  hostname: { id: "hostname", what: "set the host name" },
  install: { id: "install", what: "install Docker Engine" },
  upgrade: { id: "upgrade", what: "upgrade Docker Engine" },
  certs: { id: "certs", what: "copy the TLS certificates to /etc/docker" },
  config: { id: "config", what: "write the Docker Engine configuration" },
  restart: { id: "restart", what: "restart Docker Engine" },
  removeConfig: { id: "remove-config", what: "remove tsm's Docker Engine configuration" },
  logTail: { id: "log-tail", what: "read Docker Engine's log" },
} as const;
export type Step = (typeof STEPS)[keyof typeof STEPS];

/**
 * Waits for cloud-init (when the host has it) and prints its final status word ("done",
 * "error", "degraded"...), or "absent". `status --wait` exits non-zero for an error in
 * any module; that is reported, not fatal: the user and keys were set up, or SSH would
 * not have let us in.
 */
export const FIRST_BOOT_SCRIPT = [
  "if command -v cloud-init >/dev/null 2>&1; then",
  "  cloud-init status --wait >/dev/null 2>&1 || true",
  "  cloud-init status 2>/dev/null | sed -n 's/^status: *//p'",
  "else",
  "  echo absent",
  "fi",
].join("\n");

/** Appended to PATH so that sbin tools resolve for a root login whose PATH lacks them (sudo's secure_path has them). */
const PATH_PRELUDE = 'PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"; export PATH';

const TIMEOUT = { default: 2 * 60_000, install: 30 * 60_000, restart: 5 * 60_000 } as const;

/** The exact command line sent for one step's script: `sh -c '<script>'`, through `sudo -n` unless root. */
export function wrapScript(step: Step, script: string, isRoot: boolean): string {
  const body = `# tsm: ${step.id}\n${PATH_PRELUDE}\n${script}`;
  return `${isRoot ? "" : "sudo -n "}sh -c ${shQuote(body)}`;
}

/** The privilege check: who and where (for the message), then `sudo -n true`, whose status is the command's. */
export const SUDO_CHECK_COMMAND = `printf '%s\\n' "$(id -un)" "$(uname -n)"; sudo -n true`;

/** Runs steps on one host, turning failures into ProvisionError. */
class HostShell {
  constructor(
    private readonly remote: Remote,
    private readonly signal?: AbortSignal,
  ) {}

  private checkAbort(): void {
    if (this.signal?.aborted) {
      const reason: unknown = this.signal.reason;
      throw isTsmError(reason) ? reason : new InterruptedError();
    }
  }

  private async send(step: Step, command: string, script: string, options: { input?: string; timeoutMs?: number }): Promise<RunResult> {
    this.checkAbort();
    try {
      return await this.remote.run(command, {
        ...(options.input !== undefined ? { input: options.input } : {}),
        timeoutMs: options.timeoutMs ?? TIMEOUT.default,
      });
    } catch (err) {
      if (err instanceof InterruptedError) throw err;
      throw new ProvisionError(step.what, script, { exitCode: null, stderr: "" }, { cause: err });
    }
  }

  /** Runs a script; resolves with its result whatever the exit status. */
  async tryRun(step: Step, script: string, options: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    return this.send(step, wrapScript(step, script, this.remote.isRoot), script, options);
  }

  /** Runs a script; a non-zero exit becomes a ProvisionError carrying `hints`. */
  async run(step: Step, script: string, options: { input?: string; timeoutMs?: number; hints?: string[] } = {}): Promise<RunResult> {
    const result = await this.tryRun(step, script, options);
    if (result.exitCode !== 0) {
      throw new ProvisionError(step.what, script, result, { details: options.hints ?? [] });
    }
    return result;
  }

  /** Fails with SudoRequiredError, before any change, when a non-root user lacks passwordless sudo. */
  async checkPrivileges(): Promise<void> {
    if (this.remote.isRoot) return;
    const result = await this.send(STEPS.sudo, SUDO_CHECK_COMMAND, SUDO_CHECK_COMMAND, { timeoutMs: 30_000 });
    if (result.exitCode !== 0) {
      const [user, host] = result.stdout.split("\n").map((l) => l.trim());
      throw new SudoRequiredError(user || "(unknown user)", host || "the host", lastLine(result.stderr), {
        requiretty: /\btty\b/.test(result.stderr),
      });
    }
  }

  async probe(): Promise<HostFacts> {
    return parseProbe((await this.run(STEPS.probe, probeScript())).stdout);
  }

  async writeFiles(step: Step, files: readonly RemoteFile[]): Promise<void> {
    if (files.length === 0) return;
    const { script, input } = writeFilesScript(files);
    await this.run(step, script, { input });
  }
}

/** The init system that runs the host, or UnsupportedInitError. */
function requireInit(facts: HostFacts, osName: string): InitSystem {
  if (facts.init === "unknown") throw new UnsupportedInitError(osName);
  return facts.init;
}

function certFiles(certs: ProvisionInput["certs"]): RemoteFile[] {
  return [
    { path: PATHS.caCert, mode: 0o644, content: certs.caPem },
    { path: PATHS.serverCert, mode: 0o644, content: certs.serverCertPem },
    { path: PATHS.serverKey, mode: 0o600, content: certs.serverKeyPem },
  ];
}


async function setHostname(sh: HostShell, facts: HostFacts, name: string, init: InitSystem): Promise<void> {
  const needName = facts.nodename !== name || (facts.hostnameFile ?? "").trim() !== name;
  const hosts = facts.hosts ?? "";
  const newHosts = ensureHostsEntry(hosts, name);
  const needHosts = newHosts !== hosts || facts.hosts === undefined;
  if (!needName && !needHosts) return;
  const script = [needName ? setHostnameScript(name, init === "systemd") : "", needHosts ? replaceHostsScript() : ""]
    .filter((s) => s !== "")
    .join("\n");
  await sh.run(STEPS.hostname, script, needHosts ? { input: newHosts } : {});
}

/** The systemd facts of docker.service, or undefined when the host has no such unit file (tsm then writes one). */
function systemdUnit(facts: HostFacts): ReturnType<typeof systemdUnitFacts> | undefined {
  if (facts.dockerService === undefined) return undefined;
  const files = parseSystemctlCat(facts.dockerService, "docker.service");
  if (!files.some((f) => f.path.endsWith("/docker.service"))) return undefined;
  return systemdUnitFacts(files);
}

/** Checks what can be checked before changing the host: engine options, daemon.json, overriding drop-ins. */
function preflight(facts: HostFacts, init: InitSystem, engine: EngineOptions, driverName: string): EnginePlan {
  const plan = planEngine(engine, driverName);
  renderDaemonJson(facts.daemonJson, plan);
  if (init === "systemd") {
    const unit = systemdUnit(facts);
    if (unit) assertNotOverridden(unit);
  }
  return plan;
}

/** The configuration files for this host: daemon.json, plus the drop-in (systemd) or conf.d block (OpenRC), plus a service definition when the host has none. */
function configFiles(facts: HostFacts, init: InitSystem, dockerdPath: string, plan: EnginePlan): { files: RemoteFile[]; removedKeys: string[] } {
  const daemonJson = renderDaemonJson(facts.daemonJson, plan);
  const files: RemoteFile[] = [{ path: PATHS.daemonJson, mode: 0o644, content: daemonJson.text }];
  if (init === "systemd") {
    const unit = systemdUnit(facts);
    let baseExecStart: string | undefined;
    if (unit) {
      assertNotOverridden(unit);
      baseExecStart = unit.baseExecStart;
    } else {
      const own = renderSystemdUnit(dockerdPath);
      files.push({ path: PATHS.systemdUnit, mode: 0o644, content: own });
      baseExecStart = /^ExecStart=(.+)$/m.exec(own)?.[1];
    }
    files.push({
      path: PATHS.dropIn,
      mode: 0o644,
      content: renderSystemdDropIn({ dockerdPath, socketActivation: unit !== undefined && facts.dockerSocket, baseExecStart }, plan),
    });
  } else {
    if (!facts.openrcInit) files.push({ path: PATHS.openrcInit, mode: 0o755, content: renderOpenRcInitScript(dockerdPath) });
    files.push({ path: PATHS.openrcConf, mode: 0o644, content: renderOpenRcConf(facts.openrcConf, dockerdPath, plan) });
  }
  return { files, removedKeys: daemonJson.removedKeys };
}

/** The restart script: systemd reloads units, enables the service (and its socket) and restarts; OpenRC adds it to the default runlevel and restarts. */
export function restartScript(init: InitSystem, socketActivation: boolean): string {
  if (init === "systemd") {
    // Each step only when needed: daemon-reload and enable cost ~0.5 s and ~1 s
    // (enable syncs SysV links on Debian), most of a re-provision's time.
    const units = socketActivation ? ["docker.service", "docker.socket"] : ["docker.service"];
    return [
      "set -e",
      // NeedDaemonReload catches a changed drop-in, but not a new one (systemd 252 misses
      // drop-ins it has never loaded), so also reload when ours is not among DropInPaths.
      `case " $(systemctl show -p DropInPaths --value docker.service) " in *" ${PATHS.dropIn} "*) loaded=yes ;; *) loaded=no ;; esac`,
      'if [ "$loaded" = no ] || [ "$(systemctl show -p NeedDaemonReload --value docker.service)" != no ]; then systemctl daemon-reload; fi',
      // A failed start earlier (ours or the admin's) must not trip StartLimitBurst now.
      "systemctl reset-failed docker.service >/dev/null 2>&1 || true",
      ...units.map((u) => `systemctl is-enabled --quiet ${u} || systemctl enable ${u}`),
      ...(socketActivation ? ["systemctl start docker.socket"] : []),
      "systemctl restart docker.service",
    ].join("\n");
  }
  return ["set -e", "rc-update add docker default >/dev/null 2>&1 || true", "rc-service docker restart"].join("\n");
}

/** Last lines of the engine's log: journald under systemd, /var/log/docker.log under OpenRC. */
export function logTailScript(lines: number): string {
  const n = Math.max(1, Math.floor(lines));
  return [
    "if [ -d /run/systemd/system ]; then journalctl -u docker.service -n " + n + " --no-pager -o short-iso 2>&1",
    `elif [ -f ${PATHS.engineLog} ]; then tail -n ${n} ${PATHS.engineLog} 2>&1`,
    `else echo "no engine log found (${PATHS.engineLog})"; fi`,
  ].join("\n");
}

async function logTail(sh: HostShell, lines: number): Promise<string> {
  try {
    const r = await sh.tryRun(STEPS.logTail, logTailScript(lines), { timeoutMs: 30_000 });
    return r.stdout.trim() !== "" ? r.stdout : r.stderr;
  } catch (err) {
    const reason = err instanceof ProvisionError && err.cause instanceof Error ? err.cause : err;
    return `(could not read the engine log: ${reason instanceof Error ? reason.message : String(reason)})`;
  }
}

/** Runs a restart script; on failure the error carries the engine's last log lines. */
async function restartEngine(sh: HostShell, script: string): Promise<void> {
  try {
    await sh.run(STEPS.restart, script, { timeoutMs: TIMEOUT.restart });
  } catch (err) {
    if (!(err instanceof ProvisionError) || err.remoteExitCode === null) throw err;
    const log = tailLines(await logTail(sh, 30), 30);
    throw new ProvisionError(
      STEPS.restart.what,
      script,
      { exitCode: err.remoteExitCode, stderr: err.stderrTail.join("\n") },
      { details: log.length > 0 ? ["Docker Engine's last log lines:", ...log.map((l) => `  ${l}`)] : [] },
    );
  }
}

async function runInstall(sh: HostShell, step: Step, plan: InstallPlan): Promise<void> {
  await sh.writeFiles(step, plan.files);
  await sh.run(step, plan.script, { timeoutMs: TIMEOUT.install, hints: plan.hints });
}

async function probeAfterInstall(sh: HostShell, what: string): Promise<HostFacts & { dockerdPath: string }> {
  const facts = await sh.probe();
  if (facts.dockerdPath === undefined) {
    throw new EngineInstallError(
      `${what} finished, but dockerd is still not found (looked at docker.service's ExecStart, PATH, ${DOCKERD_CANDIDATES.join(", ")})`,
    );
  }
  return facts as HostFacts & { dockerdPath: string };
}

async function configureAndRestart(sh: HostShell, facts: HostFacts, init: InitSystem, dockerdPath: string, plan: EnginePlan, log: (s: string) => void): Promise<void> {
  log(`Configuring Docker Engine (mutual TLS on port ${plan.port})...`);
  const { files, removedKeys } = configFiles(facts, init, dockerdPath, plan);
  if (removedKeys.length > 0) {
    log(`Removing ${removedKeys.join(", ")} from ${PATHS.daemonJson}: set by --engine-opt on the command line instead`);
  }
  await sh.writeFiles(STEPS.config, files);
  log("Restarting Docker Engine...");
  const socketActivation = init === "systemd" && systemdUnit(facts) !== undefined && facts.dockerSocket;
  await restartEngine(sh, restartScript(init, socketActivation));
}

/** For a VM booted with a cloud-init seed: waits until cloud-init is done, and reports a status other than "done". */
async function waitForFirstBoot(sh: HostShell, input: ProvisionInput): Promise<void> {
  if (!input.waitForFirstBoot) return;
  input.log("Waiting for the first boot (cloud-init) to finish...");
  const r = await sh.run(STEPS.firstBoot, FIRST_BOOT_SCRIPT, { timeoutMs: 20 * 60_000 });
  const status = r.stdout.trim().split("\n").pop() ?? "";
  if (status !== "" && status !== "done" && status !== "absent") input.log(`cloud-init finished with status "${status}" (details: tsm ssh ${input.machineName} sudo cloud-init status --long)`);
}

/** What a run knows before it changes anything on the host. */
interface Prepared {
  sh: HostShell;
  facts: HostFacts;
  os: OsFamily;
  init: InitSystem;
  plan: EnginePlan;
}

/**
 * The read-only start of `provision` and `upgrade`: privileges, the first boot,
 * the probe, then every refusal that can be made in advance (OS, init system,
 * engine options, daemon.json, overriding drop-ins).
 */
async function prepare(remote: Remote, input: ProvisionInput): Promise<Prepared> {
  const sh = new HostShell(remote, input.signal);
  await sh.checkPrivileges();
  await waitForFirstBoot(sh, input);
  input.log("Detecting the operating system...");
  const facts = await sh.probe();
  const os = detectFamily(parseOsRelease(facts.osRelease ?? ""));
  const init = requireInit(facts, os.prettyName);
  const plan = preflight(facts, init, input.engine, input.driverName);
  return { sh, facts, os, init, plan };
}

/**
 * Provisions a host: privileges, OS, host name, Docker Engine (installed when
 * missing), certificates, configuration, restart. Throws SudoRequiredError,
 * UnsupportedOsError, UnsupportedInitError, EngineInstallError,
 * InvalidEngineOptionError or EngineConfigConflictError before changing anything
 * when it can tell in advance; ProvisionError for a remote step that fails.
 */
export async function provision(remote: Remote, input: ProvisionInput): Promise<ProvisionResult> {
  // The caller validates it; checked again because it reaches `hostname` and /etc/hosts.
  validateMachineName(input.machineName);
  const prepared = await prepare(remote, input);
  const { sh, os, init, plan } = prepared;
  let facts = prepared.facts;
  const install = facts.dockerdPath === undefined ? installPlan(os, init, input.engine) : undefined;

  // From here on the host changes.
  input.log(`Setting the host name to ${input.machineName}...`);
  await setHostname(sh, facts, input.machineName, init);

  if (install) {
    input.log(`Installing Docker Engine (${install.description})...`);
    await runInstall(sh, STEPS.install, install);
    facts = await probeAfterInstall(sh, "The Docker Engine installation");
    preflight(facts, init, input.engine, input.driverName); // the package may have brought its own daemon.json or drop-ins
  }
  const dockerdPath = facts.dockerdPath!;

  input.log(`Copying certificates to ${PATHS.dockerDir}...`);
  await sh.writeFiles(STEPS.certs, certFiles(input.certs));
  await configureAndRestart(sh, facts, init, dockerdPath, plan, input.log);
  return { os, dockerdPath, initSystem: init, installed: install !== undefined };
}

/**
 * `regenerate-certs`: uploads new certificates and restarts the engine, nothing
 * else (containers with a restart policy come back; live-restore keeps others).
 */
export async function installCerts(remote: Remote, certs: ProvisionInput["certs"], log: (step: string) => void): Promise<void> {
  const sh = new HostShell(remote);
  await sh.checkPrivileges();
  log(`Copying certificates to ${PATHS.dockerDir}...`);
  await sh.writeFiles(STEPS.certs, certFiles(certs));
  log("Restarting Docker Engine...");
  await restartEngine(
    sh,
    "if [ -d /run/systemd/system ]; then systemctl restart docker.service; else rc-service docker restart; fi",
  );
}

/**
 * The engine's last log lines (journalctl -u docker.service, or /var/log/docker.log
 * under OpenRC), for failure reports. Never throws: when the log cannot be read,
 * the text says why.
 */
export async function engineLogTail(remote: Remote, lines = 50): Promise<string> {
  return logTail(new HostShell(remote), lines);
}

/**
 * `upgrade`: upgrades Docker Engine by the method it was installed with, then
 * rewrites the configuration (the upgrade may move dockerd, e.g. /usr/sbin to
 * /usr/bin) and restarts the engine.
 */
export async function upgradeEngine(remote: Remote, input: ProvisionInput): Promise<void> {
  const { sh, os, init, plan } = await prepare(remote, input);
  const upgrade = upgradePlan(os, init, input.engine);

  input.log(`Upgrading Docker Engine (${upgrade.description})...`);
  await runInstall(sh, STEPS.upgrade, upgrade);
  const facts = await probeAfterInstall(sh, "The Docker Engine upgrade");
  preflight(facts, init, input.engine, input.driverName);
  await configureAndRestart(sh, facts, init, facts.dockerdPath, plan, input.log);
}

/**
 * `rm --remove-engine-config`: removes tsm's drop-in (or conf.d block), its
 * daemon.json keys (the file goes when nothing else is left in it) and the
 * certificates, then restarts the engine with the host's own configuration.
 * Docker Engine itself, the host name and /etc/hosts stay.
 */
export async function removeTsmConfig(remote: Remote, options: { log?: (step: string) => void; signal?: AbortSignal } = {}): Promise<void> {
  const log = options.log ?? (() => undefined);
  const sh = new HostShell(remote, options.signal);
  await sh.checkPrivileges();
  const facts = await sh.probe();
  const daemonJson = facts.daemonJson === undefined ? undefined : stripDaemonJson(facts.daemonJson);

  log(`Removing tsm's Docker Engine configuration and certificates from ${prettyOsName(parseOsRelease(facts.osRelease ?? ""))}...`);
  const rewrite: RemoteFile[] = [];
  const remove: string[] = [PATHS.caCert, PATHS.serverCert, PATHS.serverKey];
  if (facts.daemonJson !== undefined) {
    if (daemonJson === undefined) remove.push(PATHS.daemonJson);
    else rewrite.push({ path: PATHS.daemonJson, mode: 0o644, content: daemonJson });
  }
  if (facts.init === "systemd") remove.push(PATHS.dropIn);
  if (facts.init === "openrc" && facts.openrcConf !== undefined) {
    rewrite.push({ path: PATHS.openrcConf, mode: 0o644, content: stripOpenRcBlock(facts.openrcConf) });
  }
  await sh.writeFiles(STEPS.removeConfig, rewrite);
  await sh.run(STEPS.removeConfig, removeFilesScript(remove, facts.init === "systemd" ? [PATHS.dropInDir] : []));

  if (facts.dockerdPath !== undefined && facts.init !== "unknown") {
    log("Restarting Docker Engine...");
    await restartEngine(
      sh,
      facts.init === "systemd"
        ? ["set -e", "systemctl daemon-reload", "systemctl reset-failed docker.service >/dev/null 2>&1 || true", "systemctl restart docker.service"].join("\n")
        : "rc-service docker restart",
    );
  }
}
