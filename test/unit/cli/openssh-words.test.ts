/**
 * `tsm ssh` reads what follows the verb from the command line as typed (Docker Machine hands
 * it to ssh unparsed): tsm's global options before the verb are skipped with their values.
 */
import { Command, Option } from "commander";
import { expect, it } from "vitest";
import { wordsAfterVerb } from "../../../src/cli/commands/ssh.js";

const program = new Command("tsm")
  .addOption(new Option("-s, --storage-path <path>"))
  .addOption(new Option("-D, --debug"))
  .version("x", "-v, --version");

it("finds the words after the verb, whatever global options come before it", () => {
  expect(wordsAfterVerb(program, ["ssh", "m", "-C", "--", "ls"], "ssh")).toEqual(["m", "-C", "--", "ls"]);
  // A store path that is itself called "ssh" is the option's value, not the verb.
  expect(wordsAfterVerb(program, ["-s", "ssh", "ssh", "m"], "ssh")).toEqual(["m"]);
  expect(wordsAfterVerb(program, ["--storage-path=/x", "-D", "ssh", "m", "-s"], "ssh")).toEqual(["m", "-s"]);
  expect(wordsAfterVerb(program, ["--storage-path", "/x", "ssh"], "ssh")).toEqual([]);
});

it("says it cannot tell (undefined) for command lines of another shape", () => {
  expect(wordsAfterVerb(program, ["ls"], "ssh")).toBeUndefined();
  expect(wordsAfterVerb(program, ["--unknown", "ssh", "m"], "ssh")).toBeUndefined();
  expect(wordsAfterVerb(program, ["--", "ssh"], "ssh")).toBeUndefined();
  expect(wordsAfterVerb(program, [], "ssh")).toBeUndefined();
});
