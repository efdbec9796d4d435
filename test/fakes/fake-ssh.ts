/**
 * A fake SSH session: commands are answered by a function, file transfers are
 * recorded; interactive sessions and SFTP file access fail loudly.
 */
import type { ExecResult, SshSession } from "../../src/ssh/client.js";

export interface FakeSshLog {
  execs: string[];
  transfers: Array<{ op: "upload" | "download"; from: string; to: string; recursive: boolean }>;
  closed: number;
}

export function fakeSshSession(hostKey: string, answer: (command: string) => ExecResult, log: FakeSshLog): SshSession {
  const refuse = (what: string) => async (): Promise<never> => {
    throw new Error(`unexpected SSH ${what}`);
  };
  return {
    hostKey,
    hostPublicKey: `${hostKey.split(" ")[0]} AAAAfake`,
    exec: async (command) => {
      log.execs.push(command);
      return answer(command);
    },
    interactive: refuse("interactive session"),
    writeFile: refuse("writeFile"),
    readFile: refuse("readFile"),
    upload: async (from, to, o) => void log.transfers.push({ op: "upload", from, to, recursive: o.recursive }),
    download: async (from, to, o) => void log.transfers.push({ op: "download", from, to, recursive: o.recursive }),
    close: () => void log.closed++,
  };
}

export function emptySshLog(): FakeSshLog {
  return { execs: [], transfers: [], closed: 0 };
}
