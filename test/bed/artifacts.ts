/**
 * Engine-install artifacts for real-host tests, built from Debian packages only (no Docker Hub,
 * no download.docker.com, no get.docker.com here):
 *
 * - ensureBusyboxImageTar(): a rootfs tarball for `docker import` with Debian's static busybox
 *   and a symlink per applet in /bin: the image the e2e tests run on machines.
 * - ensureDockerBinaryTarball(): a tarball in the layout of Docker's official static tarballs
 *   (`docker/dockerd`, `docker/docker`, `docker/containerd`, ...), assembled from Debian 12's
 *   docker.io, containerd, runc and tini packages, for tsm's `binary` install method. Debian's
 *   binaries are dynamically linked (see README.md): fine on Debian 12 hosts, which have the
 *   same libraries.
 * - installScript(): a get.docker.com stand-in that installs Debian's docker.io through the
 *   host's own apt sources, for tsm's `script` install method.
 *
 * Contract of the ensure* functions: they resolve to the path of a file under
 * `<cache>/artifacts/` whose name embeds a hash of the recipe: the build procedure, the
 * architecture and the exact candidate version and SHA256 of every .deb used (from
 * `apt-cache show`), so a Debian point release rebuilds and nothing else does. Cache hit: one
 * `apt-cache` call (~1 s here, shared by both functions within a process) plus a stat. A miss
 * takes .debs from `<cache>/debs/` (where debootstrap keeps its own), else from apt's archive
 * cache, else `apt-get download`, each checked against the SHA256 from the package lists.
 * Builds are serialised across processes with withLock() and written atomically (temp file,
 * rename), so concurrent callers never see a partial file. Callers must not modify the files.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync, copyFileSync, chmodSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, run, runOk, withLock } from './util.js';

/** Bump when the build procedure (not a package version) changes: every artifact rebuilds. */
const ARTIFACT_PROCEDURE_VERSION = 1;

/** `docker import --change` instructions that suit the busybox rootfs (a shell as default command). */
export const BUSYBOX_IMPORT_CHANGES: readonly string[] = ['CMD ["sh"]'];

/** Where each program of the static tarball comes from: [tarball name, package, path in the package]. */
const DOCKER_BINARIES: ReadonlyArray<readonly [string, string, readonly string[]]> = [
  ['dockerd', 'docker.io', ['usr/sbin/dockerd', 'usr/bin/dockerd']],
  ['docker', 'docker.io', ['usr/bin/docker']],
  ['docker-proxy', 'docker.io', ['usr/sbin/docker-proxy', 'usr/bin/docker-proxy']],
  ['containerd', 'containerd', ['usr/bin/containerd']],
  ['containerd-shim-runc-v2', 'containerd', ['usr/bin/containerd-shim-runc-v2']],
  ['ctr', 'containerd', ['usr/bin/ctr']],
  ['runc', 'runc', ['usr/sbin/runc', 'usr/bin/runc']],
  // Docker's own docker-init is a static tini; Debian's docker.io links it to tini-static too.
  ['docker-init', 'tini', ['usr/bin/tini-static', 'usr/bin/tini']],
];

const BUSYBOX_PACKAGES = ['busybox-static'] as const;
const DOCKER_PACKAGES = ['docker.io', 'containerd', 'runc', 'tini'] as const;

const BUILD_LOCK_WAIT_MS = 20 * 60_000;

function log(msg: string): void {
  process.stderr.write(`[test bed] ${msg}\n`);
}

function artifactsDir(): string {
  const dir = join(cacheDir(), 'artifacts');
  mkdirSync(dir, { recursive: true });
  return dir;
}

// ---------------------------------------------------------------------------------------------
// Debian packages

/** The candidate version of a package in this machine's apt lists. */
export interface DebInfo {
  package: string;
  version: string;
  architecture: string;
  sha256: string;
}

let debInfoPending: Promise<Map<string, DebInfo>> | undefined;

/**
 * Candidate versions of every package the artifacts use, from one `apt-cache show` (about 1 s
 * here: apt's binary cache is disabled on this image, so each call re-reads the lists).
 * Memoised per process. If the lists lack a package (a machine that never ran
 * `apt-get update`), runs `apt-get update` once and asks again.
 */
