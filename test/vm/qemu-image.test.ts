/**
 * The VM test bed end to end: build the cloud-style Debian 12 images from Debian packages,
 * boot each under QEMU (TCG here) with a NoCloud seed written by src/cloudinit/seed.ts, and
 * check what the QEMU driver will rely on: SSH as `docker` with the seed's key through the
 * forwarded port, cloud-init done, the seed's hostname, passwordless sudo, and (for the
 * -docker kind) a running engine. Timings are printed for the record.
 *
 * Run with `npx vitest run --project vm` (root, loop devices, qemu-system-x86 and qemu-utils,
 * debootstrap, fdisk, e2fsprogs, openssh-client).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildNoCloudSeed } from '../../src/cloudinit/seed.js';
import { generateTestKeyPair, type TestKeyPair } from '../bed/hosts.js';
import { describeTestBed } from '../bed/prereqs.js';
import { ensureVmImage, sha512File, VM_IMAGE_FILE, type VmImage, type VmImageKind } from './image.js';
import { startVm, vmPrerequisites, type TestVm } from './qemu.js';

const USER = 'docker';
let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'tsm-vm-test-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
function report(line: string): void {
  process.stderr.write(`[vm timing] ${line}\n`);
}

function vmSuite(kind: VmImageKind): void {
  describeTestBed(`QEMU test image ${kind}`, vmPrerequisites(), () => {
    let image: VmImage;
    let key: TestKeyPair;
    let vm: TestVm | undefined;
    const hostname = `tsm-${kind.replace(/^debian12-/, '')}`;
    // Both ways a driver may attach the seed: a CD-ROM on virtio-scsi, or a read-only virtio disk.
    const seedDevice = kind === 'debian12-cloud' ? 'scsi-cd' : 'virtio-blk';

    beforeAll(async () => {
      key = await generateTestKeyPair(join(scratch, kind), { comment: `tsm-vm-test ${kind}` });
      const t = Date.now();
      image = await ensureVmImage(kind);
      report(`${kind}: ensureVmImage ${s(Date.now() - t)}; qcow2 ${(statSync(image.qcow2Path).size / 2 ** 20).toFixed(0)} MiB`);
      const seed = buildNoCloudSeed({ instanceId: `iid-${hostname}-${Date.now()}`, hostname, user: USER, authorizedKeys: [key.publicKey] });
      vm = await startVm({ baseImage: image.qcow2Path, seed, name: hostname, diskSize: '6G', seedDevice });
      report(`${kind}: overlay ${vm.timings.overlayMs} ms, seed ${vm.timings.seedMs} ms, QEMU launch ${vm.timings.launchMs} ms (${vm.accel}, seed as ${seedDevice})`);
      const sshMs = await vm.waitForSsh({ user: USER, privateKeyPath: key.privateKeyPath, timeoutMs: 10 * 60_000 });
      report(`${kind}: QEMU start to SSH login as ${USER} ${s(sshMs)}`);
      const r = await vm.ssh(USER, key.privateKeyPath, 'cloud-init status --wait >/dev/null 2>&1; cloud-init status --long', { timeoutMs: 10 * 60_000 });
      const doneMs = Date.now() - vm.startedAt;
      report(`${kind}: QEMU start to cloud-init finished ${s(doneMs)} (${s(doneMs - sshMs)} after SSH)`);
      if (!/^status: done$/m.test(r.stdout)) process.stderr.write(`cloud-init status:\n${r.stdout}${r.stderr}\n`);
    }, 60 * 60_000);

    afterAll(async () => {
      if (!vm) return;
      const t = Date.now();
      const how = await vm.stop({ timeoutMs: 120_000 });
      report(`${kind}: stop (${how}) ${s(Date.now() - t)}`);
      await vm.destroy();
    }, 5 * 60_000);

    it('comes with a SHA512SUMS line in Debian\'s format that matches the qcow2', async () => {
      expect(image.sha512sumsText).toBe(`${image.sha512}  ${VM_IMAGE_FILE}\n`);
      expect(await sha512File(image.qcow2Path)).toBe(image.sha512);
    });

    it('finishes cloud-init with status done', async () => {
      const r = await vm!.ssh(USER, key.privateKeyPath, 'cloud-init status --long');
      expect(r.stdout).toMatch(/^status: done$/m);
      // Found on the device the seed was attached as.
      expect(r.stdout).toContain(`DataSourceNoCloud [seed=${seedDevice === 'virtio-blk' ? '/dev/vdb' : '/dev/sr0'}]`);
      // cloud-init's own schema check of the seed's user-data ("Valid cloud-config: system userdata" in 22.4).
      const schema = await vm!.ssh(USER, key.privateKeyPath, 'sudo -n cloud-init schema --system 2>&1');
      expect(schema.exitCode, schema.stdout).toBe(0);
      expect(schema.stdout).toMatch(/^Valid (cloud-config|schema)/m);
    });

    it('has the hostname from the seed and the user with passwordless sudo', async () => {
      const r = await vm!.ssh(USER, key.privateKeyPath, 'hostname; id -un; getent passwd docker | cut -d: -f7; sudo -n true && echo sudo-ok');
      expect(r.stdout.trim().split('\n')).toEqual([hostname, USER, '/bin/bash', 'sudo-ok']);
    });

    it('refuses password logins and grew the root filesystem to the overlay size', async () => {
      const r = await vm!.ssh(USER, key.privateKeyPath, 'sudo -n sshd -T | grep -i "^passwordauthentication"; df -B1M --output=size / | tail -1');
      const [pw, size] = r.stdout.trim().split('\n');
      expect(pw).toBe('passwordauthentication no');
      expect(Number(size)).toBeGreaterThan(5000); // 6 GiB disk, was 3 GiB in the image
    });

    if (kind === 'debian12-cloud-docker') {
      it('runs the Docker Engine', async () => {
        const r = await vm!.ssh(USER, key.privateKeyPath, "sudo -n docker version --format '{{.Server.Version}}'", { timeoutMs: 120_000 });
        expect(r.exitCode, r.stderr).toBe(0);
        expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
      });
    }
  });
}

vmSuite('debian12-cloud');
vmSuite('debian12-cloud-docker');
