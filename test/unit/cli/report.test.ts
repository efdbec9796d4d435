import { CommanderError } from "commander";
import { describe, expect, it } from "vitest";
import { programName, reportError } from "../../../src/cli/report.js";
import { ExitCode, MachineNotFoundError, MultiMachineError, PreCreateCheckError, TsmError } from "../../../src/model/errors.js";
import type { Io } from "../../../src/output/io.js";

function fakeIo(): Io & { errText: () => string } {
  let err = "";
  return {
    out: () => {
      throw new Error("reportError must not write to stdout");
    },
    err: (t) => void (err += t),
    stdoutIsTTY: false,
    stderrIsTTY: false,
    stdinIsTTY: false,
    readLine: async () => undefined,
    errText: () => err,
  };
}

describe("reportError", () => {
  it("prints one line and the error's exit code, no stack without --debug", () => {
    const io = fakeIo();
    expect(reportError(new MachineNotFoundError("x"), io, false, ["tsm", "url", "x"])).toBe(ExitCode.notFound);
    expect(io.errText()).toBe('Error: Machine "x" does not exist. Use "tsm ls" to list machines, "tsm create" to add one.\n');
  });

  it("adds the cause chain with --debug", () => {
    const io = fakeIo();
    const err = new TsmError("INTERNAL", "outer", { cause: new Error("inner reason") });
    expect(reportError(err, io, true, ["tsm"])).toBe(ExitCode.failed);
    expect(io.errText()).toMatch(/^Error: outer\nError: inner reason\n {4}at /);
  });

  it("prints details lines after the message", () => {
    const io = fakeIo();
    reportError(new TsmError("INTERNAL", "failed", { details: ["hint one", "hint two"] }), io, false, ["tsm"]);
    expect(io.errText()).toBe("Error: failed\nhint one\nhint two\n");
  });

  it("maps pre-create failures to 3, like Docker Machine", () => {
    expect(reportError(new PreCreateCheckError("no"), fakeIo(), false, ["tsm"])).toBe(3);
  });

  it("keeps a shared exit code for several failures of one kind, else 1", () => {
    expect(reportError(new MultiMachineError([new MachineNotFoundError("a"), new MachineNotFoundError("b")]), fakeIo(), false, ["tsm"])).toBe(4);
    expect(reportError(new MultiMachineError([new MachineNotFoundError("a"), new TsmError("INTERNAL", "y")]), fakeIo(), false, ["tsm"])).toBe(1);
  });

  it("formats commander's errors as usage errors (exit 2) with a help hint", () => {
    const io = fakeIo();
    expect(reportError(new CommanderError(1, "commander.unknownOption", "error: unknown option '--x'"), io, false, ["tsm", "-s", "st", "ls", "--x"])).toBe(2);
    expect(io.errText()).toBe("Error: unknown option '--x'. See 'tsm ls --help'.\n");
    const io2 = fakeIo();
    reportError(new CommanderError(1, "commander.unknownCommand", "error: unknown command 'bogus'"), io2, false, ["tsm", "bogus"]);
    expect(io2.errText()).toBe("Error: 'bogus' is not a tsm command. See 'tsm --help'.\n");
  });

  it("treats help and version as success", () => {
    expect(reportError(new CommanderError(0, "commander.helpDisplayed", "(outputHelp)"), fakeIo(), false, ["tsm"])).toBe(0);
    expect(reportError(new CommanderError(0, "commander.version", "v"), fakeIo(), false, ["tsm"])).toBe(0);
  });

  it("says how to get details for an unexpected error", () => {
    const io = fakeIo();
    expect(reportError(new Error("boom"), io, false, ["tsm"])).toBe(1);
    expect(io.errText()).toBe("Error: boom\n(run with --debug for details)\n");
  });
});

describe("programName", () => {
  it("is 'tsm' for the installed bin, else the path as run", () => {
    expect(programName("/usr/local/bin/tsm")).toBe("tsm");
    expect(programName("/work/dist/tsm.cjs")).toBe("/work/dist/tsm.cjs");
  });

  it("is 'docker-machine' for a docker-machine symlink or copy", () => {
    expect(programName("/usr/local/bin/docker-machine")).toBe("docker-machine");
  });
});
