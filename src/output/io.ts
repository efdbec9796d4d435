/**
 * The process's streams as a dependency: stdout carries the product (the env
 * script, the table, the JSON), stderr carries progress and errors. Commands
 * never touch process.stdout directly, so tests can record both streams.
 */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  readonly stdoutIsTTY: boolean;
  readonly stderrIsTTY: boolean;
  readonly stdinIsTTY: boolean;
  /** Reads one line from stdin; undefined at end of input. */
  readLine(): Promise<string | undefined>;
}

export function processIo(): Io {
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    stdoutIsTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
    stdinIsTTY: process.stdin.isTTY === true,
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
