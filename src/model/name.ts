/**
 * The machine-name rule, once: Docker Machine's hostname rule (no spaces, slashes, shell
 * metacharacters, or leading dot or dash). Names become directory names, lock names and
 * the host's hostname, so every floor checks them here. No zod: `env` and `url` use it.
 */
import { InvalidMachineNameError } from "./errors.js";

export const MACHINE_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9.-]*$/;

export function isValidMachineName(name: string): boolean {
  return MACHINE_NAME_PATTERN.test(name);
}

/** Throws InvalidMachineNameError (exit 2) unless `name` is a valid machine name. */
export function validateMachineName(name: string): string {
  if (!isValidMachineName(name)) throw new InvalidMachineNameError(name);
  return name;
}
