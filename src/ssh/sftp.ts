/**
 * File transfer over the connection's one SFTP channel, opened on first use and reopened
 * after it closes.
 *
 * Contract (the SshSession methods of the same names, client.ts): `writeFile` replaces the
 * file atomically (temporary name in the same directory, exact mode, then rename over the
 * target); `upload` and `download` follow `cp`/`scp` rules (into an existing directory
 * under the source's own name, directories only with `recursive`, permission bits kept,
 * symlinks followed, special files skipped). Failures name the file as SshFileTransferError;
 * a missing SFTP subsystem is SshConnectError; a dying connection is SshConnectionLostError.
 */
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readdir, stat } from "node:fs/promises";
import path from "node:path";
import type { SFTPWrapper, Stats } from "ssh2";
import type { TransferOptions } from "./client.js";
import type { Connection } from "./connection.js";
import { SshConnectError, SshFileTransferError, hostPort } from "./errors.js";

export class SftpFiles {
  private channel: Promise<SFTPWrapper> | undefined;

  constructor(private readonly conn: Connection) {}

  private sftp(): Promise<SFTPWrapper> {
    const conn = this.conn;
    if (conn.lost) return Promise.reject(conn.lostError("opening SFTP"));
    this.channel ??= new Promise<SFTPWrapper>((resolve, reject) => {
      const untrack = conn.track("opening SFTP", reject);
      const onSftp = (err: Error | undefined, sftp: SFTPWrapper) => {
        untrack();
        if (err) {
          this.channel = undefined;
          return reject(
            conn.orLost(
              "opening SFTP",
              new SshConnectError(conn.target.host, conn.target.port, `the SFTP subsystem is not available (${err.message}); check the server's "Subsystem sftp" setting`, {
                cause: err,
              }),
            ),
          );
        }
        sftp.on("error", (e: Error) => conn.log(`ssh: sftp error: ${e.message}`));
        sftp.on("close", () => {
          this.channel = undefined;
        });
        resolve(sftp);
      };
      const onThrow = (err: Error) => {
        untrack();
        this.channel = undefined;
        reject(err);
      };
      conn.openChannel<SFTPWrapper>("opening SFTP", onThrow, (cb) => conn.client.sftp(cb), onSftp);
    });
    return this.channel;
  }

