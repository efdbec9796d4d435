import { describe, expect, it } from "vitest";
import { ExitCode, TsmError } from "../../../src/model/errors.js";
import {
  SshAuthError,
  SshCommandTimeoutError,
  SshConnectionLostError,
  SshHostKeyMismatchError,
  SshKeyFileError,
  SshUnreachableError,
  hostPort,
} from "../../../src/ssh/errors.js";

describe("SSH errors", () => {
  it("are TsmErrors with stable codes and exit status 1", () => {
    const errors: TsmError[] = [
      new SshHostKeyMismatchError("h", 22, "a", "b"),
      new SshAuthError("h", 22, "u", ["key file /k"]),
      new SshUnreachableError("h", 22, 3, 2000, "x"),
      new SshConnectionLostError("h", 22, "op"),
      new SshKeyFileError("/k", "why"),
      new SshCommandTimeoutError("h", 22, "cmd", 1000),
    ];
    expect(errors.map((e) => e.code)).toEqual([
      "SSH_HOST_KEY_MISMATCH",
      "SSH_AUTH",
      "SSH_UNREACHABLE",
      "SSH_CONNECTION_LOST",
      "SSH_KEY_FILE",
      "SSH_COMMAND_TIMEOUT",
    ]);
    for (const e of errors) {
      expect(e).toBeInstanceOf(TsmError);
      expect(e.exitCode).toBe(ExitCode.failed);
    }
  });

  it("say what happened and what to do", () => {
    expect(new SshHostKeyMismatchError("10.0.0.5", 22, "ssh-ed25519 SHA256:aaa", "ssh-ed25519 SHA256:bbb", "web").message).toBe(
      'The SSH host key of 10.0.0.5:22 has changed (expected ssh-ed25519 SHA256:aaa, got ssh-ed25519 SHA256:bbb). If the host was reinstalled, accept the new key with "tsm ssh-trust web"; otherwise someone may be intercepting the connection.',
    );
    expect(new SshHostKeyMismatchError("::1", 2222, "a", "b").message).toContain('[::1]:2222 has changed (expected a, got b). If the host was reinstalled, accept the new key with "tsm ssh-trust <machine>"');
    expect(
      new SshAuthError("10.0.0.5", 22, "core", ["key file /k/id (ssh-ed25519)", "ssh-agent at /run/a.sock"], { serverMethods: ["publickey", "password"] })
        .message,
    ).toBe(
      'SSH authentication as "core" on 10.0.0.5:22 was refused (tried: key file /k/id (ssh-ed25519); ssh-agent at /run/a.sock). The server accepts: publickey, password. Check the user name, and that the public key is in ~core/.ssh/authorized_keys on the host.',
    );
    expect(new SshUnreachableError("10.0.0.5", 22, 5, 2034, "connect ECONNREFUSED 10.0.0.5:22").message).toBe(
      "Cannot reach SSH on 10.0.0.5:22: 5 attempts in 2.0 s, the last failed with: connect ECONNREFUSED 10.0.0.5:22. Check that the host is running, that the address and port are right, and that no firewall blocks the port.",
    );
    expect(new SshConnectionLostError("10.0.0.5", 22, 'the command "sleep 5"', { reason: "read ECONNRESET" }).message).toBe(
      'The SSH connection to 10.0.0.5:22 was lost during the command "sleep 5" (read ECONNRESET).',
    );
    expect(new SshCommandTimeoutError("h", 22, `apt-get install -y\n  ${"x".repeat(100)}`, 30_000).message).toMatch(
      /^The command "apt-get install -y x+…" on h:22 did not finish within 30\.0 s and was stopped\.$/,
    );
    expect(hostPort("example.com", 22)).toBe("example.com:22");
  });
});
