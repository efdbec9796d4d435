/**
 * Bootable cloud-style Debian 12 disk images for the QEMU tests, built from Debian packages
 * only (no cloud.debian.org here): the same boot path as Debian's genericcloud image.
 *
 *   MBR disk (3 GiB virtual), one ext4 partition, GRUB for i386-pc in the MBR gap,
 *   linux-image-cloud-amd64 with an initramfs, systemd, cloud-init (NoCloud and friends),
 *   openssh-server (+ sftp-server), sudo, netplan.io + systemd-networkd + systemd-resolved
 *   (cloud-init's fallback config: DHCP on the first NIC), cloud-guest-utils (growpart, so a
 *   grown disk is used at boot), serial console on ttyS0, no SSH host keys, no machine id,
 *   no users but root (cloud-init creates them), LANG=C.UTF-8.
 *   `debian12-cloud-docker` adds Debian's docker.io (apt-get install with recommends, enabled).
 *
 * ensureVmImage(kind) returns the image as a compressed qcow2 plus a SHA512SUMS text in the
 * format cloud.debian.org publishes (`<sha512>  <file name>`). The file is named like
 * Debian's (`debian-12-genericcloud-amd64.qcow2`), so tests can serve it under Debian's path.
 *
 * Cache: `<cache>/vm-images/<kind>-<12 hex>/{debian-12-genericcloud-amd64.qcow2,SHA512SUMS}`,
 * the hex a hash of the recipe (packages, scripts, disk layout, apt sources, base recipe).
 * A build runs under the `vm-image-<kind>` lock (the derived kind takes its base's lock
 * inside its own), in a temp dir under `<cache>/build/`, and appears with one rename, so
 * concurrent callers (also across processes) build once and never see a partial image.
 * Superseded builds of the kind are removed.
 *
 * Needs root, loop devices, and: debootstrap, qemu-utils (qemu-img), fdisk (sfdisk), util-linux
 * (losetup, partx, mount, blkid, fstrim, flock), e2fsprogs (mkfs.ext4).
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, symlinkSync, chmodSync } from 'node:fs';
import { basename, join } from 'node:path';
import { debianMirror, imageSourcesList, readAptSources } from '../bed/images.js';
import { cacheDir, run, runOk, sleep, tail, withLock } from '../bed/util.js';

export type VmImageKind = 'debian12-cloud' | 'debian12-cloud-docker';
export const VM_IMAGE_KINDS: readonly VmImageKind[] = ['debian12-cloud', 'debian12-cloud-docker'];

export interface VmImage {
  /** The compressed qcow2 (read-only use: boot overlays on it). */
  qcow2Path: string;
  /** SHA-512 of the qcow2, hex. */
  sha512: string;
  /** `<sha512>  debian-12-genericcloud-amd64.qcow2\n`, as Debian's SHA512SUMS files. */
  sha512sumsText: string;
}

/** Bump when the build procedure (not a recipe) changes, to rebuild every kind. */
const BUILD_PROCEDURE_VERSION = 2;
export const VM_IMAGE_FILE = 'debian-12-genericcloud-amd64.qcow2';
const DISK_SIZE = '3G';
const SUITE = 'bookworm';

interface VmRecipe {
  /** Packages for debootstrap --include (base kinds). */
  debootstrapInclude?: readonly string[];
  /** apt-get install --no-install-recommends, in the chroot (base kinds). */
  packages?: readonly string[];
  /** Derived kind: start from this kind's disk and apt-get install `aptInstall` (with recommends). */
  base?: VmImageKind;
  aptInstall?: readonly string[];
  /** /bin/sh script run in the chroot after the packages; ROOT_UUID and DISK are set. */
  script: string;
}

/**
 * The base customisation. Each step says why it is there. Runs in the chroot with /proc, /sys,
 * a small /dev (with the loop device of the disk and its partition) and /run mounted.
 */