function debInfos(): Promise<Map<string, DebInfo>> {
  if (!debInfoPending) {
    debInfoPending = (async () => {
      const all = [...BUSYBOX_PACKAGES, ...DOCKER_PACKAGES];
      let infos = await aptCacheShow(all);
      if (all.some((p) => !infos.has(p))) {
        await withLock('apt-update', 10 * 60_000, async () => {
          log(`apt lists lack ${all.filter((p) => !infos.has(p)).join(' ')}: running apt-get update`);
          await runOk('apt-get', ['update', '-q'], { timeoutMs: 10 * 60_000 });
        });
        infos = await aptCacheShow(all);
      }
      const missing = all.filter((p) => !infos.has(p));
      if (missing.length > 0) {
        throw new Error(`[test bed] apt knows no candidate for ${missing.join(', ')} (check /etc/apt/sources.list*)`);
      }
      return infos;
    })().catch((e: unknown) => {
      debInfoPending = undefined;
      throw e;
    });
  }
  return debInfoPending;
}

async function aptCacheShow(packages: readonly string[]): Promise<Map<string, DebInfo>> {
  // Exit status is non-zero when any package is unknown; the known ones are still printed.
  const r = await run('apt-cache', ['show', '--no-all-versions', ...packages], { timeoutMs: 60_000 });
  const out = new Map<string, DebInfo>();
  for (const para of r.stdout.split(/\n\s*\n/)) {
    const field = (name: string): string | undefined => new RegExp(`^${name}: *(.*)$`, 'm').exec(para)?.[1]?.trim();
    const pkg = field('Package');
    const version = field('Version');
    const architecture = field('Architecture');
    const sha256 = field('SHA256');
    if (pkg && version && architecture && sha256 && !out.has(pkg)) out.set(pkg, { package: pkg, version, architecture, sha256 });
  }
  return out;
}

