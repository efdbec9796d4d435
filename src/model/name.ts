/**
 * The machine-name rule, once: Docker Machine's hostname rule (no spaces, slashes, shell
 * metacharacters, or leading dot or dash), and at most MACHINE_NAME_MAX characters. Names
 * become directory names, lock names and the host's hostname, so every floor checks them
 * here. No zod: `env` and `url` use it.
 *
 * The limit is Linux's HOST_NAME_MAX (64): the name becomes the host's hostname, and every
 * file name tsm derives from it then stays far below the 255-byte limit of file names
 * (Docker Machine had no limit; names of 243 characters or more failed with ENAMETOOLONG).
 */
import { InvalidMachineNameError } from "./errors.js";

/** The longest machine name: Linux's HOST_NAME_MAX. */
export const MACHINE_NAME_MAX = 64;

/** Docker Machine's characters and MACHINE_NAME_MAX of them (the record schema uses it too). */
export const MACHINE_NAME_PATTERN = new RegExp(`^[a-zA-Z0-9][a-zA-Z0-9.-]{0,${MACHINE_NAME_MAX - 1}}$`);

export function isValidMachineName(name: string): boolean {
  return MACHINE_NAME_PATTERN.test(name);
}

/** Throws InvalidMachineNameError (exit 2) unless `name` is a valid machine name. */
export function validateMachineName(name: string): string {
  if (isValidMachineName(name)) return name;
  throw new InvalidMachineNameError(name, name.length > MACHINE_NAME_MAX ? { maxLength: MACHINE_NAME_MAX } : {});
}
