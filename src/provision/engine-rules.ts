/**
 * The engine-option rules, once: what an `--engine-opt`, `--engine-label`,
 * `--engine-env`, registry, storage driver, install method, URL and `--tls-san` may
 * be. Two readers apply them:
 *
 * - `create` checks the flags as typed (the `check*` functions). A bad value is a
 *   UsageError (exit 2) naming the flag, raised before anything is created; the
 *   value is returned unchanged.
 * - The engine plan (engine-plan.ts) checks the machine record again before a host
 *   is touched (the `assert*` and `parse*` functions): a record may come from an
 *   older tsm or a hand edit, and some refusals only apply there (settings tsm
 *   manages itself, values a service definition cannot carry, such as a tab in an
 *   --engine-env value). Those are InvalidEngineOptionError (ENGINE_OPTION, exit 2).
 *
 * Both readers share the syntax below (flag names, variable names, NAME=VALUE
 * splitting, control characters). Values are kept exactly as given (spaces, quotes
 * and `$` included): the renderers quote them for systemd, the shell or JSON; here
 * only what cannot be meaningful is refused. Tests assert the messages byte for byte.
 * Pure, and light to load: it imports only src/model and the provisioner's errors.
 */
import { isIP } from "node:net";
import { UsageError } from "../model/errors.js";
import { INSTALL_METHODS, type InstallMethod } from "../model/machine.js";
import { InvalidEngineOptionError } from "./errors.js";

// ---- Syntax shared by both readers ----

/** A dockerd flag name as `--engine-opt` gives it, without the leading dashes. */
export const ENGINE_OPT_NAME = /^[A-Za-z0-9][A-Za-z0-9-]*$/;

