/**
 * Test-host images built from Debian packages only (there is no Docker Hub here).
 *
 * Contract of ensureImage(kind): returns the tag of a local image for `kind` whose content
 * matches the current build recipe. The tag embeds a hash of the recipe (packages,
 * customisation script, apt sources, image settings), so editing the recipe rebuilds, and an
 * unchanged recipe is a cache hit:
 *   1. the image is already in the engine: ~0.1 s;
 *   2. else a rootfs tarball `<cache>/images/<kind>-<hash>.tar` exists (e.g. a fresh
 *      /var/lib/docker, or CI restoring the cache dir): `docker import` it, a few seconds;
 *   3. else build: debootstrap into a temp dir (.debs kept in `<cache>/debs`), customise in a
 *      chroot, tar it into the cache, import it. About 1.5 minutes here.
 * Builds of one kind are serialised across processes by a lock, so concurrent test files never
 * build the same image twice; superseded tarballs and images of the same kind are removed.
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { docker, dockerOk, ensureDockerd } from './dockerd.js';
import { cacheDir, run, runOk, tail, withLock } from './util.js';

/** Image kinds the bed can build. */
export type ImageKind =
  | 'debian12-systemd'
  | 'debian12-systemd-docker'
  | 'debian11-systemd'
  | 'debian11-systemd-docker'
  | 'debian13-systemd'
  | 'debian13-systemd-docker';
export const IMAGE_KINDS: readonly ImageKind[] = [
  'debian12-systemd',
  'debian12-systemd-docker',
  'debian11-systemd',
  'debian11-systemd-docker',
  'debian13-systemd',
  'debian13-systemd-docker',
];

/** Bump to force a rebuild of every kind when the build procedure (not a recipe) changes. */
const BUILD_PROCEDURE_VERSION = 1;

interface Recipe {
  suite: string;
  /** Packages passed to debootstrap --include (for a base image). */
  include?: readonly string[];
  /** Derived image: start from this kind's rootfs tarball and apt-get install `aptInstall`. */
  base?: ImageKind;
  aptInstall?: readonly string[];
  /** Shell script run with /bin/sh inside the chroot, after packages are in. */
  script: string;
  /** `docker import --change` instructions. */
  changes: readonly string[];
}

const SYSTEMD_CHANGES = ['CMD ["/sbin/init"]', 'ENV container=docker'] as const;

/**
 * Customisation of the Debian 12 systemd test host. Each step says why it is there.
 * Users: root (key login only), `tester` (passwordless sudo), `nosudo` (no sudo at all);
 * startHost() installs the authorized key for all three.
 */
const DEBIAN12_SYSTEMD_SCRIPT = String.raw`set -eu
export DEBIAN_FRONTEND=noninteractive LC_ALL=C

# ifupdown's networking.service waits for DHCP on eth0 forever in a container (docker
# configures the interface); mask it even though minbase does not ship ifupdown today.
# Minbase trixie has no /etc/network at all; create it so the mask and tools agree across releases.
mkdir -p /etc/network
systemctl mask networking.service
if [ -f /etc/network/interfaces ]; then printf 'auto lo\niface lo inet loopback\n' >/etc/network/interfaces; fi

# SSH host keys: every host must have its own (tests pin and compare host keys), so the image
# ships none and a oneshot unit creates them before ssh.service on first boot. They then
# persist across reboots like on a real server.
rm -f /etc/ssh/ssh_host_*
cat >/etc/systemd/system/tsm-ssh-hostkeys.service <<'UNIT'
[Unit]
Description=Generate missing SSH host keys (tsm test bed)
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A
RemainAfterExit=yes

[Install]
WantedBy=ssh.service
UNIT
systemctl enable tsm-ssh-hostkeys.service
systemctl enable ssh.service
cat >/etc/ssh/sshd_config.d/tsm-testbed.conf <<'CONF'
# tsm test bed: keys only, root by key, no reverse DNS (the bed has no DNS for clients).
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
CONF
mkdir -p /etc/ssh/sshd_config.d
# bullseye's sshd_config has no Include of sshd_config.d: add one (first match wins in sshd).
grep -q '^Include /etc/ssh/sshd_config.d/' /etc/ssh/sshd_config || sed -i '1i Include /etc/ssh/sshd_config.d/*.conf' /etc/ssh/sshd_config
install -d -m 0700 /root/.ssh

# Users. '*' (not '!') as password: no password login, but not a "locked" account either.
useradd --create-home --shell /bin/bash tester
useradd --create-home --shell /bin/bash nosudo
usermod -p '*' tester
usermod -p '*' nosudo
install -d -m 0700 -o tester -g tester /home/tester/.ssh
install -d -m 0700 -o nosudo -g nosudo /home/nosudo/.ssh
printf 'tester ALL=(ALL) NOPASSWD:ALL\n' >/etc/sudoers.d/tester
chmod 0440 /etc/sudoers.d/tester
visudo -c -q

# Each host gets its own machine id: systemd generates one at boot when the file is empty.
: >/etc/machine-id
rm -f /var/lib/dbus/machine-id
ln -s /etc/machine-id /var/lib/dbus/machine-id

# A system locale, as on installed servers (tools such as cloud-init and perl complain without).
printf 'LANG=C.UTF-8\n' >/etc/default/locale

# Smaller image; package lists are stale by the time a test runs: tests apt-get update.
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /tmp/* /var/tmp/* /var/log/apt/* /var/log/dpkg.log
`;

