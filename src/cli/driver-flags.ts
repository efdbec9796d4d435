/**
 * Driver-owned `create` flags (Docker Machine's mcnflag) as commander options,
 * each also readable from its environment variable. List flags repeat on the
 * command line; from the environment they are comma-separated, as in Docker Machine.
 */
import { Option, type Command } from "commander";
import type { DriverFlag, FlagValues } from "../model/driver.js";
import { UsageError } from "../model/errors.js";

export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function parseIntFlag(name: string) {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value.trim())) throw new UsageError(`Invalid ${name.startsWith("-") || /^[A-Z_0-9]+$/.test(name) ? name : `--${name}`} ${JSON.stringify(value)}: expected a whole number`);
    return Number(value);
  };
}

export function parseBool(name: string, value: string): boolean {
  const v = value.trim().toLowerCase();
  if (["1", "true", "yes", "on", "t"].includes(v)) return true;
  if (["0", "false", "no", "off", "f", ""].includes(v)) return false;
  throw new UsageError(`Invalid value ${JSON.stringify(value)} for ${name}: expected true or false`);
}

export function flagOption(flag: DriverFlag): Option {
  // Defaults are applied by readFlags (after the environment), so they are only described here.
  // The variable is named in the help text only: readFlags reads it, so that a bad value is reported by its name.
  const withDefault =
    flag.default === undefined || flag.type === "boolean"
      ? flag.description
      : `${flag.description} (default: ${Array.isArray(flag.default) ? flag.default.join(",") : String(flag.default)})`;
  const described = `${withDefault} (env: ${flag.env})`;
  const opt =
    flag.type === "boolean"
      ? new Option(`--${flag.name}`, described)
      : new Option(`--${flag.name} <${flag.type === "int" ? "n" : "value"}>`, described);
  if (flag.type === "int") opt.argParser(parseIntFlag(flag.name));
  if (flag.type === "list") opt.argParser(collect);
  return opt;
}

export function addFlags(cmd: Command, flags: readonly DriverFlag[]): void {
  for (const f of flags) cmd.addOption(flagOption(f));
}

/**
 * Reads the values of `flags` after parsing: the command line wins, then the
 * flag's environment variable (lists comma-separated, booleans parsed as
 * true/false), then the default. Reads the environment itself so that flags
 * added after parsing (the driver picked when -d is absent) still see it.
 */
export function readFlags(cmd: Command, flags: readonly DriverFlag[], env: Readonly<Record<string, string | undefined>>): FlagValues {
  const values: Record<string, FlagValues[string]> = {};
  const opts = cmd.opts();
  for (const f of flags) {
    const key = new Option(`--${f.name}`).attributeName();
    const fromCli = cmd.getOptionValueSource(key) === "cli";
    const raw = env[f.env];
    let v: FlagValues[string];
    if (fromCli) v = opts[key] as FlagValues[string];
    else if (raw !== undefined) {
      if (f.type === "boolean") v = parseBool(f.env, raw);
      else if (f.type === "list") v = raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
      else if (f.type === "int") v = parseIntFlag(f.env)(raw);
      else v = raw;
    } else v = f.type === "boolean" ? (f.default ?? false) : f.default;
    values[f.name] = v;
  }
  return values;
}