const CLOUD_SCRIPT = String.raw`set -eu
export DEBIAN_FRONTEND=noninteractive LC_ALL=C

# Mount the root by UUID, as cloud images do (the disk is vda under QEMU, sda elsewhere).
printf 'UUID=%s / ext4 rw,discard,errors=remount-ro 0 1\n' "$ROOT_UUID" >/etc/fstab

# Boot loader: GRUB i386-pc in the MBR gap, menu hidden, kernel and GRUB on the serial console
# (the tests and 'tsm logs' read ttyS0) as well as the screen.
cat >/etc/default/grub <<'GRUB'
GRUB_DEFAULT=0
GRUB_TIMEOUT=0
GRUB_TIMEOUT_STYLE=hidden
GRUB_DISTRIBUTOR="Debian"
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX="console=tty0 console=ttyS0,115200n8"
GRUB_TERMINAL="console serial"
GRUB_SERIAL_COMMAND="serial --speed=115200 --unit=0 --word=8 --parity=no --stop=1"
GRUB_DISABLE_OS_PROBER=true
GRUB_DISABLE_RECOVERY=true
GRUB
grub-install --target=i386-pc --boot-directory=/boot "$DISK"
update-grub
grep -q "root=UUID=$ROOT_UUID" /boot/grub/grub.cfg || { echo "grub.cfg does not mount root by UUID" >&2; exit 1; }

# Network: cloud-init renders netplan (DHCP on the first NIC by default) for systemd-networkd;
# DNS through systemd-resolved.
systemctl enable systemd-networkd.service systemd-resolved.service
systemctl enable ssh.service

# SSH: cloud-init's ssh module creates the host keys on first boot (ssh_deletekeys and
# ssh_genkeytypes defaults), so every VM has its own; sshd waits for it (cloud-init.service
# orders itself before ssh.service).
rm -f /etc/ssh/ssh_host_*

# Each VM gets its own machine id (systemd creates one at boot when the file is empty).
: >/etc/machine-id
rm -f /var/lib/dbus/machine-id

# A system locale: without it cloud-init's locale module fails and 'cloud-init status' says error.
printf 'LANG=C.UTF-8\n' >/etc/default/locale

# Set at first boot by cloud-init from the seed.
printf 'localhost\n' >/etc/hostname
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >/etc/hosts

# Nothing of the build may leak into instances: cloud-init state, logs, caches, package lists
# (stale by the time the VM runs: the VM's apt-get update fetches them).
rm -rf /var/lib/cloud/* /var/log/cloud-init*.log
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /tmp/* /var/tmp/* /var/log/apt/* /var/log/dpkg.log /var/log/bootstrap.log
`;

const CLEANUP = String.raw`apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /tmp/* /var/tmp/* /var/log/apt/* /var/log/dpkg.log
`;

const RECIPES: Record<VmImageKind, VmRecipe> = {
  'debian12-cloud': {
    debootstrapInclude: ['systemd-sysv', 'ca-certificates'],
    packages: [
      'linux-image-cloud-amd64',
      'initramfs-tools',
      'grub-pc-bin',
      'grub2-common',
      'udev',
      'kmod',
      'e2fsprogs',
      'fdisk',
      'cloud-init',
      'cloud-guest-utils',
      'openssh-server',
      'openssh-sftp-server',
      'sudo',
      'dbus',
      'netplan.io',
      'systemd-resolved',
      'systemd-timesyncd',
      'iproute2',
      'curl',
      'procps',
      'less',
    ],
    script: CLOUD_SCRIPT,
  },
  /** The base plus Debian's docker.io (as `apt-get install docker.io` on a server), enabled. */
  'debian12-cloud-docker': {
    base: 'debian12-cloud',
    aptInstall: ['docker.io'],
    script: `set -eu\nsystemctl enable docker.service containerd.service\n${CLEANUP}`,
  },
};

/** Hash of everything that determines the content of `kind`'s disk (12 hex digits). */
export function vmRecipeHash(kind: VmImageKind, sources = readAptSources()): string {
  const r = RECIPES[kind];
  return createHash('sha256')
    .update(
      JSON.stringify({
        v: BUILD_PROCEDURE_VERSION,
        arch: process.arch,
        kind,
        recipe: r,
        suite: SUITE,
        disk: DISK_SIZE,
        file: VM_IMAGE_FILE,
        sourcesList: imageSourcesList(SUITE, sources),
        base: r.base ? vmRecipeHash(r.base, sources) : undefined,
      }),
    )
    .digest('hex')
    .slice(0, 12);
}

function imagesDir(): string {
  return join(cacheDir(), 'vm-images');
}

function imageDir(kind: VmImageKind, hash: string): string {
  return join(imagesDir(), `${kind}-${hash}`);
}

const pending = new Map<VmImageKind, Promise<VmImage>>();
const LOCK_WAIT_MS = 60 * 60_000;

