/**
 * Docker Machine compatibility mode: on when tsm runs as `docker-machine` (a symlink to, or
 * a copy of, the bin) or with TSM_COMPAT=docker-machine. In that mode every failure exits 1
 * and the messages scripts grep are Docker Machine's words; outside it tsm keeps its own.
 */
import path from "node:path";
import type { CompatMode } from "../../core/session.js";

/** The mode for this process, from the path it was started as (argv[1]) and the environment. */
export function compatMode(scriptPath: string | undefined, env: Readonly<Record<string, string | undefined>>): CompatMode {
  if (env.TSM_COMPAT === "docker-machine") return "docker-machine";
  if (env.TSM_COMPAT === "tsm") return "tsm";
  const base = scriptPath ? path.basename(scriptPath).replace(/\.(cjs|js|exe|cmd)$/, "") : "";
  return base === "docker-machine" ? "docker-machine" : "tsm";
}
