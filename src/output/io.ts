/**
 * The process's streams as a dependency: stdout carries the product (the env
 * script, the table, the JSON), stderr carries progress and errors. Commands
 * never touch process.stdout directly, so tests can record both streams.
 */
import { writeSync } from "node:fs";

export interface Io {
  out(text: string): void;
  err(text: string): void;
  readonly stdoutIsTTY: boolean;
  readonly stderrIsTTY: boolean;
  readonly stdinIsTTY: boolean;
  /** Reads one line from stdin; undefined at end of input. */
  readLine(): Promise<string | undefined>;
}

/**
 * Writes straight to the file descriptor. Touching process.stdout would build a
 * stream object, and with it Node's net and stream modules: several
 * milliseconds that `tsm env` cannot spare. Output is small, so a blocking
 * write is fine; EAGAIN (a non-blocking pipe that is full) is retried.
 */
function writeAll(fd: number, text: string): void {
  let buf = Buffer.from(text, "utf8");
  while (buf.length > 0) {
    try {
      const n = writeSync(fd, buf);
      buf = buf.subarray(n);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EAGAIN") continue;
      if (code === "EPIPE") return; // the reader went away (e.g. `tsm ls | head`): nothing more to say
      throw err;
    }
  }
}

export function processIo(): Io {
  return {
    out: (text) => writeAll(1, text),
    err: (text) => writeAll(2, text),
    // Getters: asking costs a stream object, so only commands that care pay for it.
    get stdoutIsTTY() {
      return process.stdout.isTTY === true;
    },
    get stderrIsTTY() {
      return process.stderr.isTTY === true;
    },
    get stdinIsTTY() {
      return process.stdin.isTTY === true;
    },
    readLine: () =>
      new Promise((resolve) => {
        let buf = "";
        const onData = (chunk: Buffer) => {
          buf += chunk.toString("utf8");
          const nl = buf.indexOf("\n");
          if (nl >= 0) finish(buf.slice(0, nl));
        };
        const onEnd = () => finish(buf === "" ? undefined : buf);
        const finish = (line: string | undefined) => {
          process.stdin.off("data", onData);
          process.stdin.off("end", onEnd);
          process.stdin.pause();
          resolve(line?.replace(/\r$/, ""));
        };
        process.stdin.on("data", onData);
        process.stdin.on("end", onEnd);
        process.stdin.resume();
      }),
  };
}