const BASE_INCLUDE = ['openssh-server', 'sudo', 'iproute2', 'ca-certificates', 'curl', 'systemd-sysv', 'dbus', 'procps', 'less'] as const;

const DOCKER_SCRIPT = String.raw`set -eu
systemctl enable docker.service containerd.service
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /tmp/* /var/tmp/* /var/log/apt/* /var/log/dpkg.log
`;

/** A systemd host of one Debian release, same customisation for every release. */
function baseRecipe(suite: string): Recipe {
  return { suite, include: BASE_INCLUDE, script: DEBIAN12_SYSTEMD_SCRIPT, changes: SYSTEMD_CHANGES };
}

/** `base` with that release's own docker.io installed and enabled. */
function dockerRecipe(suite: string, base: ImageKind): Recipe {
  return { suite, base, aptInstall: ['docker.io'], script: DOCKER_SCRIPT, changes: SYSTEMD_CHANGES };
}

const RECIPES: Record<ImageKind, Recipe> = {
  'debian12-systemd': baseRecipe('bookworm'),
  /**
   * debian12-systemd with Debian's docker.io already installed and enabled: a host where the
   * engine-install step has nothing to do (benchmarks, tests of configuration only).
   */
  'debian12-systemd-docker': dockerRecipe('bookworm', 'debian12-systemd'),
  /** Debian 11 (bullseye): docker.io 20.10.5, systemd 247. */
  'debian11-systemd': baseRecipe('bullseye'),
  'debian11-systemd-docker': dockerRecipe('bullseye', 'debian11-systemd'),
  /** Debian 13 (trixie): docker.io 26.x, systemd 257. */
  'debian13-systemd': baseRecipe('trixie'),
  'debian13-systemd-docker': dockerRecipe('trixie', 'debian13-systemd'),
};

// ---------------------------------------------------------------------------------------------
// apt sources of this machine

/** One apt source entry, whichever file format it came from. */
export interface AptSource {
  types: string[];
  uris: string[];
  suites: string[];
  components: string[];
}

/**
 * Reads the apt sources configured on this machine (/etc/apt/sources.list, *.list and deb822
 * *.sources under /etc/apt/sources.list.d/), skipping disabled entries.
 */
export function readAptSources(root = '/etc/apt'): AptSource[] {
  const out: AptSource[] = [];
  const files: string[] = [];
  if (existsSync(join(root, 'sources.list'))) files.push(join(root, 'sources.list'));
  const d = join(root, 'sources.list.d');
  if (existsSync(d)) {
    for (const f of readdirSync(d).sort()) if (f.endsWith('.list') || f.endsWith('.sources')) files.push(join(d, f));
  }
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    out.push(...(f.endsWith('.sources') ? parseDeb822Sources(text) : parseOneLineSources(text)));
  }
  return out;
}

/** Parses the one-line format: `deb [options] URI suite [component...]`. */
export function parseOneLineSources(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const m = /^(deb|deb-src)\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    out.push({ types: [m[1]!], uris: [m[2]!], suites: [m[3]!], components: m[4]!.split(/\s+/).filter(Boolean) });
  }
  return out;
}

/** Parses deb822 stanzas (Types/URIs/Suites/Components, `Enabled: no` skipped). */
export function parseDeb822Sources(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let last: string | undefined;
    for (const line of stanza.split('\n')) {
      if (line.startsWith('#') || !line.trim()) continue;
      if (/^\s/.test(line) && last) {
        fields.set(last, `${fields.get(last) ?? ''} ${line.trim()}`);
        continue;
      }
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (!m) continue;
      last = m[1]!.toLowerCase();
      fields.set(last, m[2]!.trim());
    }
    if (!fields.has('uris') || (fields.get('enabled') ?? 'yes').toLowerCase() === 'no') continue;
    const list = (k: string): string[] => (fields.get(k) ?? '').split(/\s+/).filter(Boolean);
    out.push({ types: list('types'), uris: list('uris'), suites: list('suites'), components: list('components') });
  }
  return out;
}

