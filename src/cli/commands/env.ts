/**
 * `tsm env [NAME]`: prints the shell commands that point the docker client at
 * a machine. Reads the store only and checks certificates locally; `--check`
 * adds a live TLS request to the engine.
 */
import type { Command } from "commander";
import { checkedLive, machineConnection } from "../../core/connection.js";
import { UsageError } from "../../model/errors.js";
import { openMachine, openSwarmManager } from "../../core/open.js";
import type { Session } from "../../core/session.js";
import { detectShell, parseShellName, shellFamily, type ShellFamily } from "../../shell/detect.js";
import { renderSet, renderUnset, type EnvVar } from "../../shell/render-env.js";
import { usageHint } from "../../shell/usage-hint.js";
import type { CliContext } from "../support/context.js";
import { oneTarget } from "../support/target.js";

interface EnvOptions {
  shell?: string;
  unset?: boolean;
  /** commander's negatable form: false when --no-proxy is given. */
  proxy?: boolean;
  swarm?: boolean;
  check?: boolean;
}

const DOCKER_VARS = ["DOCKER_TLS_VERIFY", "DOCKER_HOST", "DOCKER_CERT_PATH", "DOCKER_MACHINE_NAME"] as const;

function resolveFamily(session: Session, shell: string | undefined): ShellFamily {
  if (shell !== undefined) {
    try {
      return shellFamily(parseShellName(shell));
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  const detected = detectShell(session.env, session.platform);
  if (detected === undefined) {
    session.io.err("Could not detect your shell: printing sh/bash syntax; choose another with --shell.\n");
    return "posix";
  }
  return shellFamily(detected);
}

/** Which proxy variable to extend: no_proxy when set, else NO_PROXY (Docker Machine's rule). */
function proxyVarName(env: Readonly<Record<string, string | undefined>>): "no_proxy" | "NO_PROXY" {
  return env.no_proxy !== undefined ? "no_proxy" : "NO_PROXY";
}

/** Appends the machine's address to the no-proxy list unless an entry already is that address. */
export function withNoProxy(current: string | undefined, address: string): string {
  const entries = (current ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (!entries.includes(address)) entries.push(address);
  return entries.join(",");
}

export function registerEnv(program: Command, ctx: CliContext): void {
  program
    .command("env")
    .description("Print the commands that set up the Docker client environment for a machine")
    .argument("[name]", "machine name (default: \"default\")")
    .option("--shell <shell>", "shell syntax: bash, zsh, sh, fish, powershell, cmd, tcsh, emacs (default: detected)")
    .option("-u, --unset", "print the commands that unset the variables instead")
    .option("--no-proxy", "add the machine's address to NO_PROXY")
    .option("--swarm", "point the client at the machine's Swarm mode cluster (a manager)")
    .option("--check", "also check the engine over TLS now (needs the network)")
    .action(async (name: string | undefined, opts: EnvOptions, command: Command) => {
      const session = ctx.session(command);
      const names = command.args;
      const family = resolveFamily(session, opts.shell);
      const noProxy = opts.proxy === false;
      let text: string;
      if (opts.unset) {
        if (names.length > 0) throw new UsageError("Expected no machine name when the -u flag is present");
        const unset: string[] = [...DOCKER_VARS];
        if (noProxy) unset.push(proxyVarName(session.env));
        text = renderUnset(family, unset);
      } else {
        let machine = await openMachine(session, await oneTarget(session, name === undefined ? [] : names));
        if (opts.swarm) machine = await openSwarmManager(session, machine);
        const connection = opts.check ? await checkedLive(session, machine) : await machineConnection(session, machine);
        const vars: EnvVar[] = [
          { name: "DOCKER_TLS_VERIFY", value: "1" },
          { name: "DOCKER_HOST", value: connection.url },
          { name: "DOCKER_CERT_PATH", value: connection.certDir },
          { name: "DOCKER_MACHINE_NAME", value: machine.record.name },
        ];
        if (session.platform === "win32") vars.push({ name: "COMPOSE_CONVERT_WINDOWS_PATHS", value: "true" });
        if (noProxy) {
          const varName = proxyVarName(session.env);
          vars.push({ name: varName, value: withNoProxy(session.env[varName], connection.host) });
        }
        try {
          text = renderSet(family, vars);
        } catch (err) {
          throw new UsageError((err as Error).message);
        }
      }
      session.io.out(text + usageHint(family, session.argv));
    });
}
