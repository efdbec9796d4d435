/**
 * Options declared once. A driver (or core, for create's engine, TLS and swarm flags)
 * declares each option in one place: its flag, its environment variable, its default, its
 * range or choices, and its help. From that one declaration come the `create` flags
 * (`flags`), the reading of flags plus environment into a typed value (`read`), and the
 * schema of the stored value (`schemaShape`), so the three can never disagree.
 *
 * Reading: the command line wins, then the option's variable (lists comma-separated,
 * booleans as true/false), then the default. Every bad value is reported at once, each
 * naming where it came from (`--flag` or `VARIABLE`).
 */
import * as z from "zod/mini";
import { UsageError } from "./errors.js";

export type FlagType = "string" | "int" | "boolean" | "list";
export type FlagDefault = string | number | boolean | readonly string[];
/** A value as the command line or the environment gave it (before conversion). */
export type RawValue = string | number | boolean | readonly string[] | undefined;
export type Env = Readonly<Record<string, string | undefined>>;

/** One `create` flag as the command line shows it (Docker Machine's mcnflag). */
export interface DriverFlag {
  /** Long flag name without dashes, e.g. "generic-ip-address". */
  readonly name: string;
  readonly type: FlagType;
  readonly description: string;
  /** Environment variable that supplies the value when the flag is absent. */
  readonly env: string;
  /** Older names of the variable (Docker Machine's), read only when `env` is unset. */
  readonly envAliases?: readonly string[];
  readonly default?: FlagDefault;
  /** The value's name in --help (`--engine-opt <name=value>`); default `value` (`n` for numbers). */
  readonly placeholder?: string;
}

/** One declared option, producing a value of type T. */
export interface OptionSpec<T> {
  readonly flag: string;
  readonly env: string;
  /** Older names of the variable (Docker Machine's `MACHINE_*`), read in order when `env` is unset: tsm's name keeps precedence. */
  readonly envAliases?: readonly string[];
  readonly help: string;
  readonly type: FlagType;
  /** Applied when neither flag nor variable is given; shown in --help. */
  readonly default?: FlagDefault;
  readonly placeholder?: string;
  /**
   * Turns the raw value (after the default) into T. Throws UsageError naming `name`
   * (`--flag` or the variable) when the value is bad; `invalid()` builds the message.
   */
  convert(raw: RawValue, name: string): T;
  /** The stored value's schema piece. */
  zod(): z.ZodMiniType<T>;
}

/** The standard complaint: `Invalid --name "value": <why>` (numbers unquoted), why usually "expected ...". */
export function invalid(name: string, shown: unknown, why: string): UsageError {
  return new UsageError(`Invalid ${name} ${JSON.stringify(shown)}: ${why}`);
}

/** What the user gave: flags from the command line (by flag name, absent when not given) and the environment. */
export interface OptionInput {
  readonly cli: Readonly<Record<string, RawValue>>;
  readonly env: Env;
}

type Specs = Record<string, OptionSpec<unknown>>;
export type OptionValues<S extends Specs> = { -readonly [K in keyof S]: S[K] extends OptionSpec<infer T> ? T : never };
export type OptionShape<S extends Specs> = { [K in keyof S]: S[K] extends OptionSpec<infer T> ? z.ZodMiniType<T> : never };

export interface OptionSet<S extends Specs> {
  readonly specs: S;
  /** The flags, in declaration order, for the command line and --help. */
  readonly flags: readonly DriverFlag[];
  /** Reads every option; throws one UsageError listing every bad value (the first as the message). */
  read(input: OptionInput): OptionValues<S>;
  /** zod shape of the values, to build the stored config's schema from (lazily: zod objects cost start-up). */
  schemaShape(): OptionShape<S>;
}

/** The variable's text as the option's raw value: lists split at commas, booleans parsed. */
function fromEnv(spec: OptionSpec<unknown>, text: string, name: string): RawValue {
  if (spec.type === "list") return text.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (spec.type === "boolean") return parseBool(name, text);
  return text;
}

export function defineOptions<S extends Specs>(specs: S): OptionSet<S> {
  const flags = Object.values(specs).map(
    (s): DriverFlag => ({
      name: s.flag,
      type: s.type,
      description: s.help,
      env: s.env,
      ...(s.envAliases === undefined || s.envAliases.length === 0 ? {} : { envAliases: s.envAliases }),
      ...(s.default === undefined ? {} : { default: s.default }),
      ...(s.placeholder === undefined ? {} : { placeholder: s.placeholder }),
    }),
  );
  return {
    specs,
    flags,
    read(input) {
      const values: Record<string, unknown> = {};
      const problems: UsageError[] = [];
      for (const [key, spec] of Object.entries(specs)) {
        try {
          const cli = input.cli[spec.flag];
          const envName = [spec.env, ...(spec.envAliases ?? [])].find((n) => input.env[n] !== undefined);
          const envText = envName === undefined ? undefined : input.env[envName];
          if (cli !== undefined) values[key] = spec.convert(cli, `--${spec.flag}`);
          else if (envName !== undefined && envText !== undefined) values[key] = spec.convert(fromEnv(spec, envText, envName), envName);
          else values[key] = spec.convert(spec.default, `--${spec.flag}`);
        } catch (err) {
          if (!(err instanceof UsageError)) throw err;
          problems.push(err);
        }
      }
      if (problems.length > 0) throw combinedUsageError(problems);
      return values as OptionValues<S>;
    },
    schemaShape() {
      return Object.fromEntries(Object.entries(specs).map(([k, s]) => [k, s.zod()])) as OptionShape<S>;
    },
  };
}