/**
 * The Debian mirror for `suite`: `TSM_TESTBED_MIRROR`, else the first `deb` source of this
 * machine carrying `suite` main, else (with a warning) http://deb.debian.org/debian.
 */
export function debianMirror(suite: string, sources = readAptSources()): string {
  if (process.env.TSM_TESTBED_MIRROR) return process.env.TSM_TESTBED_MIRROR;
  const hit = sources.find((s) => s.types.includes('deb') && s.suites.includes(suite) && s.components.includes('main'));
  if (hit?.uris[0]) return hit.uris[0];
  // Another release of the same archive: the mirror carrying this machine's own release main.
  const own = sources.find((s) => s.types.includes('deb') && s.components.includes('main') && s.suites.some((su) => !su.includes('-')));
  if (own?.uris[0]) return own.uris[0];
  const fallback = 'http://deb.debian.org/debian';
  process.stderr.write(`[test bed] no apt source for ${suite} main on this machine; using ${fallback}\n`);
  return fallback;
}

/**
 * /etc/apt/sources.list for an image: this machine's sources for `suite` and its -updates /
 * -security suites (so hosts install the same, patched packages as a real server would, from
 * the mirror this machine can reach), or just the mirror's `suite main`.
 */
export function imageSourcesList(suite: string, sources = readAptSources()): string {
  const lines = new Set<string>();
  for (const s of sources) {
    if (!s.types.includes('deb')) continue;
    for (const uri of s.uris) {
      for (const su of s.suites) {
        if (su !== suite && !su.startsWith(`${suite}-`)) continue;
        lines.add(`deb ${uri} ${su} ${s.components.join(' ') || 'main'}`);
      }
    }
  }
  if (lines.size === 0) {
    // This machine lists only its own release (e.g. bookworm, bookworm-updates and
    // bookworm-security): the same mirrors serve the other releases under the same suffixes
    // (-updates, -security since bullseye), so carry them over with the suite renamed.
    const own = sources.find((s) => s.types.includes('deb') && s.suites.some((su) => !su.includes('-')))?.suites.find((su) => !su.includes('-'));
    if (own) {
      for (const s of sources) {
        if (!s.types.includes('deb')) continue;
        for (const uri of s.uris) {
          for (const su of s.suites) {
            if (su !== own && !su.startsWith(`${own}-`)) continue;
            lines.add(`deb ${uri} ${suite}${su.slice(own.length)} ${s.components.join(' ') || 'main'}`);
          }
        }
      }
    }
  }
  if (lines.size === 0) lines.add(`deb ${debianMirror(suite, sources)} ${suite} main`);
  return `${[...lines].join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// recipe identity

/** Hash of everything that determines the content of `kind`'s image (12 hex digits). */
export function recipeHash(kind: ImageKind, sources = readAptSources()): string {
  const r = RECIPES[kind];
  const h = createHash('sha256');
  h.update(
    JSON.stringify({
      v: BUILD_PROCEDURE_VERSION,
      arch: process.arch,
      kind,
      recipe: r,
      sourcesList: imageSourcesList(r.suite, sources),
      base: r.base ? recipeHash(r.base, sources) : undefined,
    }),
  );
  return h.digest('hex').slice(0, 12);
}

/** The image tag for the current recipe of `kind`, e.g. `tsm-testbed/debian12-systemd:1a2b3c4d5e6f`. */
export function imageTag(kind: ImageKind): string {
  return `tsm-testbed/${kind}:${recipeHash(kind)}`;
}

function tarballPath(kind: ImageKind, hash: string): string {
  return join(cacheDir(), 'images', `${kind}-${hash}.tar`);
}

// ---------------------------------------------------------------------------------------------
// ensureImage

const pending = new Map<ImageKind, Promise<string>>();

/** See the file comment. Starts the local Docker Engine if needed. */
export function ensureImage(kind: ImageKind): Promise<string> {
  if (!RECIPES[kind]) return Promise.reject(new Error(`[test bed] unknown image kind ${JSON.stringify(kind)}`));
  let p = pending.get(kind);
  if (!p) {
    p = ensureImageUncached(kind).catch((e: unknown) => {
      pending.delete(kind);
      throw e;
    });
    pending.set(kind, p);
  }
  return p;
}

async function imageExists(tag: string): Promise<boolean> {
  return (await docker(['image', 'inspect', '--format', '{{.Id}}', tag])).exitCode === 0;
}

async function ensureImageUncached(kind: ImageKind): Promise<string> {
  await ensureDockerd();
  const hash = recipeHash(kind);
  const tag = `tsm-testbed/${kind}:${hash}`;
  if (await imageExists(tag)) return tag;
  return withLock(lockName(kind), LOCK_WAIT_MS, async () => {
    if (await imageExists(tag)) return tag; // built by another process while we waited
    const tarball = tarballPath(kind, hash);
    if (!existsSync(tarball)) {
      // A derived kind is built from its base's tarball. Lock order is always derived -> base.
      const base = RECIPES[kind].base;
      if (base) await withLock(lockName(base), LOCK_WAIT_MS, () => ensureTarball(base));
      await ensureTarball(kind);
    }
    await importTarball(kind, hash, tarball, tag);
    await pruneOld(kind, hash, tag);
    return tag;
  });
}

const LOCK_WAIT_MS = 30 * 60_000;
const lockName = (kind: ImageKind): string => `image-${kind}`;

/**
 * Makes sure the rootfs tarball of `kind`'s current recipe exists; the caller holds the kind's
 * lock. When only the image survives (the cache dir was cleaned), the tarball is exported from
 * it instead of being rebuilt.
 */
async function ensureTarball(kind: ImageKind): Promise<void> {
  const hash = recipeHash(kind);
  const tarball = tarballPath(kind, hash);
  if (existsSync(tarball)) return;
  mkdirSync(join(cacheDir(), 'images'), { recursive: true });
  const tag = `tsm-testbed/${kind}:${hash}`;
  if (await imageExists(tag)) {
    const t0 = Date.now();
    const tmp = `${tarball}.tmp-${process.pid}`;
    const c = (await dockerOk(['create', tag, '/bin/true'])).stdout.trim();
    try {
      await dockerOk(['export', '--output', tmp, c], { timeoutMs: 10 * 60_000 });
      chmodSync(tmp, 0o644); // like the built ones (docker export writes 0600)
      renameSync(tmp, tarball);
    } finally {
      await docker(['rm', '-f', '-v', c]);
      rmSync(tmp, { force: true });
    }
    log(`exported ${tag} to ${tarball} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return;
  }
  await buildTarball(kind, hash, tarball);
}

