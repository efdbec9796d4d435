/**
 * Declared options (model/options.ts) as commander options on `create`. Commander only
 * collects what the command line says; the option set's one reader applies the
 * environment, the defaults and the checks (so a bad value is named by the flag or the
 * variable it came from). List flags repeat on the command line.
 */
import { Option, type Command } from "commander";
import type { DriverFlag, OptionInput, RawValue } from "../../model/options.js";

export { parseBool } from "../../model/options.js";

export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function flagOption(flag: DriverFlag): Option {
  const withDefault =
    flag.default === undefined || flag.type === "boolean" || (Array.isArray(flag.default) && flag.default.length === 0) || flag.default === ""
      ? flag.description
      : `${flag.description} (default: ${Array.isArray(flag.default) ? flag.default.join(",") : String(flag.default)})`;
  const described = `${withDefault}${flag.type === "list" ? " (repeatable)" : ""} (env: ${[flag.env, ...(flag.envAliases ?? [])].join(", ")})`;
  const value = flag.placeholder ?? (flag.type === "int" ? "n" : "value");
  const opt = flag.type === "boolean" ? new Option(`--${flag.name}`, described) : new Option(`--${flag.name} <${value}>`, described);
  if (flag.type === "list") opt.argParser(collect);
  return opt;
}

export function addFlags(cmd: Command, flags: readonly DriverFlag[]): void {
  for (const f of flags) cmd.addOption(flagOption(f));
}

/**
 * What the command line gave for `flags` (by flag name; absent when not given), with the
 * environment, for an option set's reader. Works for flags added after parsing too (the
 * driver picked when -d is absent): those were simply not on the command line.
 */
export function optionInput(cmd: Command, flags: readonly DriverFlag[], env: Readonly<Record<string, string | undefined>>): OptionInput {
  const cli: Record<string, RawValue> = {};
  const opts = cmd.opts();
  for (const f of flags) {
    const key = new Option(`--${f.name}`).attributeName();
    if (cmd.getOptionValueSource(key) === "cli") cli[f.name] = opts[key] as RawValue;
  }
  return { cli, env };
}