/** See the file comment. */
export function ensureVmImage(kind: VmImageKind): Promise<VmImage> {
  if (!RECIPES[kind]) return Promise.reject(new Error(`[test bed] unknown VM image kind ${JSON.stringify(kind)}`));
  let p = pending.get(kind);
  if (!p) {
    p = ensureUncached(kind).catch((e: unknown) => {
      pending.delete(kind);
      throw e;
    });
    pending.set(kind, p);
  }
  return p;
}

function readCached(dir: string): VmImage | undefined {
  const qcow2Path = join(dir, VM_IMAGE_FILE);
  const sumsPath = join(dir, 'SHA512SUMS');
  if (!existsSync(qcow2Path) || !existsSync(sumsPath)) return undefined;
  const sha512sumsText = readFileSync(sumsPath, 'utf8');
  const m = /^([0-9a-f]{128}) {2}(\S+)$/m.exec(sha512sumsText);
  if (!m || m[2] !== VM_IMAGE_FILE) return undefined;
  return { qcow2Path, sha512: m[1]!, sha512sumsText };
}

async function ensureUncached(kind: VmImageKind): Promise<VmImage> {
  const hash = vmRecipeHash(kind);
  const dir = imageDir(kind, hash);
  const hit = readCached(dir);
  if (hit) return hit;
  return withLock(`vm-image-${kind}`, LOCK_WAIT_MS, async () => {
    const again = readCached(dir);
    if (again) return again; // built by another process while we waited
    const base = RECIPES[kind].base;
    // Lock order is always derived -> base.
    const baseImage = base ? await withLock(`vm-image-${base}`, LOCK_WAIT_MS, () => buildIfMissing(base)) : undefined;
    const image = await build(kind, hash, baseImage);
    prune(kind, hash);
    return image;
  });
}

/** Under `kind`'s lock: the cached image, built first if missing. */
async function buildIfMissing(kind: VmImageKind): Promise<VmImage> {
  const hash = vmRecipeHash(kind);
  const hit = readCached(imageDir(kind, hash));
  if (hit) return hit;
  if (RECIPES[kind].base) throw new Error(`[test bed] nested derived VM images are not supported (${kind})`);
  const image = await build(kind, hash, undefined);
  prune(kind, hash);
  return image;
}

function log(msg: string): void {
  process.stderr.write(`[test bed] ${msg}\n`);
}

const secs = (t0: number): string => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

/** Builds `kind` (its base, if any, is `baseImage`) into its cache dir. */
async function build(kind: VmImageKind, hash: string, baseImage: VmImage | undefined): Promise<VmImage> {
  const r = RECIPES[kind];
  const buildRoot = join(cacheDir(), 'build');
  mkdirSync(buildRoot, { recursive: true });
  mkdirSync(imagesDir(), { recursive: true });
  const work = mkdtempSync(join(buildRoot, `vm-${kind}-`));
  const raw = join(work, 'disk.raw');
  const out = join(work, 'out');
  mkdirSync(out);
  const t0 = Date.now();
  log(`building VM image ${kind} (${hash}) in ${work}${r.base ? '' : ': debootstrap and packages take several minutes'}`);
  try {
    if (baseImage) {
      await runOk('qemu-img', ['convert', '-O', 'raw', baseImage.qcow2Path, raw], { timeoutMs: 10 * 60_000 });
    } else {
      await runOk('truncate', ['-s', DISK_SIZE, raw]);
      // MBR, one bootable Linux partition from 1 MiB to the end (GRUB's core.img goes in the gap).
      await runOk('sfdisk', ['--quiet', raw], { input: 'label: dos\nstart=2048, type=83, bootable\n' });
    }
    await withDisk(raw, !baseImage, async (disk) => {
      const rootfs = disk.mountpoint;
      if (!baseImage) {
        const t1 = Date.now();
        await debootstrap(r.debootstrapInclude ?? [], rootfs);
        log(`debootstrap for ${kind} took ${secs(t1)}`);
      }
      await withChrootMounts(rootfs, disk, async () => {
        writeFileSync(join(rootfs, 'etc/apt/sources.list'), imageSourcesList(SUITE));
        // apt in the chroot resolves the mirror with this machine's DNS; the image gets
        // systemd-resolved's stub later.
        rmSync(join(rootfs, 'etc/resolv.conf'), { force: true });
        writeFileSync(join(rootfs, 'etc/resolv.conf'), readFileSync('/etc/resolv.conf'));
        // Maintainer scripts must not start daemons in the build environment.
        writeFileSync(join(rootfs, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 });
        const install = r.packages?.length
          ? `apt-get install -y -q --no-install-recommends ${r.packages.join(' ')}`
          : `apt-get install -y -q ${(r.aptInstall ?? []).join(' ')}`;
        const t2 = Date.now();
        await chroot(rootfs, `set -eu\nexport DEBIAN_FRONTEND=noninteractive LC_ALL=C\napt-get update -q\n${install}\n`, {}, 30 * 60_000);
        log(`${install.replace(/ -y -q/, '')} for ${kind} took ${secs(t2)}`);
        const t3 = Date.now();
        await chroot(rootfs, r.script, { ROOT_UUID: disk.uuid, DISK: disk.loop }, 10 * 60_000);
        log(`customising ${kind} took ${secs(t3)}`);
        rmSync(join(rootfs, 'usr/sbin/policy-rc.d'), { force: true });
        // What a booted Debian has: resolv.conf is systemd-resolved's stub.
        rmSync(join(rootfs, 'etc/resolv.conf'), { force: true });
        symlinkSync('../run/systemd/resolve/stub-resolv.conf', join(rootfs, 'etc/resolv.conf'));
      });
      // Free blocks become holes in the raw file, so the qcow2 holds only live data.
      await runOk('fstrim', [rootfs]);
    });
    const qcow2 = join(out, VM_IMAGE_FILE);
    const t4 = Date.now();
    await runOk('qemu-img', ['convert', '-c', '-O', 'qcow2', raw, qcow2], { timeoutMs: 30 * 60_000 });
    log(`qemu-img convert -c for ${kind} took ${secs(t4)}`);
    chmodSync(qcow2, 0o444);
    rmSync(raw, { force: true });
    const sha512 = await sha512File(qcow2);
    const sha512sumsText = `${sha512}  ${VM_IMAGE_FILE}\n`;
    writeFileSync(join(out, 'SHA512SUMS'), sha512sumsText);
    const dest = imageDir(kind, hash);
    rmSync(dest, { recursive: true, force: true });
    renameSync(out, dest);
    log(`built VM image ${kind} (${hash}) in ${secs(t0)}`);
    return { qcow2Path: join(dest, VM_IMAGE_FILE), sha512, sha512sumsText };
  } finally {
    await run('rm', ['-rf', '--one-file-system', work]);
  }
}

