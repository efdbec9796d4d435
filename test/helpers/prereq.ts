/**
 * Real-infrastructure tests need tools from the machine (dockerd, docker,
 * debootstrap, qemu...). Where they are missing the test is skipped with the
 * reason, except in CI (CI=true), where a missing prerequisite is a failure:
 * CI installs them, so their absence means the test bed is broken.
 */
import { accessSync, constants } from "node:fs";
import path from "node:path";
import { describe, it } from "vitest";

export function which(tool: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const p = path.join(dir, tool);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

export function missingPrereqs(tools: readonly string[], needRoot = false): string[] {
  const missing = tools.filter((t) => which(t) === undefined).map((t) => `${t} not found on PATH`);
  if (needRoot && process.getuid?.() !== 0) missing.push("not running as root");
  return missing;
}

/** describe() when the prerequisites are present; otherwise a skipped suite (or, in CI, one failing test naming them). */
export function describeWithPrereqs(name: string, missing: readonly string[], body: () => void): void {
  if (missing.length === 0) {
    describe(name, body);
  } else if (process.env.CI === "true") {
    describe(name, () => {
      it("has its prerequisites", () => {
        throw new Error(`missing prerequisites in CI: ${missing.join("; ")}`);
      });
    });
  } else {
    describe.skip(`${name} (skipped: ${missing.join("; ")})`, body);
  }
}
