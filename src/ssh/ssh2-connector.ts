/**
 * The SshConnector on ssh2 (the seam is client.ts): one `Client` per session, shared by
 * every exec and SFTP operation of a tsm operation (a provision is dozens of commands;
 * reconnecting for each is what made Docker Machine slow).
 *
 * Contract: this file only assembles an SshSession from the modules that do the work, one
 * concern each: connect.ts (target, authentication, host key pinning, retries, deadline),
 * connection.ts (connection loss and the channel budget shared by everything below),
 * channels.ts (exec and interactive sessions: timeouts, abort, exit statuses) and sftp.ts
 * (file transfer). It is loaded by a dynamic import when a command first connects, and
 * ssh2 with it (load.ts), so that store-only commands never pay for ssh2.
 */
import type { ExecOptions, ExecResult, InteractiveOptions, SshConnectOptions, SshConnector, SshSession, TransferOptions } from "./client.js";
import { exec, interactive } from "./channels.js";
import { connect } from "./connect.js";
import { Connection, type Env, type Log } from "./connection.js";
import { SftpFiles } from "./sftp.js";

export const ssh2Connector: SshConnector = async (options: SshConnectOptions): Promise<SshSession> => {
  const log: Log = options.log ?? (() => {});
  const env: Env = options.env ?? process.env;
  const { client, hostKey, hostPublicKey } = await connect(options, log, env);
  return new Ssh2Session(new Connection(client, options.target, log), hostKey, hostPublicKey, env);
};

class Ssh2Session implements SshSession {
  private readonly files: SftpFiles;

  constructor(
    private readonly connection: Connection,
    readonly hostKey: string,
    readonly hostPublicKey: string,
    private readonly env: Env,
  ) {
    this.files = new SftpFiles(connection);
  }

  exec(command: string, options?: ExecOptions): Promise<ExecResult> {
    return exec(this.connection, command, options);
  }

  interactive(options: InteractiveOptions): Promise<number> {
    return interactive(this.connection, this.env, options);
  }

  writeFile(remotePath: string, content: string | Buffer, mode: number): Promise<void> {
    return this.files.writeFile(remotePath, content, mode);
  }

  readFile(remotePath: string): Promise<Buffer> {
    return this.files.readFile(remotePath);
  }

  upload(localPath: string, remotePath: string, options: TransferOptions): Promise<void> {
    return this.files.upload(localPath, remotePath, options);
  }

  download(remotePath: string, localPath: string, options: TransferOptions): Promise<void> {
    return this.files.download(remotePath, localPath, options);
  }

  close(): void {
    this.connection.close();
  }
}