function log(msg: string): void {
  process.stderr.write(`[test bed] ${msg}\n`);
}

async function importTarball(kind: ImageKind, hash: string, tarball: string, tag: string): Promise<void> {
  const t0 = Date.now();
  const args = ['import'];
  for (const c of RECIPES[kind].changes) args.push('--change', c);
  args.push('--change', `LABEL tsm.testbed.kind=${kind} tsm.testbed.recipe=${hash}`);
  args.push(tarball, tag);
  await dockerOk(args, { timeoutMs: 10 * 60_000 });
  log(`imported ${tag} from ${tarball} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

/** Builds the rootfs of `kind` and writes it, atomically, to `tarball`. */
async function buildTarball(kind: ImageKind, hash: string, tarball: string): Promise<void> {
  const r = RECIPES[kind];
  const buildRoot = join(cacheDir(), 'build');
  mkdirSync(buildRoot, { recursive: true });
  mkdirSync(join(cacheDir(), 'images'), { recursive: true });
  const dir = mkdtempSync(join(buildRoot, `${kind}-`));
  const rootfs = join(dir, 'rootfs');
  const mounts: string[] = [];
  const t0 = Date.now();
  try {
    if (r.base) {
      const baseTar = tarballPath(r.base, recipeHash(r.base));
      if (!existsSync(baseTar)) throw new Error(`[test bed] base tarball ${baseTar} missing for ${kind}`);
      mkdirSync(rootfs);
      await runOk('tar', ['--numeric-owner', '-C', rootfs, '-xf', baseTar], { timeoutMs: 10 * 60_000 });
    } else {
      await debootstrap(r, rootfs);
      log(`debootstrap for ${kind} took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    writeFileSync(join(rootfs, 'etc/apt/sources.list'), imageSourcesList(r.suite));
    if (r.aptInstall?.length) {
      // apt in a chroot wants /proc, /dev/pts and this machine's DNS (a tarball exported from
      // an image has an empty resolv.conf); policy-rc.d keeps maintainer scripts from starting
      // daemons in the build environment. Recommends are installed, as `apt-get install` on a
      // server would.
      await runOk('cp', ['--remove-destination', '/etc/resolv.conf', join(rootfs, 'etc/resolv.conf')]);
      const mountSpecs: Array<[string, string[]]> = [
        ['proc', ['-t', 'proc', 'proc']],
        ['dev/pts', ['-t', 'devpts', '-o', 'newinstance,ptmxmode=0666', 'devpts']],
      ];
      for (const [target, args] of mountSpecs) {
        const t = join(rootfs, target);
        mkdirSync(t, { recursive: true });
        await runOk('mount', [...args, t]);
        mounts.unshift(t);
      }
      writeFileSync(join(rootfs, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 });
      const t1 = Date.now();
      await chroot(
        rootfs,
        `set -eu\nexport DEBIAN_FRONTEND=noninteractive LC_ALL=C\napt-get update -q\n` +
          `apt-get install -y -q ${r.aptInstall.join(' ')}\n`,
        20 * 60_000,
      );
      rmSync(join(rootfs, 'usr/sbin/policy-rc.d'), { force: true });
      log(`apt-get install ${r.aptInstall.join(' ')} for ${kind} took ${((Date.now() - t1) / 1000).toFixed(1)} s`);
    }
    await chroot(rootfs, r.script, 5 * 60_000);
    for (const m of mounts.splice(0)) await runOk('umount', [m]);
    const tmp = `${tarball}.tmp-${process.pid}`;
    const t2 = Date.now();
    await runOk('tar', ['--numeric-owner', '-C', rootfs, '-cf', tmp, '.'], { timeoutMs: 10 * 60_000 });
    renameSync(tmp, tarball);
    log(`packed ${kind} rootfs into ${tarball} in ${((Date.now() - t2) / 1000).toFixed(1)} s`);
  } finally {
    for (const m of mounts) await run('umount', ['-l', m]);
    // --one-file-system: never descend into anything still mounted in the rootfs.
    await run('rm', ['-rf', '--one-file-system', dir]);
    for (const f of readdirSync(join(cacheDir(), 'images'))) {
      if (f.startsWith(`${kind}-${hash}.tar.tmp-`)) rmSync(join(cacheDir(), 'images', f), { force: true });
    }
  }
  log(`built ${kind} (${hash}) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

async function debootstrap(r: Recipe, rootfs: string): Promise<void> {
  const mirror = debianMirror(r.suite);
  const debs = join(cacheDir(), 'debs');
  mkdirSync(debs, { recursive: true });
  const args = [
    '--variant=minbase',
    `--include=${(r.include ?? []).join(',')}`,
    // Keeps downloaded .debs, so a changed recipe rebuilds without downloading everything again.
    `--cache-dir=${debs}`,
    r.suite,
    rootfs,
    mirror,
  ];
  log(`debootstrap ${args.join(' ')} (about 1.5 minutes)`);
  const res = await run('debootstrap', args, { timeoutMs: 20 * 60_000 });
  if (res.exitCode !== 0) {
    let detail = '';
    try {
      detail = tail(readFileSync(join(rootfs, 'debootstrap/debootstrap.log'), 'utf8'), 30);
    } catch {
      /* no log */
    }
    throw new Error(
      `[test bed] debootstrap exited with ${res.exitCode}:\n${tail(res.stdout + res.stderr, 20)}\n${detail}`,
    );
  }
}

/** Runs a /bin/sh script inside the rootfs (copied to /tmp there, removed afterwards). */
async function chroot(rootfs: string, script: string, timeoutMs: number): Promise<void> {
  const name = `tsm-testbed-${process.pid}.sh`;
  writeFileSync(join(rootfs, 'tmp', name), script, { mode: 0o700 });
  try {
    await runOk('chroot', [rootfs, '/bin/sh', `/tmp/${name}`], {
      timeoutMs,
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', LC_ALL: 'C' },
    });
  } finally {
    rmSync(join(rootfs, 'tmp', name), { force: true });
  }
}

/** Removes tarballs and images of `kind` from other recipes (best effort). */
async function pruneOld(kind: ImageKind, hash: string, tag: string): Promise<void> {
  const dir = join(cacheDir(), 'images');
  for (const f of readdirSync(dir)) {
    if (f.startsWith(`${kind}-`) && f.endsWith('.tar') && f !== `${kind}-${hash}.tar`) {
      // `<kind>-<12 hex>.tar` only: do not touch another kind whose name extends this one.
      if (/^[0-9a-f]{12}\.tar$/.test(f.slice(kind.length + 1))) rmSync(join(dir, f), { force: true });
    }
  }
  const res = await docker(['images', '--filter', `label=tsm.testbed.kind=${kind}`, '--format', '{{.Repository}}:{{.Tag}}']);
  for (const t of res.stdout.split('\n').map((s) => s.trim())) {
    if (t && t !== tag && t.startsWith(`tsm-testbed/${kind}:`)) await docker(['rmi', t]); // fails harmlessly if in use
  }
}