/** `name_version_arch.deb` as apt and debootstrap name files (an epoch's ':' becomes %3a). */
function debFileName(d: DebInfo): string {
  return `${d.package}_${d.version.replace(/:/g, '%3a')}_${d.architecture}.deb`;
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** SHA256 (hex) of a file: handy for tests that compare a download with the artifact. */
export { sha256File };

/**
 * Path of the verified .deb of `d` in `<cache>/debs/`: already there, copied from apt's
 * archive cache, or fetched with `apt-get download` (through this machine's apt sources).
 */
async function fetchDeb(d: DebInfo): Promise<string> {
  const debs = join(cacheDir(), 'debs');
  mkdirSync(debs, { recursive: true });
  const name = debFileName(d);
  const target = join(debs, name);
  if (existsSync(target) && (await sha256File(target)) === d.sha256) return target;
  const tmpDir = mkdtempSync(join(debs, `.download-${d.package}-`));
  try {
    const fromApt = join('/var/cache/apt/archives', name);
    let got = '';
    if (existsSync(fromApt) && (await sha256File(fromApt)) === d.sha256) {
      got = join(tmpDir, name);
      copyFileSync(fromApt, got);
    } else {
      // apt-get download as root warns that _apt cannot write here; letting it avoids the noise.
      chmodSync(tmpDir, 0o777);
      await runOk('apt-get', ['download', '-q', `${d.package}=${d.version}`], { cwd: tmpDir, timeoutMs: 10 * 60_000 });
      const f = readdirSync(tmpDir).find((n) => n.endsWith('.deb'));
      if (!f) throw new Error(`[test bed] apt-get download ${d.package}=${d.version} left no .deb`);
      got = join(tmpDir, f);
      const sum = await sha256File(got);
      if (sum !== d.sha256) throw new Error(`[test bed] ${f}: SHA256 ${sum}, apt lists say ${d.sha256}`);
    }
    chmodSync(got, 0o644);
    renameSync(got, target);
    return target;
  } finally {
    rmSync(tmpDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// shared build machinery

/** 12 hex digits identifying an artifact's content: procedure, arch, the recipe and its .debs. */
function artifactHash(name: string, recipe: unknown, debs: readonly DebInfo[]): string {
  return createHash('sha256')
    .update(JSON.stringify({ v: ARTIFACT_PROCEDURE_VERSION, arch: process.arch, name, recipe, debs }))
    .digest('hex')
    .slice(0, 12);
}

const pending = new Map<string, Promise<string>>();

/**
 * Returns `<cache>/artifacts/<fileName>` after making sure it exists: when missing, `build`
 * is called (under a cross-process lock) with a fresh work directory and a temp path to
 * write; the temp file is then renamed into place and other files of the same `prefix`
 * (older recipes) are removed.
 */
function ensureArtifact(
  key: string,
  resolve: () => Promise<{ fileName: string; prefix: string }>,
  build: (workDir: string, out: string) => Promise<void>,
): Promise<string> {
  let p = pending.get(key);
  if (!p) {
    p = (async () => {
      const { fileName, prefix } = await resolve();
      const dir = artifactsDir();
      const target = join(dir, fileName);
      if (existsSync(target)) return target;
      return withLock(`artifact-${key}`, BUILD_LOCK_WAIT_MS, async () => {
        if (existsSync(target)) return target; // built by another process meanwhile
        const buildRoot = join(cacheDir(), 'build');
        mkdirSync(buildRoot, { recursive: true });
        const work = mkdtempSync(join(buildRoot, `${key}-`));
        const tmp = `${target}.tmp-${process.pid}`;
        const t0 = Date.now();
        try {
          await build(work, tmp);
          chmodSync(tmp, 0o644);
          renameSync(tmp, target);
        } finally {
          rmSync(tmp, { force: true });
          await run('rm', ['-rf', '--one-file-system', work]);
        }
        log(`built ${target} (${(statSync(target).size / 1048576).toFixed(1)} MiB) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        for (const f of readdirSync(dir)) {
          if (f !== fileName && f.startsWith(prefix) && !f.includes('.tmp-')) rmSync(join(dir, f), { force: true });
        }
        return target;
      });
    })().catch((e: unknown) => {
      pending.delete(key);
      throw e;
    });
    pending.set(key, p);
  }
  return p;
}

/** Reproducible tar options: sorted names, root-owned, numeric ids, no atime/ctime. */
const TAR_REPRODUCIBLE = ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--format=gnu'];

// ---------------------------------------------------------------------------------------------
// busybox image rootfs

const BUSYBOX_RECIPE = {
  layout: '/bin/busybox + /bin/<applet> symlinks (busybox --list), /etc/passwd+group, /tmp 1777',
  passwd: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  group: 'root:x:0:\nnogroup:x:65534:\n',
  dirs: ['bin', 'dev', 'etc', 'home', 'proc', 'root', 'sys', 'tmp', 'usr/bin', 'usr/sbin', 'sbin', 'var/tmp'],
};

/**
 * A plain (uncompressed) tar of a tiny root file system for `docker import`: Debian's static
 * busybox at /bin/busybox, a symlink to it in /bin for every applet (sh, echo, sleep, cat, ls,
 * true, id, hostname, wget, nc, ...), /etc/passwd and /etc/group with root and nobody, and
 * the usual empty directories. About 2 MB. Import it with BUSYBOX_IMPORT_CHANGES, e.g.
 * `docker import --change 'CMD ["sh"]' <tar> tsm-test/busybox:local`.
 */
export function ensureBusyboxImageTar(): Promise<string> {
  let deb: DebInfo;
  return ensureArtifact(
    'busybox',
    async () => {
      deb = (await debInfos()).get('busybox-static')!;
      const hash = artifactHash('busybox-rootfs', BUSYBOX_RECIPE, [deb]);
      return { fileName: `busybox-rootfs-${hash}.tar`, prefix: 'busybox-rootfs-' };
    },
    async (work, out) => {
      const debPath = await fetchDeb(deb);
      const x = join(work, 'deb');
      await runOk('dpkg-deb', ['-x', debPath, x]);
      const busybox = join(x, 'bin/busybox');
      if (!existsSync(busybox)) throw new Error(`[test bed] ${debPath} has no bin/busybox`);
      const root = join(work, 'rootfs');
      for (const d of BUSYBOX_RECIPE.dirs) mkdirSync(join(root, d), { recursive: true, mode: 0o755 });
      chmodSync(join(root, 'tmp'), 0o1777);
      chmodSync(join(root, 'var/tmp'), 0o1777);
      chmodSync(join(root, 'root'), 0o700);
      copyFileSync(busybox, join(root, 'bin/busybox'));
      chmodSync(join(root, 'bin/busybox'), 0o755);
      const list = await runOk(join(root, 'bin/busybox'), ['--list']);
      const applets = list.stdout.split('\n').map((s) => s.trim()).filter((s) => s && s !== 'busybox' && !s.includes('/'));
      for (const a of applets) symlinkSync('busybox', join(root, 'bin', a));
      writeFileSync(join(root, 'etc/passwd'), BUSYBOX_RECIPE.passwd, { mode: 0o644 });
      writeFileSync(join(root, 'etc/group'), BUSYBOX_RECIPE.group, { mode: 0o644 });
      writeFileSync(join(root, 'etc/hosts'), '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n', { mode: 0o644 });
      // Same bytes for the same .deb: every file and directory gets the .deb's busybox mtime.
      const mtime = statSync(busybox).mtime;
      await runOk('tar', [...TAR_REPRODUCIBLE, `--mtime=@${Math.floor(mtime.getTime() / 1000)}`, '-C', root, '-cf', out, '.']);
    },
  );
}

// ---------------------------------------------------------------------------------------------
// static Docker binary tarball

/**
 * A gzipped tarball in the layout of Docker's static tarballs (download.docker.com/linux/static):
 * `docker/` with dockerd, docker, docker-proxy (docker.io), containerd,
 * containerd-shim-runc-v2, ctr (containerd), runc (runc) and docker-init (tini-static), all
 * 0755 and root-owned. Named `docker-<upstream version>-<hash>.tgz` (e.g.
 * `docker-20.10.24-1a2b3c4d5e6f.tgz`). The binaries are Debian's: dynamically linked against
 * libraries every Debian 12 system with systemd has (README.md lists them), so they run on the
 * bed's Debian 12 hosts, not on arbitrary distributions. Like Docker's own tarballs it carries
 * no iptables: the host needs its own.
 */
export function ensureDockerBinaryTarball(): Promise<string> {
  let debs: DebInfo[] = [];
  return ensureArtifact(
    'docker-static',
    async () => {
      const infos = await debInfos();
      debs = DOCKER_PACKAGES.map((p) => infos.get(p)!);
      const hash = artifactHash('docker-static', DOCKER_BINARIES, debs);
      // 20.10.24+dfsg1-1+deb12u1+b6 -> 20.10.24
      const upstream = /^(?:\d+:)?([0-9][0-9.]*)/.exec(debs[0]!.version)?.[1]?.replace(/\.$/, '') ?? 'unknown';
      return { fileName: `docker-${upstream}-${hash}.tgz`, prefix: 'docker-' };
    },
    async (work, out) => {
      const extracted = new Map<string, string>();
      for (const d of debs) {
        const debPath = await fetchDeb(d);
        const x = join(work, 'x', d.package);
        mkdirSync(x, { recursive: true });
        await runOk('dpkg-deb', ['-x', debPath, x]);
        extracted.set(d.package, x);
      }
      const dir = join(work, 'out', 'docker');
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      let newest = 0;
      for (const [name, pkg, candidates] of DOCKER_BINARIES) {
        const x = extracted.get(pkg)!;
        const from = candidates.map((c) => join(x, c)).find((p) => existsSync(p) && statSync(p).isFile());
        if (!from) throw new Error(`[test bed] package ${pkg} has none of ${candidates.join(', ')}`);
        const to = join(dir, name);
        copyFileSync(from, to); // follows symlinks: the tarball holds regular files only
        chmodSync(to, 0o755);
        const m = statSync(from).mtime;
        utimesSync(to, m, m);
        newest = Math.max(newest, m.getTime());
      }
      utimesSync(dir, new Date(newest), new Date(newest));
      // `gzip -n`: no name or timestamp in the gzip header, so the same .debs give the same bytes.
      const tar = `${out}.tar`;
      await runOk('tar', [...TAR_REPRODUCIBLE, '-C', join(work, 'out'), '-cf', tar, 'docker'], { timeoutMs: 10 * 60_000 });
      await runOk('sh', ['-c', 'gzip -n -c "$1" >"$2"', 'sh', tar, out], { timeoutMs: 10 * 60_000 });
      rmSync(tar, { force: true });
    },
  );
}

// ---------------------------------------------------------------------------------------------
// install script

/**
 * A get.docker.com stand-in for tests of the `script` install method (`--engine-install-url`):
 * POSIX sh, `set -e`; runs as root, or through `sudo` (or `su`) like get.docker.com; on a
 * system with apt-get it runs `apt-get update` and
 * `DEBIAN_FRONTEND=noninteractive apt-get install -y docker.io` (Debian's packages, through
 * the host's own apt sources; apt waits up to 5 minutes for a held dpkg lock); anywhere else
 * it prints an error and exits 1. Serve it with serveFiles({ '/install.sh': { text: installScript() } }).
 */
export function installScript(): string {
  return `#!/bin/sh
# tsm test bed: a stand-in for https://get.docker.com that installs the distribution's
# docker.io through this host's own apt sources (there is no download.docker.com here).
set -e

echo "# tsm test bed install script: Docker Engine from the distribution's docker.io package"

sh_c='sh -c'
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sh_c='sudo -E sh -c'
  elif command -v su >/dev/null 2>&1; then
    sh_c='su -c'
  else
    echo 'Error: this installer needs the ability to run commands as root.' >&2
    echo 'We are unable to find either "sudo" or "su" available to make this happen.' >&2
    exit 1
  fi
fi

if ! command -v apt-get >/dev/null 2>&1; then
  os=unknown
  if [ -r /etc/os-release ]; then os=$(. /etc/os-release && printf '%s' "\${ID:-unknown}"); fi
  echo "ERROR: unsupported distribution '$os': this test install script only knows apt-get (Debian, Ubuntu)." >&2
  exit 1
fi

set -x
$sh_c 'apt-get -o DPkg::Lock::Timeout=300 update -q'
$sh_c 'DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q docker.io'
set +x

if command -v docker >/dev/null 2>&1; then docker --version; fi
echo "# Docker Engine installed from the distribution's docker.io package."
`;
}