/** An environment variable name: letters, digits and _, not starting with a digit (POSIX, systemd.exec(5)). */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const DNS_NAME = /^(\*\.)?[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*\.?$/;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;

/** The value holds a control character (newline, tab, NUL, DEL...). */
export function hasControlChar(value: string): boolean {
  return CONTROL.test(value);
}

/** Splits `NAME=VALUE` at the first "="; `value` is undefined when there is no "=" (a boolean dockerd flag). */
export function splitAssignment(text: string): { name: string; value?: string } {
  const eq = text.indexOf("=");
  return eq < 0 ? { name: text } : { name: text.slice(0, eq), value: text.slice(eq + 1) };
}

/** The key of an engine label: the text before the first "=", or the whole label when it has none. */
export function labelKey(label: string): string {
  return splitAssignment(label).name;
}

/** The `binary` install method without the tarball's URL (create refuses it, and so does the install plan for a record). */
export function missingBinaryUrl(method: string, binaryUrl: string): boolean {
  return method === "binary" && binaryUrl === "";
}

/** `KEY=VALUE` with a non-empty key. */
function isKeyValue(text: string): boolean {
  const { name, value } = splitAssignment(text);
  return value !== undefined && name !== "";
}

// ---- create: the flags as typed (UsageError) ----

/** `--engine-opt name=value` or `--engine-opt name` (a boolean dockerd flag). */
export function checkEngineOpt(value: string): string {
  if (!ENGINE_OPT_NAME.test(splitAssignment(value).name) || hasControlChar(value)) {
    throw new UsageError(`Invalid --engine-opt ${JSON.stringify(value)}: expected NAME=VALUE with a dockerd flag name, e.g. log-driver=journald`);
  }
  return value;
}

/** `--engine-label key=value`. */
export function checkEngineLabel(value: string): string {
  if (!isKeyValue(value) || hasControlChar(value)) {
    throw new UsageError(`Invalid --engine-label ${JSON.stringify(value)}: expected KEY=VALUE, e.g. env=staging`);
  }
  return value;
}

/** `--engine-env NAME=value`. Only line breaks and NUL are refused here; the engine plan refuses every control character. */
export function checkEngineEnv(value: string): string {
  if (!isKeyValue(value) || !ENV_NAME.test(splitAssignment(value).name) || /[\n\r\0]/.test(value)) {
    throw new UsageError(`Invalid --engine-env ${JSON.stringify(value)}: expected NAME=VALUE with NAME made of letters, digits and _`);
  }
  return value;
}

/** Registries and mirrors: host[:port] or a URL, no whitespace. */
export function checkRegistry(flag: string, value: string): string {
  if (value === "" || /\s/.test(value) || hasControlChar(value)) {
    throw new UsageError(`Invalid --${flag} ${JSON.stringify(value)}: expected HOST[:PORT] or a URL without spaces`);
  }
  return value;
}

/** `--engine-storage-driver`: empty (dockerd's default) or a driver name. */
export function checkStorageDriver(value: string): string {
  if (value !== "" && !/^[a-z0-9][a-z0-9._-]*$/.test(value)) {
    throw new UsageError(`Invalid --engine-storage-driver ${JSON.stringify(value)}: expected a storage driver name such as overlay2`);
  }
  return value;
}

/** `--tls-san`: an IP address or a DNS name. */
export function checkTlsSan(value: string): string {
  if (isIP(value) === 0 && !(DNS_NAME.test(value) && value.length <= 253)) {
    throw new UsageError(`Invalid --tls-san ${JSON.stringify(value)}: expected an IP address or a DNS name`);
  }
  return value;
}

/** `--engine-install-url`, `--engine-binary-url`: an http(s) or file URL. */
export function checkUrl(flag: string, value: string): string {
  try {
    const u = new URL(value);
    if (u.protocol !== "https:" && u.protocol !== "http:" && u.protocol !== "file:") throw new Error("protocol");
  } catch {
    throw new UsageError(`Invalid --${flag} ${JSON.stringify(value)}: expected an http(s) URL`);
  }
  return value;
}

/** `--engine-install-method`; `binary` needs `--engine-binary-url`. */
export function checkInstallMethod(method: string, binaryUrl: string): InstallMethod {
  if (!(INSTALL_METHODS as readonly string[]).includes(method)) {
    throw new UsageError(`Invalid --engine-install-method ${JSON.stringify(method)}: use ${INSTALL_METHODS.join(", ")}`);
  }
  if (missingBinaryUrl(method, binaryUrl)) {
    throw new UsageError("--engine-install-method binary needs --engine-binary-url URL (a static docker-*.tgz)");
  }
  return method as InstallMethod;
}

// ---- the engine plan: the record, before a host is touched (InvalidEngineOptionError) ----

/** --engine-opt names tsm refuses: they would switch TLS off, move the listeners, or make dockerd ignore daemon.json. */
const MANAGED_OPTS: Record<string, string> = {
  H: "the listening addresses are set by tsm (-H fd:// or unix socket, plus tcp://0.0.0.0:<engine port>)",
  host: "the listening addresses are set by tsm (-H fd:// or unix socket, plus tcp://0.0.0.0:<engine port>)",
  tls: "TLS is set up by tsm",
  tlsverify: "TLS verification is always on",
  tlscacert: "the CA certificate is installed by tsm",
  tlscert: "the server certificate is installed by tsm",
  tlskey: "the server key is installed by tsm",
  "config-file": "tsm writes its settings to /etc/docker/daemon.json",
};

/** Refuses what cannot be written on one line of a service definition (newlines, other control characters). */
export function assertPrintable(what: string, value: string): void {
  if (hasControlChar(value)) {
    throw new InvalidEngineOptionError(
      `${what} ${JSON.stringify(value)} contains a control character (newline, tab...), which a service definition cannot carry`,
    );
  }
}

/** Refuses an environment variable name that is not one (systemd and the shell agree on the rule). */
export function assertEnvName(name: string): void {
  if (!ENV_NAME.test(name)) {
    throw new InvalidEngineOptionError(`Invalid environment variable name ${JSON.stringify(name)}: use letters, digits and _`);
  }
}

/** An environment variable tsm can set for dockerd: a valid name, a printable value. */
export function assertEnvironment(name: string, value: string): void {
  assertEnvName(name);
  assertPrintable(`The value of ${name}`, value);
}

/** A recorded --engine-opt: printable, a dockerd flag name, not a setting tsm manages itself. */
export function parseEngineOpt(opt: string): { name: string; value?: string } {
  assertPrintable("The engine option", opt);
  const parsed = splitAssignment(opt);
  if (!ENGINE_OPT_NAME.test(parsed.name)) {
    throw new InvalidEngineOptionError(`Invalid --engine-opt ${JSON.stringify(opt)}: expected NAME=VALUE with a dockerd flag name`);
  }
  const managed = MANAGED_OPTS[parsed.name];
  if (managed !== undefined) {
    throw new InvalidEngineOptionError(`--engine-opt ${JSON.stringify(opt)} is not allowed: ${managed}`);
  }
  return parsed;
}

/** A recorded --engine-env: `NAME=VALUE` with a valid name and a printable value. */
export function parseEngineEnv(text: string): { name: string; value: string } {
  const { name, value } = splitAssignment(text);
  if (value === undefined || name === "") {
    throw new InvalidEngineOptionError(`Invalid --engine-env ${JSON.stringify(text)}: expected NAME=VALUE`);
  }
  assertEnvironment(name, value);
  return { name, value };
}
