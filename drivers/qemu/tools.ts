/** Finding executables on PATH (or checking a given path), without spawning anything. */
import { accessSync, constants, statSync } from "node:fs";
import path from "node:path";

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The executable's path, or undefined. A name with a slash is checked as given. */
export async function which(name: string, env: Readonly<Record<string, string | undefined>>): Promise<string | undefined> {
  if (name.includes("/") || name.includes("\\")) return isExecutable(name) ? name : undefined;
  const exts = process.platform === "win32" ? (env.PATHEXT ?? ".EXE;.CMD;.BAT").split(";") : [""];
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (dir === "") continue;
    for (const ext of exts) {
      const candidate = path.join(dir, name + ext);
      if (isExecutable(candidate)) return candidate;
    }
  }
  return undefined;
}