export function sha512File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha512');
    createReadStream(path)
      .on('data', (c) => h.update(c))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

interface Disk {
  /** The whole disk's loop device, e.g. /dev/loop3. */
  loop: string;
  /** Its first partition, e.g. /dev/loop3p1. */
  part: string;
  uuid: string;
  mountpoint: string;
}

/**
 * Attaches `raw` to a loop device with its partition (`losetup -P` makes no partition devices
 * on some kernels, so partx adds them), optionally makes the ext4 filesystem, mounts it, runs
 * `fn`, and always undoes all of it.
 */
async function withDisk(raw: string, mkfs: boolean, fn: (disk: Disk) => Promise<void>): Promise<void> {
  const loop = (await runOk('losetup', ['--find', '--show', raw])).stdout.trim();
  const mountpoint = join(raw, '..', 'mnt');
  mkdirSync(mountpoint, { recursive: true });
  let mounted = false;
  try {
    await runOk('partx', ['--add', loop]);
    const part = `${loop}p1`;
    for (let i = 0; !existsSync(part); i++) {
      if (i > 50) throw new Error(`[test bed] ${part} did not appear after partx --add ${loop}`);
      await sleep(100);
    }
    if (mkfs) await runOk('mkfs.ext4', ['-q', '-L', 'root', '-U', randomUUID(), part]);
    const uuid = (await runOk('blkid', ['-p', '-s', 'UUID', '-o', 'value', part])).stdout.trim();
    await runOk('mount', [part, mountpoint]);
    mounted = true;
    await fn({ loop, part, uuid, mountpoint });
  } finally {
    if (mounted) await run('umount', ['-R', mountpoint]);
    await run('partx', ['--delete', loop]);
    await run('losetup', ['--detach', loop]);
  }
}

/**
 * /proc, /sys, /run and a small /dev (tmpfs with the usual character devices, /dev/pts, the
 * disk's loop device and partition, which grub-install and update-grub look for, and the
 * partition's /dev/disk/by-uuid link) inside
 * the rootfs while `fn` runs.
 */
