import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/** Builds dist/tsm.cjs once, so CLI tests run what users run. */
export default function setup(): void {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  execFileSync(process.execPath, ["scripts/build.mjs"], { cwd: root, stdio: "inherit" });
}