/** true/false as users write them in variables ("1", "yes", "off", ...). */
export function parseBool(name: string, value: string): boolean {
  const v = value.trim().toLowerCase();
  if (["1", "true", "yes", "on", "t"].includes(v)) return true;
  if (["0", "false", "no", "off", "f", ""].includes(v)) return false;
  throw new UsageError(`Invalid value ${JSON.stringify(value)} for ${name}: expected true or false`);
}

interface Common {
  flag: string;
  env: string;
  envAliases?: readonly string[];
  help: string;
  placeholder?: string;
}

/**
 * A string option. `required` is the whole message when it is missing or empty; `check`
 * returns why a value is bad ("expected ...", shown after `Invalid --flag "value": `);
 * `map` normalises a good one (a path made absolute). Without a default, a missing value
 * is "". The stored value must be non-empty when the option is required or has a default.
 */
export function stringOption(o: Common & { default?: string; required?: string; check?: (v: string) => string | undefined; map?: (v: string) => string }): OptionSpec<string> {
  return {
    ...o,
    type: "string",
    convert(raw, name) {
      const v = raw === undefined ? "" : String(raw);
      if (v === "") {
        if (o.required) throw new UsageError(o.required);
        return "";
      }
      const why = o.check?.(v);
      if (why !== undefined) throw invalid(name, v, why);
      return o.map ? o.map(v) : v;
    },
    zod: () => (o.required || (o.default ?? "") !== "" ? z.string().check(z.minLength(1)) : z.string()),
  };
}

/** A whole number in [min, max]; `expected` describes the range ("a size in MB between 256 and 1048576"). */
export function intOption(o: Common & { default: number; min: number; max: number; expected?: string }): OptionSpec<number> {
  const expected = o.expected ?? `a whole number from ${o.min} to ${o.max}`;
  return {
    ...o,
    type: "int",
    convert(raw, name) {
      let n: number;
      if (raw === undefined || raw === "") n = o.default;
      else if (typeof raw === "number") n = raw;
      else if (typeof raw === "string" && /^\s*-?\d+\s*$/.test(raw)) n = Number(raw);
      else throw invalid(name, raw, "expected a whole number");
      if (!Number.isInteger(n) || n < o.min || n > o.max) throw invalid(name, n, `expected ${expected}`);
      return n;
    },
    zod: () => z.int().check(z.minimum(o.min), z.maximum(o.max)),
  };
}

/** One of `values`, matched without regard to case; `expected` overrides "one of a, b, c". */
export function enumOption<const T extends string>(o: Common & { values: readonly T[]; default: T; expected?: string; caseSensitive?: boolean }): OptionSpec<T> {
  const expected = o.expected ?? `one of ${o.values.join(", ")}`;
  return {
    ...o,
    type: "string",
    convert(raw, name) {
      const v = raw === undefined || raw === "" ? o.default : String(raw);
      const hit = o.values.find((a) => (o.caseSensitive ? a === v : a.toLowerCase() === v.toLowerCase()));
      if (hit === undefined) throw invalid(name, v, `expected ${expected}`);
      return hit;
    },
    zod: () => z.enum(o.values as unknown as [T, ...T[]]) as unknown as z.ZodMiniType<T>,
  };
}

/** A switch: present (or a true variable) means true. */
export function boolOption(o: Common): OptionSpec<boolean> {
  return {
    ...o,
    type: "boolean",
    convert(raw, name) {
      if (raw === undefined) return false;
      if (typeof raw === "boolean") return raw;
      return parseBool(name, String(raw));
    },
    zod: () => z.boolean(),
  };
}

/** A repeatable flag (comma-separated in its variable); `each` checks and normalises one item, throwing UsageError. */
export function listOption(o: Common & { each?: (v: string, name: string) => string }): OptionSpec<string[]> {
  return {
    ...o,
    type: "list",
    convert(raw, name) {
      const items = raw === undefined ? [] : Array.isArray(raw) ? [...(raw as readonly string[])] : [String(raw)];
      return o.each ? items.map((v) => o.each!(v, name)) : items;
    },
    zod: () => z.array(z.string()),
  };
}

/** A stored value's problems as one line (`path: message; ...`), or undefined when it is valid. */
export function schemaProblems(schema: z.ZodMiniType, value: unknown): string | undefined {
  const parsed = schema.safeParse(value);
  return parsed.success ? undefined : parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
}

/** Throws one UsageError for several (the first as the message, the others as details). */
export function combinedUsageError(problems: readonly UsageError[]): UsageError {
  return new UsageError(problems[0]!.message, { details: problems.slice(1).map((p) => p.message) });
}

/**
 * Runs each check and returns their results; when any throws UsageError, throws one
 * UsageError naming every problem (checks that need a lazily loaded rule module report
 * together with the rest).
 */
export function checkAll<T extends readonly unknown[]>(checks: { [K in keyof T]: () => T[K] }): T {
  const problems: UsageError[] = [];
  const out = checks.map((check) => {
    try {
      return check();
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      problems.push(err);
      return undefined;
    }
  });
  if (problems.length > 0) throw combinedUsageError(problems);
  return out as unknown as T;
}
