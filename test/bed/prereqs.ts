/**
 * Prerequisites of real-host tests, and the DESIGN.md rule for missing ones: a test that
 * cannot find its prerequisites FAILS in CI (CI=true) and is SKIPPED, with the reason,
 * elsewhere.
 *
 * Usage in a vitest file:
 *   const bed = testBedPrerequisites();
 *   describeTestBed('generic driver', bed, () => { ... });
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, it } from 'vitest';

/** Looks `cmd` up in PATH plus the sbin directories (where Debian puts dockerd and debootstrap). */
export function which(cmd: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const d of dirs) {
    if (!d) continue;
    const p = join(d, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

export interface Prerequisites {
  ok: boolean;
  /** Why not, one line per missing item; empty when ok. */
  missing: string[];
}

/**
 * Checks what the bed needs on this machine. `needs` selects the checks: `image` (building
 * images: debootstrap, chroot, tar, flock), `docker` (the engine: docker, dockerd, root) and
 * `ssh` (the OpenSSH client). Default: all.
 */
export function testBedPrerequisites(needs: ReadonlyArray<'docker' | 'image' | 'ssh'> = ['docker', 'image', 'ssh']): Prerequisites {
  const missing: string[] = [];
  const need = (cmd: string, pkg: string): void => {
    if (!which(cmd)) missing.push(`\`${cmd}\` not found (apt-get install ${pkg})`);
  };
  if (process.platform !== 'linux') missing.push(`not Linux (${process.platform})`);
  if (typeof process.getuid === 'function' && process.getuid() !== 0) missing.push('not running as root');
  if (needs.includes('docker')) {
    need('docker', 'docker.io');
    need('dockerd', 'docker.io');
    need('flock', 'util-linux');
  }
  if (needs.includes('image')) {
    need('debootstrap', 'debootstrap');
    need('chroot', 'coreutils');
    need('tar', 'tar');
  }
  if (needs.includes('ssh')) {
    need('ssh', 'openssh-client');
    need('ssh-keygen', 'openssh-client');
  }
  return { ok: missing.length === 0, missing };
}

export function inCI(): boolean {
  return process.env.CI === 'true' || process.env.CI === '1';
}

/**
 * `describe` that runs when the prerequisites are met; otherwise a failing test in CI and a
 * skipped suite (named with the reason) elsewhere.
 */
export function describeTestBed(name: string, pre: Prerequisites, body: () => void): void {
  if (pre.ok) {
    describe(name, body);
  } else if (inCI()) {
    describe(name, () => {
      it('has the test-bed prerequisites (required in CI)', () => {
        throw new Error(`test bed prerequisites missing in CI:\n- ${pre.missing.join('\n- ')}`);
      });
    });
  } else {
    describe.skip(`${name} [skipped: ${pre.missing.join('; ')}]`, body);
  }
}