async function withChrootMounts(rootfs: string, disk: Disk, fn: () => Promise<void>): Promise<void> {
  const mounts: string[] = [];
  const mount = async (target: string, args: string[]): Promise<void> => {
    const t = join(rootfs, target);
    mkdirSync(t, { recursive: true });
    await runOk('mount', [...args, t]);
    mounts.unshift(t);
  };
  try {
    await mount('proc', ['-t', 'proc', 'proc']);
    await mount('sys', ['-t', 'sysfs', 'sysfs']);
    await mount('run', ['-t', 'tmpfs', '-o', 'mode=0755', 'tmpfs']);
    await mount('dev', ['-t', 'tmpfs', '-o', 'mode=0755,size=1m', 'tmpfs']);
    const dev = join(rootfs, 'dev');
    const nodes: Array<[string, number, number, 'c' | 'b']> = [
      ['null', 1, 3, 'c'],
      ['zero', 1, 5, 'c'],
      ['full', 1, 7, 'c'],
      ['random', 1, 8, 'c'],
      ['urandom', 1, 9, 'c'],
      ['tty', 5, 0, 'c'],
    ];
    for (const path of [disk.loop, disk.part]) {
      const name = basename(path);
      const [maj, min] = readFileSync(`/sys/class/block/${name}/dev`, 'utf8').trim().split(':').map(Number) as [number, number];
      nodes.push([name, maj, min, 'b']);
    }
    for (const [name, maj, min, type] of nodes) {
      await runOk('mknod', ['-m', type === 'c' ? '0666' : '0660', join(dev, name), type, String(maj), String(min)]);
    }
    for (const [link, target] of [
      ['fd', '/proc/self/fd'],
      ['stdin', '/proc/self/fd/0'],
      ['stdout', '/proc/self/fd/1'],
      ['stderr', '/proc/self/fd/2'],
      ['ptmx', 'pts/ptmx'],
    ] as const) {
      symlinkSync(target, join(dev, link));
    }
    mkdirSync(join(dev, 'shm'));
    // update-grub writes root=UUID=... only when /dev/disk/by-uuid/<uuid> exists (else the
    // build's device name, /dev/loopNp1, which does not exist at boot).
    mkdirSync(join(dev, 'disk/by-uuid'), { recursive: true });
    symlinkSync(`../../${basename(disk.part)}`, join(dev, 'disk/by-uuid', disk.uuid));
    await mount('dev/pts', ['-t', 'devpts', '-o', 'newinstance,ptmxmode=0666', 'devpts']);
    await fn();
  } finally {
    for (const m of mounts) {
      const r = await run('umount', [m]);
      if (r.exitCode !== 0) await run('umount', ['-l', m]);
    }
  }
}

async function debootstrap(include: readonly string[], rootfs: string): Promise<void> {
  const debs = join(cacheDir(), 'debs');
  mkdirSync(debs, { recursive: true });
  const args = ['--variant=minbase', `--include=${include.join(',')}`, `--cache-dir=${debs}`, SUITE, rootfs, debianMirror(SUITE)];
  const res = await run('debootstrap', args, { timeoutMs: 30 * 60_000 });
  if (res.exitCode !== 0) {
    let detail = '';
    try {
      detail = tail(readFileSync(join(rootfs, 'debootstrap/debootstrap.log'), 'utf8'), 30);
    } catch {
      /* no log */
    }
    throw new Error(`[test bed] debootstrap exited with ${res.exitCode}:\n${tail(res.stdout + res.stderr, 20)}\n${detail}`);
  }
}

/** Runs a /bin/sh script inside the rootfs with `env` set (copied to /tmp there, removed afterwards). */
async function chroot(rootfs: string, script: string, env: Record<string, string>, timeoutMs: number): Promise<void> {
  const name = `tsm-vm-image-${process.pid}.sh`;
  writeFileSync(join(rootfs, 'tmp', name), script, { mode: 0o700 });
  try {
    await runOk('chroot', [rootfs, '/bin/sh', `/tmp/${name}`], {
      timeoutMs,
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', LC_ALL: 'C', ...env },
    });
  } finally {
    rmSync(join(rootfs, 'tmp', name), { force: true });
  }
}

/** Removes other recipes' builds of `kind` (never another kind whose name extends this one). */
function prune(kind: VmImageKind, hash: string): void {
  for (const f of readdirSync(imagesDir())) {
    if (f.startsWith(`${kind}-`) && /^[0-9a-f]{12}$/.test(f.slice(kind.length + 1)) && f !== `${kind}-${hash}`) {
      rmSync(join(imagesDir(), f), { recursive: true, force: true });
    }
  }
}
