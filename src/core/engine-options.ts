/**
 * Validation of the engine and TLS flags given to `create`. Values are kept
 * exactly as given (spaces, quotes and `$` included): the provisioner quotes
 * them for the remote shell; here we only refuse what cannot be meaningful.
 */
import { isIP } from "node:net";
import { UsageError } from "../model/errors.js";
import { INSTALL_METHODS, type InstallMethod } from "../model/machine.js";

const OPT_NAME = /^[a-zA-Z0-9][a-zA-Z0-9-]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DNS_NAME = /^(\*\.)?[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*\.?$/;

function hasControlChars(v: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /[\x00-\x1f\x7f]/.test(v);
}

/** `--engine-opt name=value` or `--engine-opt name` (a boolean dockerd flag). */
export function checkEngineOpt(value: string): string {
  const eq = value.indexOf("=");
  const name = eq < 0 ? value : value.slice(0, eq);
  if (!OPT_NAME.test(name) || hasControlChars(value)) {
    throw new UsageError(`Invalid --engine-opt ${JSON.stringify(value)}: expected NAME=VALUE with a dockerd flag name, e.g. log-driver=journald`);
  }
  return value;
}

/** `--engine-label key=value`. */
export function checkEngineLabel(value: string): string {
  const eq = value.indexOf("=");
  if (eq <= 0 || hasControlChars(value)) {
    throw new UsageError(`Invalid --engine-label ${JSON.stringify(value)}: expected KEY=VALUE, e.g. env=staging`);
  }
  return value;
}

/** `--engine-env NAME=value`. */
export function checkEngineEnv(value: string): string {
  const eq = value.indexOf("=");
  if (eq <= 0 || !ENV_NAME.test(value.slice(0, eq)) || /[\n\r\0]/.test(value)) {
    throw new UsageError(`Invalid --engine-env ${JSON.stringify(value)}: expected NAME=VALUE with NAME made of letters, digits and _`);
  }
  return value;
}

/** Registries and mirrors: host[:port] or a URL, no whitespace. */
export function checkRegistry(flag: string, value: string): string {
  if (value === "" || /\s/.test(value) || hasControlChars(value)) {
    throw new UsageError(`Invalid --${flag} ${JSON.stringify(value)}: expected HOST[:PORT] or a URL without spaces`);
  }
  return value;
}

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
  if (method === "binary" && binaryUrl === "") {
    throw new UsageError("--engine-install-method binary needs --engine-binary-url URL (a static docker-*.tgz)");
  }
  return method as InstallMethod;
}