  /** Runs one SFTP request; failures name the remote file, connection loss is SshConnectionLostError. */
  private async sftpCall<T>(verb: string, remotePath: string, call: (sftp: SFTPWrapper, cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
    const sftp = await this.sftp();
    const operation = `SFTP ${verb} ${remotePath}`;
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const untrack = this.conn.track(operation, (err) => {
        done = true;
        reject(err);
      });
      try {
        call(sftp, (err, value) => {
          if (done) return;
          done = true;
          untrack();
          if (err) return reject(this.conn.orLost(operation, this.remoteFileError(verb, remotePath, err)));
          resolve(value as T);
        });
      } catch (err) {
        done = true;
        untrack();
        reject(err);
      }
    });
  }

  private remoteFileError(verb: string, remotePath: string, err: Error): SshFileTransferError {
    return new SshFileTransferError(verb, `${hostPort(this.conn.target.host, this.conn.target.port)}:${remotePath}`, sftpReason(err), { cause: err });
  }

  /** The remote file's attributes (symlinks followed), or undefined when it does not exist. */
  private async remoteStat(remotePath: string): Promise<Stats | undefined> {
    try {
      return await this.sftpCall<Stats>("stat", remotePath, (s, cb) => s.stat(remotePath, cb));
    } catch (err) {
      if (err instanceof SshFileTransferError && isNoSuchFile(err.cause)) return undefined;
      throw err;
    }
  }

  async writeFile(remotePath: string, content: string | Buffer, mode: number): Promise<void> {
    const dir = path.posix.dirname(remotePath);
    const tmp = path.posix.join(dir, `.${path.posix.basename(remotePath)}.tsm-${randomBytes(6).toString("hex")}`);
    const data = typeof content === "string" ? Buffer.from(content, "utf8") : content;
    try {
      await this.sftpCall<void>("write", remotePath, (s, cb) => s.writeFile(tmp, data, { mode }, (err) => cb(err)));
      // The open() mode went through the server's umask; set it exactly before the file appears under its name.
      await this.sftpCall<void>("chmod", remotePath, (s, cb) => s.chmod(tmp, mode, (err) => cb(err)));
      await this.rename(tmp, remotePath);
    } catch (err) {
      if (!this.conn.lost) {
        await this.sftpCall<void>("remove", tmp, (s, cb) => s.unlink(tmp, (e) => cb(e))).catch(() => undefined);
      }
      throw err;
    }
  }

  /** Replaces `to` atomically with OpenSSH's posix-rename extension; plain SFTP rename refuses an existing target. */
  private async rename(from: string, to: string): Promise<void> {
    try {
      await this.sftpCall<void>("rename onto", to, (s, cb) => s.ext_openssh_rename(from, to, (err) => cb(err)));
      return;
    } catch (err) {
      if (!(err instanceof Error && /does not support/i.test(err.message))) throw err;
    }
    this.conn.log("ssh: server lacks posix-rename@openssh.com; replacing the file in two steps");
    await this.sftpCall<void>("remove", to, (s, cb) => s.unlink(to, (e) => cb(e))).catch((e: unknown) => {
      if (!(e instanceof SshFileTransferError && isNoSuchFile(e.cause))) throw e;
    });
    await this.sftpCall<void>("rename onto", to, (s, cb) => s.rename(from, to, (err) => cb(err)));
  }

  readFile(remotePath: string): Promise<Buffer> {
    return this.sftpCall<Buffer>("read", remotePath, (s, cb) => s.readFile(remotePath, cb));
  }

  async upload(localPath: string, remotePath: string, options: TransferOptions): Promise<void> {
    const st = await localStat(localPath, "upload");
    let dest = remotePath;
    const existing = await this.remoteStat(remotePath);
    if (existing?.isDirectory()) dest = path.posix.join(remotePath, path.basename(path.resolve(localPath)));
    if (st.isDirectory()) {
      if (!options.recursive) throw new SshFileTransferError("upload", localPath, "it is a directory (copy directories recursively, with -r)");
      await this.uploadDir(localPath, dest, st.mode & 0o777, new Set());
    } else if (st.isFile()) {
      await this.uploadFile(localPath, dest, st.mode & 0o777);
    } else {
      throw new SshFileTransferError("upload", localPath, "it is not a regular file or directory");
    }
  }

  private async uploadFile(localPath: string, remotePath: string, mode: number): Promise<void> {
    this.conn.log(`ssh: upload ${localPath} -> ${remotePath}`);
    // fastPut reads the local file itself; check it opens first so a local problem is reported as local.
    await new Promise<void>((resolve, reject) => {
      const s = createReadStream(localPath, { start: 0, end: 0 });
      s.on("error", (err) => reject(new SshFileTransferError("upload", localPath, (err as NodeJS.ErrnoException).code ?? err.message, { cause: err })));
      s.on("open", () => {
        s.destroy();
        resolve();
      });
    });
    await this.sftpCall<void>("upload to", remotePath, (s, cb) => s.fastPut(localPath, remotePath, { mode }, (err) => cb(err)));
  }

  private async uploadDir(localDir: string, remoteDir: string, mode: number, seen: Set<string>): Promise<void> {
    const st = await localStat(localDir, "upload");
    const id = `${st.dev}:${st.ino}`;
    if (seen.has(id)) {
      this.conn.log(`ssh: skipping ${localDir}: symlink loop`);
      return;
    }
    seen.add(id);
    const existing = await this.remoteStat(remoteDir);
    if (existing === undefined) {
      await this.sftpCall<void>("create directory", remoteDir, (s, cb) => s.mkdir(remoteDir, { mode }, (err) => cb(err)));
    } else if (!existing.isDirectory()) {
      throw this.remoteFileError("upload to", remoteDir, new Error("it exists and is not a directory"));
    }
    let entries;
    try {
      entries = await readdir(localDir);
    } catch (err) {
      throw new SshFileTransferError("upload", localDir, (err as NodeJS.ErrnoException).code ?? (err as Error).message, { cause: err });
    }
    for (const name of entries.sort()) {
      const local = path.join(localDir, name);
      const remote = path.posix.join(remoteDir, name);
      let est;
      try {
        est = await stat(local); // follows symlinks, like scp -r
      } catch {
        this.conn.log(`ssh: skipping ${local}: broken symlink or vanished`);
        continue;
      }
      if (est.isDirectory()) await this.uploadDir(local, remote, est.mode & 0o777, seen);
      else if (est.isFile()) await this.uploadFile(local, remote, est.mode & 0o777);
      else this.conn.log(`ssh: skipping ${local}: not a regular file`);
    }
  }

  async download(remotePath: string, localPath: string, options: TransferOptions): Promise<void> {
    const st = await this.remoteStat(remotePath);
    if (st === undefined) throw this.remoteFileError("download", remotePath, Object.assign(new Error("No such file"), { code: 2 }));
    let dest = localPath;
    const existing = await stat(localPath).catch(() => undefined);
    if (existing?.isDirectory()) dest = path.join(localPath, path.posix.basename(remotePath.replace(/\/+$/, "")) || "root");
    if (st.isDirectory()) {
      if (!options.recursive) throw this.remoteFileError("download", remotePath, new Error("it is a directory (copy directories recursively, with -r)"));
      await this.downloadDir(remotePath, dest, st.mode & 0o777, 0);
    } else if (st.isFile()) {
      await this.downloadFile(remotePath, dest, st.mode & 0o777);
    } else {
      throw this.remoteFileError("download", remotePath, new Error("it is not a regular file or directory"));
    }
  }

  private async downloadFile(remotePath: string, localPath: string, mode: number): Promise<void> {
    this.conn.log(`ssh: download ${remotePath} -> ${localPath}`);
    await this.sftpCall<void>("download", remotePath, (s, cb) => s.fastGet(remotePath, localPath, { mode }, (err) => cb(err)));
  }

  /** Remote symlinks are followed; the depth bound stops a link loop, which SFTP gives no inode numbers to detect. */
  private async downloadDir(remoteDir: string, localDir: string, mode: number, depth: number): Promise<void> {
    if (depth > 64) throw this.remoteFileError("download", remoteDir, new Error("directories nested more than 64 deep (a symlink loop?)"));
    try {
      await mkdir(localDir, { mode: mode | 0o700 });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const isDir = code === "EEXIST" && (await stat(localDir).catch(() => undefined))?.isDirectory();
      if (!isDir) throw new SshFileTransferError("create", localDir, code ?? (err as Error).message, { cause: err });
    }
    const entries = await this.sftpCall<Array<{ filename: string; attrs: Stats }>>("list", remoteDir, (s, cb) => s.readdir(remoteDir, cb));
    for (const entry of entries.sort((a, b) => (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0))) {
      if (entry.filename === "." || entry.filename === "..") continue;
      const remote = path.posix.join(remoteDir, entry.filename);
      const local = path.join(localDir, entry.filename);
      let attrs = entry.attrs;
      if (attrs.isSymbolicLink()) {
        const target = await this.remoteStat(remote);
        if (!target) {
          this.conn.log(`ssh: skipping ${remote}: broken symlink`);
          continue;
        }
        attrs = target;
      }
      if (attrs.isDirectory()) await this.downloadDir(remote, local, attrs.mode & 0o777, depth + 1);
      else if (attrs.isFile()) await this.downloadFile(remote, local, attrs.mode & 0o777);
      else this.conn.log(`ssh: skipping ${remote}: not a regular file`);
    }
  }
}

async function localStat(localPath: string, verb: string) {
  try {
    return await stat(localPath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SshFileTransferError(verb, localPath, code === "ENOENT" ? "no such file or directory" : (code ?? (err as Error).message), { cause: err });
  }
}

/** SFTP status 2 (SSH_FX_NO_SUCH_FILE). */
function isNoSuchFile(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === 2;
}

function sftpReason(err: Error): string {
  const code = (err as { code?: unknown }).code;
  if (code === 2) return "no such file or directory";
  if (code === 3) return "permission denied";
  return err.message;
}
