#!/usr/bin/env node
/**
 * A strict, stateful stand-in for VirtualBox's VBoxManage, for tsm's tests (VirtualBox itself
 * cannot run on the machines tsm is tested on). Plain JavaScript so CI runs it without a
 * build step; `test/vbox/bin/VBoxManage` is the executable put first on PATH.
 *
 * It implements the subcommands and options the virtualbox driver uses, with VirtualBox 7's
 * documented syntax (and the pre-7.0 option spellings VirtualBox 7 still accepts), rejects
 * everything else, refuses calls that are invalid in the VM's state, keeps its state on disk,
 * and prints VirtualBox's output formats.
 *
 * Sources (syntax from the manual; output and error texts from public captures):
 * - Oracle VM VirtualBox User Manual, chapter 8 "VBoxManage" (7.0/7.1; 6.0/6.1 as chapter 7):
 *   §8.4 list, §8.5 showvminfo, §8.7 registervm/unregistervm, §8.8 createvm, §8.9 modifyvm
 *   (networking: --nic, --nictype, --cableconnected, --macaddress, --hostonlyadapter,
 *   --nicpromisc, --natpf "[rulename],tcp|udp,[hostip],hostport,[guestip],guestport" and
 *   "--natpf<N> delete <rulename>", --natdnshostresolver, --natdnsproxy; serial: --uart,
 *   --uartmode), §8.13 startvm, §8.14 controlvm, §8.15 discardstate, §8.20 storageattach,
 *   §8.21 storagectl, §8.24 closemedium, §8.26 modifymedium, §8.27 clonemedium,
 *   §8.30 convertfromraw, §8.34 setextradata, §8.32 sharedfolder, §8.36 guestproperty
 *   ("No value set!"), §8.40 hostonlyif, §8.42 dhcpserver (6.1+ synopsis:
 *   --network=|--interface=, --server-ip=, --netmask=, --lower-ip=, --upper-ip=,
 *   --enable|--disable); https://www.virtualbox.org/manual/ch08.html and
 *   https://docs.oracle.com/en/virtualization/virtualbox/6.0/user/vboxmanage-dhcpserver.html.
 *   VirtualBox 7's hyphenated option names (--nic-type1, --nat-pf1, --mac-address1,
 *   --host-only-adapter2, --rtc-use-utc...) are accepted as aliases, as 7.x accepts both.
 * - Host-only ranges: manual §6.7 "Host-Only Networking" (6.1.28+: only 192.168.56.0/21 on
 *   Linux/macOS/Solaris unless /etc/vbox/networks.conf lists more; else E_ACCESSDENIED),
 *   error text from github.com/acritelli/certificateSSH/issues/7 and
 *   github.com/mail-in-a-box/mailinabox/issues/2062.
 * - `list hostonlyifs` block and `hostonlyif create` output: kubernetes/minikube#12764
 *   (Name/GUID/DHCP/IPAddress/NetworkMask/IPV6Address/IPV6NetworkMaskPrefixLength/
 *   HardwareAddress/MediumType/Wireless/Status/VBoxNetworkName; "Interface 'vboxnet12' was
 *   successfully created", progress "0%...100%" on stderr; new adapters at 192.168.(56+N).1).
 * - `list dhcpservers`: VirtualBox 6.1+ layout (NetworkName, Dhcpd IP, LowerIPAddress,
 *   UpperIPAddress, NetworkMask, Enabled, Global Configuration...); older layout in
 *   NixOS/nixops#411.
 * - showvminfo --machinereadable: the dumps in myspaghetti/macos-virtualbox#340 and
 *   docker/machine#2004 (name=, groups=, ostype=, UUID=, CfgFile=, memory=, cpus=, VMState=,
 *   VMStateChangeTime=, "SATA-0-0"=, nic1=, macaddress1=, Forwarding(0)=, hostonlyadapter2=).
 * - Errors: "Could not find a registered machine named 'x'" with VBOX_E_OBJECT_NOT_FOUND
 *   (cuckoosandbox/cuckoo#1402, froggey/Mezzano#97); "The machine 'x' is already locked for a
 *   session (or being unlocked)" from LockMachine in VBoxManageModifyVM.cpp (hashicorp/packer#184);
 *   "The machine 'x' is already locked by a session (or being locked or unlocked)" from
 *   LaunchVMProcess (hashicorp/packer#12008); "Machine 'x' is not currently running"
 *   (owncloud-archive/vm#41); "Invalid machine state: PoweredOff" for controlvm
 *   (boot2docker/boot2docker-cli#80); "VT-x is not available (VERR_VMX_NO_VMX)" with
 *   "Details: code NS_ERROR_FAILURE (0x80004005), component ConsoleWrap, interface IConsole"
 *   (hashicorp/vagrant#9753, Zonama/ZonamaDev#74); "Unknown option: --x" from modifyvm with
 *   exit status 1 (docker/machine#1576); other syntax errors exit 2 (RTEXITCODE_SYNTAX).
 * - startvm output: `Waiting for VM "x" to power on...` / `VM "x" has been successfully started.`;
 *   createvm: `Virtual machine 'x' is created and registered.`, `UUID: ...`, `Settings file: '...'`;
 *   convertfromraw: `Converting from raw image file="..." to file="..."...` (froggey/Mezzano#97).
 *
 * State lives in $VBOX_STANDIN_HOME (required): state.json (VMs, media registry, host-only
 * adapters, DHCP servers and their leases), calls.log (one JSON argv per line), and VM
 * folders where createvm's --basefolder says. Media files are small JSON placeholders.
 *
 * Failure injection (environment):
 *   VBOX_STANDIN_VERSION=6.1.26r145957  what --version prints (default 7.0.20r163906)
 *   VBOX_STANDIN_HOST_OS=windows       no host-only range restriction (as on Windows hosts)
 *   VBOX_STANDIN_NO_VTX=1              startvm fails: VT-x is not available (VERR_VMX_NO_VMX)
 *   VBOX_STANDIN_LOCKED=N              the first N session-taking calls (modifyvm, storagectl,
 *                                      storageattach, sharedfolder) fail "already locked for a session"
 *   VBOX_STANDIN_IGNORE_ACPI=1         the guest ignores the ACPI power button
 *   VBOX_STANDIN_DHCP_LOST_LEASE=vm[,vm]  at startvm of a VM named here, its host-only DHCP
 *                                      server has lost the lease of NIC2's MAC (as when VirtualBox's
 *                                      <VBoxUserHome>/HostInterfaceNetworking-vboxnet0-Dhcpd.leases
 *                                      is lost) and another client got the old address meanwhile,
 *                                      so NIC2 is leased a new one: the lowest free address of the
 *                                      range (the old one stays taken, so it differs). Every startvm
 *                                      of that VM while set moves it again; startvm fails when the
 *                                      VM has no lease to lose (it never started with DHCP).
 *   VBOX_STANDIN_GUEST=container       back running VMs with test-bed containers (below)
 *   VBOX_STANDIN_GUEST_IMAGE=tag       the container image (test/bed's debian12-systemd-docker)
 *   VBOX_STANDIN_DOCKER=path           the docker CLI for container guests (default /usr/bin/docker)
 *
 * Container guests: startvm runs the image with systemd as PID 1 on a docker network whose
 * subnet and gateway are the host-only adapter's (created on first use), at the address the
 * adapter's DHCP server leases to NIC2's MAC (kept in the lease table, so it is stable), with
 * that MAC, and publishes 127.0.0.1:<natpf host port> -> 22. A VM whose lease changed keeps its
 * container (its disk: the engine's configuration and certificates, images): the container is
 * reconnected to the network at the new address before it starts. What cloud-init would do with the
 * attached seed ISO (user, sudo, authorized key, SSH host key, hostname) is done by a boot unit
 * copied into the container before it starts, so sshd never answers with another host key.
 * acpipowerbutton stops the container gracefully (VMState "stopping", then "poweroff"),
 * poweroff kills it, reset restarts it, unregistervm removes it.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, appendFileSync, readdirSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';

const HOME = process.env.VBOX_STANDIN_HOME;
const PROG = 'VBoxManage';

class VBoxExit extends Error {
  constructor(code, stderr = '', stdout = '') {
    super(stderr);
    this.code = code;
    this.stderr = stderr;
    this.stdout = stdout;
  }
}

/** A runtime error: `VBoxManage: error: <lines>`, exit 1. */
function fail(...lines) {
  throw new VBoxExit(1, lines.map((l) => `${PROG}: error: ${l}\n`).join(''));
}
/** A syntax error: exit 2 (RTEXITCODE_SYNTAX). */
function syntax(msg) {
  throw new VBoxExit(2, `${PROG}: error: ${msg}\n`);
}

// ------------------------------------------------------------------------------------------ state

const STATE_FILE = () => join(HOME, 'state.json');

function emptyState() {
  return { vms: [], media: [], hostonlyifs: [], dhcpservers: [], extradata: {}, counters: { locked: 0 } };
}

function loadState() {
  if (!existsSync(STATE_FILE())) return emptyState();
  return JSON.parse(readFileSync(STATE_FILE(), 'utf8'));
}

function saveState(s) {
  const tmp = `${STATE_FILE()}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(s, null, 1));
  execFileSync('mv', ['-f', tmp, STATE_FILE()]);
}

function withLock(fn) {
  const lock = join(HOME, '.lock');
  const start = Date.now();
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      try {
        if (Date.now() - statSync(lock).mtimeMs > 60_000) rmSync(lock, { recursive: true, force: true });
      } catch {
        /* gone */
      }
      if (Date.now() - start > 120_000) throw new Error('stand-in lock timeout');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function now() {
  return new Date().toISOString().replace('Z', '000000').slice(0, 29);
}

function findVm(s, nameOrUuid, { required = true } = {}) {
  const vm = s.vms.find((v) => v.name === nameOrUuid || v.uuid === nameOrUuid);
  if (!vm && required) {
    fail(
      `Could not find a registered machine named '${nameOrUuid}'`,
      'Details: code VBOX_E_OBJECT_NOT_FOUND (0x80bb0001), component VirtualBoxWrap, interface IVirtualBox, callee nsISupports',
      `Context: "FindMachine(Bstr(a->argv[0]).raw(), machine.asOutParam())" at line 547 of file VBoxManageModifyVM.cpp`,
    );
  }
  return vm;
}

function setState(vm, state) {
  vm.state = state;
  vm.stateChangeTime = now();
}

const POWERED_OFF = ['poweroff', 'aborted'];

/** A session-taking command on a VM that is not powered off fails as VirtualBox's LockMachine does. */
function requireWriteLock(s, vm, file = 'VBoxManageModifyVM.cpp') {
  injectLocked(s, vm);
  if (!POWERED_OFF.includes(vm.state) && vm.state !== 'saved') {
    fail(
      `The machine '${vm.name}' is already locked for a session (or being unlocked)`,
      'Details: code VBOX_E_INVALID_OBJECT_STATE (0x80bb0007), component MachineWrap, interface IMachine, callee nsISupports',
      `Context: "LockMachine(a->session, LockType_Write)" at line 640 of file ${file}`,
    );
  }
}

function requirePoweredOff(vm) {
  if (!POWERED_OFF.includes(vm.state)) fail(`Invalid machine state: ${stateName(vm.state)} (must be PoweredOff, Teleported or Aborted)`, 'Details: code VBOX_E_INVALID_VM_STATE (0x80bb0002), component SessionMachine, interface IMachine, callee nsISupports');
}

function injectLocked(s, vm) {
  const n = Number(process.env.VBOX_STANDIN_LOCKED || 0);
  if (s.counters.locked < n) {
    s.counters.locked++;
    saveState(s);
    fail(
      `The machine '${vm.name}' is already locked for a session (or being unlocked)`,
      'Details: code VBOX_E_INVALID_OBJECT_STATE (0x80bb0007), component MachineWrap, interface IMachine, callee nsISupports',
      'Context: "LockMachine(a->session, LockType_Write)" at line 640 of file VBoxManageModifyVM.cpp',
    );
  }
}

function stateName(st) {
  return { poweroff: 'PoweredOff', aborted: 'Aborted', running: 'Running', paused: 'Paused', saved: 'Saved', stopping: 'Stopping', starting: 'Starting' }[st] ?? st;
}

// ------------------------------------------------------------------------------------------ options

/**
 * Parses `args` against `spec` (option -> arity, or a function(args, i) returning the values
 * consumed). Accepts `--opt value` and `--opt=value`, as RTGetOpt does. Positional arguments
 * are returned in order. Unknown options are syntax errors.
 */
function getopt(args, spec, { unknownExit = 2, aliases = {} } = {}) {
  const opts = [];
  const positional = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a.startsWith('-') && a !== '-') {
      let name = a;
      let inlineValue;
      const eq = a.indexOf('=');
      if (a.startsWith('--') && eq > 0) {
        name = a.slice(0, eq);
        inlineValue = a.slice(eq + 1);
      }
      const canonical = resolveOption(name, spec, aliases);
      if (canonical === undefined) {
        if (unknownExit === 1) fail(`Unknown option: ${name}`);
        syntax(`Unknown option: ${name}`);
      }
      const arity = typeof spec[canonical.key] === 'function' ? spec[canonical.key](args, i, inlineValue) : spec[canonical.key];
      const values = [];
      let n = arity;
      if (inlineValue !== undefined) {
        if (n === 0) syntax(`Option ${name} takes no value`);
        values.push(inlineValue);
        n--;
      }
      for (let k = 0; k < n; k++) {
        i++;
        if (i >= args.length) syntax(`Missing value for option ${name}`);
        values.push(args[i]);
      }
      opts.push({ name: canonical.key, index: canonical.index, values, given: name });
    } else {
      positional.push(a);
    }
  }
  return { opts, positional };
}

/** `--nictype2` -> { key: '--nictype<N>', index: 2 }; aliases map new spellings to old ones. */
function resolveOption(name, spec, aliases) {
  const m = /^(--[a-z-]*?[a-z])(\d+)$/.exec(name);
  const candidates = [[name, undefined]];
  if (m) candidates.push([`${m[1]}<N>`, Number(m[2])]);
  for (const [cand, index] of candidates) {
    const key = aliases[cand] ?? cand;
    if (key in spec) return { key, index };
  }
  return undefined;
}

const onOff = (v, opt) => {
  if (v !== 'on' && v !== 'off') syntax(`Invalid ${opt} argument '${v}'`);
  return v;
};

// ------------------------------------------------------------------------------------------ net helpers

function ipToInt(ip) {
  const p = String(ip).split('.');
  if (p.length !== 4 || p.some((x) => !/^\d{1,3}$/.test(x) || Number(x) > 255)) return undefined;
  return p.reduce((a, x) => ((a << 8) + Number(x)) >>> 0, 0);
}
const intToIp = (n) => [24, 16, 8, 0].map((sh) => (n >>> sh) & 0xff).join('.');
function maskPrefix(mask) {
  const n = ipToInt(mask);
  if (n === undefined) return undefined;
  const bits = n.toString(2).padStart(32, '0');
  return /^1*0*$/.test(bits) ? (bits.indexOf('0') < 0 ? 32 : bits.indexOf('0')) : undefined;
}
function within(ip, net, prefix) {
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return ((ipToInt(ip) & mask) >>> 0) === ((ipToInt(net) & mask) >>> 0);
}
/** Host-only ranges VirtualBox >= 6.1.28 allows (manual §6.7); $VBOX_STANDIN_HOME/networks.conf plays /etc/vbox/networks.conf. */
function allowedRanges() {
  const conf = join(HOME, 'networks.conf');
  if (!existsSync(conf)) return ['192.168.56.0/21'];
  const out = [];
  for (const line of readFileSync(conf, 'utf8').split('\n')) if (line.trim().startsWith('*')) out.push(...line.trim().slice(1).trim().split(/\s+/));
  return out;
}
function versionParts() {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [7, 0, 0];
}
function rangeRestricted() {
  if (process.env.VBOX_STANDIN_HOST_OS === 'windows') return false;
  const [a, b, c] = versionParts();
  return a > 6 || (a === 6 && (b > 1 || (b === 1 && c >= 28)));
}
function version() {
  return process.env.VBOX_STANDIN_VERSION || '7.0.20r163906';
}
function normMac(m) {
  return String(m).toLowerCase().replace(/[^0-9a-f]/g, '');
}
function colonMac(m) {
  return normMac(m).replace(/(..)(?!$)/g, '$1:');
}

// ------------------------------------------------------------------------------------------ media

function mediumFile(path, sizeBytes, kind = 'hdd') {
  if (!existsSync(dirname(path))) fail(`Could not create the medium storage unit '${path}'. VD: error VERR_PATH_NOT_FOUND creating image file (VERR_PATH_NOT_FOUND)`);
  const uuid = randomUUID();
  writeFileSync(path, JSON.stringify({ vboxStandinMedium: kind, uuid, sizeBytes }) + '\n');
  return uuid;
}

function readMediumFile(path) {
  try {
    const j = JSON.parse(readFileSync(path, 'utf8'));
    if (j && j.vboxStandinMedium) return j;
  } catch {
    /* not one of ours */
  }
  return undefined;
}

function findMedium(s, ref) {
  const abs = isAbsolute(ref) ? ref : resolve(ref);
  return s.media.find((m) => m.uuid === ref || m.location === abs);
}

/** Opens (registers) a medium file as VirtualBox does when a command names it. */
function openMedium(s, ref, type, registry = 'global') {
  const found = findMedium(s, ref);
  if (found) {
    if (found.type !== type) fail(`Medium '${found.location}' is a ${found.type === 'hdd' ? 'hard disk' : 'DVD'} image, not a ${type === 'hdd' ? 'hard disk' : 'DVD'} image`);
    return found;
  }
  const abs = isAbsolute(ref) ? ref : resolve(ref);
  if (!existsSync(abs)) {
    fail(
      `Could not find file for the medium '${abs}' (VERR_FILE_NOT_FOUND)`,
      'Details: code VBOX_E_FILE_ERROR (0x80bb0004), component MediumWrap, interface IMedium, callee nsISupports',
    );
  }
  let uuid;
  let sizeBytes = statSync(abs).size;
  let format = 'RAW';
  if (type === 'hdd') {
    const j = readMediumFile(abs);
    if (!j) fail(`Could not get the storage format of the medium '${abs}' (VERR_NOT_SUPPORTED)`, 'Details: code VBOX_E_IPRT_ERROR (0x80bb0005), component MediumWrap, interface IMedium');
    uuid = j.uuid;
    sizeBytes = j.sizeBytes;
    format = 'VDI';
    const clash = s.media.find((m) => m.uuid === uuid);
    if (clash) fail(`Cannot register the hard disk '${abs}' {${uuid}} because a hard disk '${clash.location}' with UUID {${uuid}} already exists`, 'Details: code NS_ERROR_INVALID_ARG (0x80070057), component VirtualBoxWrap, interface IVirtualBox');
  } else {
    if (!/\.iso$/i.test(abs)) fail(`Could not get the storage format of the medium '${abs}' (VERR_NOT_SUPPORTED)`);
    uuid = randomUUID();
  }
  const m = { uuid, location: abs, type, format, sizeBytes, registry };
  s.media.push(m);
  return m;
}

function attachmentsOf(s, medium) {
  const out = [];
  for (const vm of s.vms) for (const c of vm.controllers) for (const [slot, a] of Object.entries(c.attachments)) if (a.medium === medium.uuid) out.push({ vm, c, slot });
  return out;
}

// ------------------------------------------------------------------------------------------ output formats

function q(v) {
  return `"${String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

function machineReadable(s, vm) {
  const L = [];
  const kv = (k, v) => L.push(`${/^[A-Za-z0-9_()]+$/.test(k) ? k : q(k)}=${typeof v === 'number' ? v : q(v)}`);
  const st = vm.settings;
  kv('name', vm.name);
  kv('Encryption', 'disabled');
  kv('groups', '/');
  kv('ostype', OSTYPES[st.ostype] ?? st.ostype);
  kv('UUID', vm.uuid);
  kv('CfgFile', vm.cfgFile);
  kv('SnapFldr', join(dirname(vm.cfgFile), 'Snapshots'));
  kv('LogFldr', join(dirname(vm.cfgFile), 'Logs'));
  kv('hardwareuuid', vm.uuid);
  kv('memory', Number(st.memory));
  kv('pagefusion', 'off');
  kv('vram', 8);
  kv('cpuexecutioncap', 100);
  kv('hpet', st.hpet);
  kv('cpu-profile', 'host');
  kv('chipset', 'piix3');
  kv('firmware', st.firmware.toUpperCase());
  kv('cpus', Number(st.cpus));
  kv('pae', st.pae);
  kv('longmode', 'on');
  kv('apic', 'on');
  kv('x2apic', 'on');
  kv('nested-hw-virt', 'off');
  kv('bootmenu', 'messageandmenu');
  for (let i = 1; i <= 4; i++) kv(`boot${i}`, st[`boot${i}`]);
  kv('acpi', st.acpi);
  kv('ioapic', st.ioapic);
  kv('biosapic', 'apic');
  kv('rtcuseutc', st.rtcuseutc);
  kv('hwvirtex', st.hwvirtex);
  kv('nestedpaging', st.nestedpaging);
  kv('largepages', st.largepages);
  kv('vtxvpid', st.vtxvpid);
  kv('vtxux', 'on');
  kv('cpu-hotplug', st.cpuhotplug);
  kv('VMState', vm.state);
  kv('VMStateChangeTime', vm.stateChangeTime);
  vm.controllers.forEach((c, i) => {
    kv(`storagecontrollername${i}`, c.name);
    kv(`storagecontrollertype${i}`, c.controller);
    kv(`storagecontrollerinstance${i}`, '0');
    kv(`storagecontrollermaxportcount${i}`, '30');
    kv(`storagecontrollerportcount${i}`, String(c.portcount));
    kv(`storagecontrollerbootable${i}`, c.bootable);
  });
  for (const c of vm.controllers) {
    for (let port = 0; port < c.portcount; port++) {
      const a = c.attachments[`${port}-0`];
      const m = a && s.media.find((x) => x.uuid === a.medium);
      kv(`${c.name}-${port}-0`, a ? (m ? m.location : 'emptydrive') : 'none');
      if (m) kv(`${c.name}-ImageUUID-${port}-0`, m.uuid);
      if (a?.type === 'dvddrive') {
        kv(`${c.name}-tempeject-${port}-0`, 'off');
        kv(`${c.name}-IsEjected-${port}-0`, 'off');
      }
    }
  }
  for (let n = 1; n <= 8; n++) {
    const nic = st.nics[n];
    if (!nic || nic.type === 'none') {
      kv(`nic${n}`, 'none');
      continue;
    }
    if (nic.type === 'nat') kv(`natnet${n}`, 'nat');
    if (nic.type === 'hostonly') kv(`hostonlyadapter${n}`, nic.hostonlyadapter ?? '');
    kv(`macaddress${n}`, nic.mac);
    kv(`cableconnected${n}`, nic.cable);
    kv(`nic${n}`, nic.type);
    kv(`nictype${n}`, nic.nictype);
    kv(`nicspeed${n}`, '0');
    if (nic.type === 'nat') {
      kv('mtu', '0');
      kv('sockSnd', '64');
      kv('sockRcv', '64');
      kv('tcpWndSnd', '64');
      kv('tcpWndRcv', '64');
      nic.natpf.forEach((r, i) => kv(`Forwarding(${i})`, r));
    }
  }
  kv('uart1', st.uart1 ?? 'off');
  if (st.uartmode1) kv('uartmode1', st.uartmode1);
  vm.sharedFolders.forEach((f, i) => {
    kv(`SharedFolderNameMachineMapping${i + 1}`, f.name);
    kv(`SharedFolderPathMachineMapping${i + 1}`, f.hostpath);
  });
  kv('GuestMemoryBalloon', 0);
  return L.join('\n') + '\n';
}

const OSTYPES = {
  Debian_64: 'Debian (64-bit)',
  Debian: 'Debian (32-bit)',
  Debian12_64: 'Debian 12 Bookworm (64-bit)',
  Linux26_64: 'Linux 2.6 / 3.x / 4.x / 5.x (64-bit)',
  Linux_64: 'Other Linux (64-bit)',
  Ubuntu_64: 'Ubuntu (64-bit)',
  Other: 'Other/Unknown',
  Other_64: 'Other/Unknown (64-bit)',
};

function listHostOnlyIfs(s) {
  return s.hostonlyifs
    .map((h) =>
      [
        `Name:            ${h.name}`,
        `GUID:            ${h.guid}`,
        `DHCP:            ${h.dhcp ? 'Enabled' : 'Disabled'}`,
        `IPAddress:       ${h.ip}`,
        `NetworkMask:     ${h.netmask}`,
        'IPV6Address:     ',
        'IPV6NetworkMaskPrefixLength: 0',
        `HardwareAddress: ${h.mac}`,
        'MediumType:      Ethernet',
        'Wireless:        No',
        'Status:          Up',
        `VBoxNetworkName: HostInterfaceNetworking-${h.name}`,
        '',
      ].join('\n') + '\n',
    )
    .join('');
}

function listDhcpServers(s) {
  return s.dhcpservers
    .map((d) =>
      [
        `NetworkName:    ${d.networkName}`,
        `Dhcpd IP:       ${d.ip}`,
        `LowerIPAddress: ${d.lower}`,
        `UpperIPAddress: ${d.upper}`,
        `NetworkMask:    ${d.netmask}`,
        `Enabled:        ${d.enabled ? 'Yes' : 'No'}`,
        'Global Configuration:',
        '    minLeaseTime:     default',
        '    defaultLeaseTime: default',
        '    maxLeaseTime:     default',
        '    Forced options:   None',
        '    Suppressed opts.: None',
        `        1/legacy: ${d.netmask}`,
        'Groups:               None',
        'Individual Configs:   None',
        '',
      ].join('\n') + '\n',
    )
    .join('');
}

function listMedia(s, type) {
  return s.media
    .filter((m) => m.type === type)
    .map((m) => {
      const users = attachmentsOf(s, m).map((a) => `${a.vm.name} (UUID: ${a.vm.uuid})`);
      const lines = [`UUID:           ${m.uuid}`];
      if (type === 'hdd') lines.push('Parent UUID:    base');
      lines.push('State:          created');
      if (type === 'hdd') lines.push('Type:           normal (base)');
      lines.push(`Location:       ${m.location}`);
      lines.push(`Storage format: ${m.format}`);
      lines.push(`Capacity:       ${Math.round(m.sizeBytes / 1048576)} MBytes`);
      lines.push('Encryption:     disabled');
      if (users.length) lines.push(`In use by VMs:  ${users.join(', ')}`);
      return lines.join('\n') + '\n\n';
    })
    .join('');
}

// ------------------------------------------------------------------------------------------ commands

const commands = {
  list(args, s) {
    const { opts, positional } = getopt(args, { '--long': 0, '-l': 0, '--sorted': 0, '-s': 0 });
    void opts;
    if (positional.length !== 1) syntax('Missing or extra list type');
    const vms = s.vms.map((v) => v).sort((a, b) => (args.includes('--sorted') || args.includes('-s') ? a.name.localeCompare(b.name) : 0));
    switch (positional[0]) {
      case 'vms':
        return vms.map((v) => `"${v.name}" {${v.uuid}}\n`).join('');
      case 'runningvms':
        return vms.filter((v) => ['running', 'paused', 'stopping'].includes(refresh(s, v).state)).map((v) => `"${v.name}" {${v.uuid}}\n`).join('');
      case 'hostonlyifs':
        return listHostOnlyIfs(s);
      case 'dhcpservers':
        return listDhcpServers(s);
      case 'hdds':
        return listMedia(s, 'hdd');
      case 'dvds':
        return listMedia(s, 'dvd');
      default:
        syntax(`Unknown subcommand: ${positional[0]}`);
    }
  },

  showvminfo(args, s) {
    const { opts, positional } = getopt(args, { '--machinereadable': 0, '--details': 0, '--log': 1 });
    if (positional.length !== 1) syntax('Incorrect number of parameters');
    if (opts.some((o) => o.name === '--log')) syntax('--log is not supported by this stand-in');
    const vm = refresh(s, findVm(s, positional[0]));
    if (opts.some((o) => o.name === '--machinereadable')) return machineReadable(s, vm);
    return `Name:                        ${vm.name}\nUUID:                        ${vm.uuid}\nState:                       ${vm.state} (since ${vm.stateChangeTime})\n`;
  },

  createvm(args, s) {
    const { opts, positional } = getopt(args, { '--name': 1, '--basefolder': 1, '--ostype': 1, '--register': 0, '--groups': 1, '--uuid': 1, '--default': 0 });
    if (positional.length) syntax(`Invalid parameter '${positional[0]}'`);
    const get = (n) => opts.find((o) => o.name === n)?.values[0];
    const name = get('--name');
    if (!name) syntax('Parameter --name is required');
    const ostype = get('--ostype') ?? 'Other';
    if (!(ostype in OSTYPES)) fail(`Guest OS type '${ostype}' is invalid`, 'Details: code E_INVALIDARG (0x80070057), component VirtualBoxWrap, interface IVirtualBox');
    const base = get('--basefolder') ?? join(HOME, 'VirtualBox VMs');
    const dir = join(base, name);
    const cfgFile = join(dir, `${name}.vbox`);
    if (existsSync(cfgFile)) {
      fail(
        `Machine settings file '${cfgFile}' already exists`,
        'Details: code VBOX_E_FILE_ERROR (0x80bb0004), component MachineWrap, interface IMachine, callee nsISupports',
        'Context: "CreateMachine(bstrSettingsFile.raw(), bstrName.raw(), ComSafeArrayAsInParam(groups), bstrOsTypeId.raw(), createFlags.raw(), machine.asOutParam())" at line 367 of file VBoxManageMisc.cpp',
      );
    }
    const register = opts.some((o) => o.name === '--register');
    if (register && s.vms.some((v) => v.name === name)) {
      fail(`Machine '${name}' already exists`, 'Details: code VBOX_E_OBJECT_IN_USE (0x80bb000c), component VirtualBoxWrap, interface IVirtualBox');
    }
    mkdirSync(join(dir, 'Logs'), { recursive: true });
    const uuid = get('--uuid') ?? randomUUID();
    writeFileSync(cfgFile, `<?xml version="1.0"?>\n<!-- VBoxManage stand-in: settings of ${name} {${uuid}} -->\n<VirtualBox/>\n`);
    const vm = {
      name,
      uuid,
      cfgFile,
      state: 'poweroff',
      stateChangeTime: now(),
      settings: {
        ostype, memory: 128, cpus: 1, firmware: 'bios', acpi: 'on', ioapic: 'on', rtcuseutc: 'off', pae: 'on', hpet: 'off',
        hwvirtex: 'on', nestedpaging: 'on', largepages: 'off', vtxvpid: 'on', cpuhotplug: 'off',
        boot1: 'floppy', boot2: 'dvd', boot3: 'disk', boot4: 'none',
        nics: { 1: { type: 'nat', nictype: '82540EM', cable: 'on', mac: randomMac(), natpf: [], natdnshostresolver: 'off', natdnsproxy: 'off' } },
      },
      controllers: [],
      sharedFolders: [],
      extradata: {},
      guestprops: {},
    };
    if (register) s.vms.push(vm);
    return `Virtual machine '${name}' is created${register ? ' and registered' : ''}.\nUUID: ${uuid}\nSettings file: '${cfgFile}'\n`;
  },

  modifyvm(args, s) {
    if (args.length < 1) syntax('Not enough parameters');
    const vm = findVm(s, args[0]);
    const spec = {
      '--name': 1, '--ostype': 1, '--memory': 1, '--cpus': 1, '--firmware': 1, '--acpi': 1, '--ioapic': 1, '--rtcuseutc': 1,
      '--pae': 1, '--hpet': 1, '--hwvirtex': 1, '--nestedpaging': 1, '--largepages': 1, '--vtxvpid': 1, '--cpuhotplug': 1,
      '--boot<N>': 1, '--nic<N>': 1, '--nictype<N>': 1, '--cableconnected<N>': 1, '--macaddress<N>': 1, '--hostonlyadapter<N>': 1,
      '--nicpromisc<N>': 1, '--natdnshostresolver<N>': 1, '--natdnsproxy<N>': 1,
      '--natpf<N>': (a, i, inline) => ((inline ?? a[i + 1]) === 'delete' ? 2 : 1),
      '--uart<N>': (a, i, inline) => ((inline ?? a[i + 1]) === 'off' ? 1 : 2),
      '--uartmode<N>': (a, i, inline) => ((inline ?? a[i + 1]) === 'disconnected' ? 1 : 2),
    };
    // VirtualBox 7 spellings, accepted alongside the old ones (both are in 7.x's option table).
    const aliases = {
      '--rtc-use-utc': '--rtcuseutc', '--nested-paging': '--nestedpaging', '--large-pages': '--largepages', '--vtx-vpid': '--vtxvpid',
      '--cpu-hotplug': '--cpuhotplug', '--nic-type<N>': '--nictype<N>', '--cable-connected<N>': '--cableconnected<N>',
      '--mac-address<N>': '--macaddress<N>', '--host-only-adapter<N>': '--hostonlyadapter<N>', '--nic-promisc<N>': '--nicpromisc<N>',
      '--nat-dns-host-resolver<N>': '--natdnshostresolver<N>', '--nat-dns-proxy<N>': '--natdnsproxy<N>', '--nat-pf<N>': '--natpf<N>',
      '--uart-mode<N>': '--uartmode<N>',
    };
    const { opts, positional } = getopt(args.slice(1), spec, { unknownExit: 1, aliases });
    if (positional.length) fail(`Invalid parameter '${positional[0]}'`);
    requireWriteLock(s, vm);
    if (vm.state === 'saved' && opts.length) fail('Invalid machine state: Saved (must be PoweredOff, Teleported or Aborted)', 'Details: code VBOX_E_INVALID_VM_STATE (0x80bb0002), component SessionMachine, interface IMachine');
    const st = vm.settings;
    const nic = (n) => {
      if (!(n >= 1 && n <= 8)) fail(`Invalid NIC number ${n}`);
      st.nics[n] ??= { type: 'none', nictype: '82540EM', cable: 'on', mac: randomMac(), natpf: [], natdnshostresolver: 'off', natdnsproxy: 'off' };
      return st.nics[n];
    };
    const NICTYPES = ['Am79C970A', 'Am79C973', 'Am79C960', '82540EM', '82543GC', '82545EM', 'virtio'];
    for (const o of opts) {
      const v = o.values[0];
      switch (o.name) {
        case '--name':
          if (s.vms.some((x) => x !== vm && x.name === v)) fail(`Machine '${v}' already exists`);
          vm.name = v;
          break;
        case '--ostype':
          if (!(v in OSTYPES)) fail(`Guest OS type '${v}' is invalid`);
          st.ostype = v;
          break;
        case '--memory':
        case '--cpus': {
          if (!/^\d+$/.test(v)) syntax(`Invalid ${o.given} argument '${v}'`);
          const n = Number(v);
          if (o.name === '--cpus' && (n < 1 || n > 64)) fail(`Invalid virtual CPU count: ${n} (must be in range [1, 64])`);
          if (o.name === '--memory' && (n < 4 || n > 2097152)) fail(`Invalid RAM size: ${n} MB (must be in range [4, 2097152] MB)`);
          st[o.name.slice(2)] = n;
          break;
        }
        case '--firmware':
          if (!['bios', 'efi', 'efi32', 'efi64'].includes(v)) fail(`Invalid --firmware argument '${v}'`);
          st.firmware = v;
          break;
        case '--boot<N>':
          if (!(o.index >= 1 && o.index <= 4)) fail(`Invalid boot slot ${o.index}`);
          if (!['none', 'floppy', 'dvd', 'disk', 'net'].includes(v)) fail(`Invalid boot device '${v}'`);
          st[`boot${o.index}`] = v;
          break;
        case '--nic<N>':
          if (!['none', 'null', 'nat', 'bridged', 'intnet', 'hostonly', 'hostonlynet', 'generic', 'natnetwork', 'cloud'].includes(v)) fail(`Invalid type '${v}' specfied for NIC ${o.index}`);
          nic(o.index).type = v;
          break;
        case '--nictype<N>':
          if (!NICTYPES.includes(v)) fail(`Invalid NIC type '${v}' specified for NIC ${o.index}`);
          nic(o.index).nictype = v;
          break;
        case '--cableconnected<N>':
          nic(o.index).cable = onOff(v, o.given);
          break;
        case '--macaddress<N>':
          if (v !== 'auto' && !/^[0-9A-Fa-f]{12}$/.test(v)) fail(`Invalid MAC address '${v}'`, 'Details: code E_INVALIDARG (0x80070057), component NetworkAdapterWrap, interface INetworkAdapter');
          if (v !== 'auto' && (parseInt(v.slice(0, 2), 16) & 1)) fail(`Invalid MAC address '${v}': multicast addresses are not allowed`);
          nic(o.index).mac = v === 'auto' ? randomMac() : v.toUpperCase();
          break;
        case '--hostonlyadapter<N>':
          nic(o.index).hostonlyadapter = v;
          break;
        case '--nicpromisc<N>':
          if (!['deny', 'allow-vms', 'allow-all'].includes(v)) fail(`Unknown promiscuous mode policy '${v}'`);
          nic(o.index).promisc = v;
          break;
        case '--natdnshostresolver<N>':
          nic(o.index).natdnshostresolver = onOff(v, o.given);
          break;
        case '--natdnsproxy<N>':
          nic(o.index).natdnsproxy = onOff(v, o.given);
          break;
        case '--natpf<N>': {
          const n = nic(o.index);
          if (o.values[0] === 'delete') {
            const i = n.natpf.findIndex((r) => r.split(',')[0] === o.values[1]);
            if (i < 0) {
              fail('Code NS_ERROR_INVALID_ARG (0x80070057) - Invalid argument value (extended info not available)', `Context: "RemoveRedirect(Bstr(ValueUnion.psz).raw())" at line 1792 of file VBoxManageModifyVM.cpp`);
            }
            n.natpf.splice(i, 1);
            break;
          }
          const parts = v.split(',');
          if (parts.length !== 6 || !['tcp', 'udp'].includes(parts[1]) || !/^\d+$/.test(parts[3]) || !/^\d+$/.test(parts[5])) {
            syntax(`Invalid NAT rule '${v}': expected [<rulename>],tcp|udp,[<hostip>],<hostport>,[<guestip>],<guestport>`);
          }
          const name = parts[0] || `${parts[1]}_${parts[3]}_${parts[5]}`;
          if (n.natpf.some((r) => r.split(',')[0] === name)) fail('A NAT rule of this name already exists', 'Details: code NS_ERROR_INVALID_ARG (0x80070057), component NATEngineWrap, interface INATEngine');
          if (n.natpf.some((r) => r.split(',')[1] === parts[1] && r.split(',')[2] === parts[2] && r.split(',')[3] === parts[3])) {
            fail('A NAT rule for this host port and this host IP already exists', 'Details: code NS_ERROR_INVALID_ARG (0x80070057), component NATEngineWrap, interface INATEngine');
          }
          n.natpf.push([name, ...parts.slice(1)].join(','));
          break;
        }
        case '--uart<N>':
          if (o.index !== 1) fail('Only UART 1 is supported by this stand-in');
          if (o.values[0] === 'off') st.uart1 = 'off';
          else {
            if (!/^0x[0-9a-fA-F]+$/.test(o.values[0]) || !/^\d+$/.test(o.values[1])) syntax(`Invalid --uart1 arguments '${o.values.join(' ')}'`);
            st.uart1 = `0x${parseInt(o.values[0], 16).toString(16).padStart(4, '0')},${o.values[1]}`;
          }
          break;
        case '--uartmode<N>':
          if (o.index !== 1) fail('Only UART 1 is supported by this stand-in');
          if (o.values[0] === 'disconnected') st.uartmode1 = 'disconnected';
          else {
            if (!['server', 'client', 'tcpserver', 'tcpclient', 'file'].includes(o.values[0])) syntax(`Invalid --uartmode1 argument '${o.values[0]}'`);
            st.uartmode1 = `${o.values[0]},${o.values[1]}`;
          }
          break;
        default:
          st[o.name.slice(2)] = onOff(v, o.given);
      }
    }
    return '';
  },

  storagectl(args, s) {
    if (args.length < 1) syntax('Not enough parameters');
    const vm = findVm(s, args[0]);
    const { opts, positional } = getopt(args.slice(1), { '--name': 1, '--add': 1, '--controller': 1, '--portcount': 1, '--hostiocache': 1, '--bootable': 1, '--remove': 0, '--rename': 1 });
    if (positional.length) syntax(`Invalid parameter '${positional[0]}'`);
    const get = (n) => opts.find((o) => o.name === n)?.values[0];
    const name = get('--name');
    if (!name) syntax('Storage controller name not specified');
    requireWriteLock(s, vm, 'VBoxManageStorageController.cpp');
    requirePoweredOff(vm);
    let c = vm.controllers.find((x) => x.name === name);
    if (get('--add') !== undefined) {
      const bus = get('--add');
      if (!['ide', 'sata', 'scsi', 'floppy', 'sas', 'usb', 'pcie', 'virtio'].includes(bus)) syntax(`Invalid --add argument '${bus}'`);
      if (c) fail(`Storage controller named '${name}' already exists`, 'Details: code VBOX_E_OBJECT_IN_USE (0x80bb000c), component SessionMachine, interface IMachine');
      c = { name, bus, controller: bus === 'sata' ? 'IntelAhci' : bus.toUpperCase(), portcount: bus === 'sata' ? 30 : 2, hostiocache: 'off', bootable: 'on', attachments: {} };
      vm.controllers.push(c);
    }
    if (!c) fail(`Couldn't find the controller with the name: '${name}'`);
    if (get('--controller') !== undefined) {
      const t = get('--controller');
      const ok = { sata: ['intelahci'], ide: ['piix3', 'piix4', 'ich6'], scsi: ['lsilogic', 'buslogic'], sas: ['lsilogicsas'], floppy: ['i82078'], usb: ['usb'], pcie: ['nvme'], virtio: ['virtio'] }[c.bus];
      if (!ok.includes(t.toLowerCase())) fail(`Invalid --type argument '${t}'`);
      c.controller = t.toLowerCase() === 'intelahci' ? 'IntelAhci' : t;
    }
    if (get('--portcount') !== undefined) {
      const n = Number(get('--portcount'));
      if (!Number.isInteger(n) || n < 1 || n > 30) fail(`Invalid port count ${get('--portcount')}`);
      c.portcount = n;
    }
    if (get('--hostiocache') !== undefined) c.hostiocache = onOff(get('--hostiocache'), '--hostiocache');
    if (get('--bootable') !== undefined) c.bootable = onOff(get('--bootable'), '--bootable');
    if (opts.some((o) => o.name === '--remove')) vm.controllers = vm.controllers.filter((x) => x !== c);
    return '';
  },

  storageattach(args, s) {
    if (args.length < 1) syntax('Not enough parameters');
    const vm = findVm(s, args[0]);
    const { opts, positional } = getopt(args.slice(1), {
      '--storagectl': 1, '--port': 1, '--device': 1, '--type': 1, '--medium': 1, '--mtype': 1, '--comment': 1, '--nonrotational': 1,
      '--discard': 1, '--hotpluggable': 1, '--tempeject': 1, '--passthrough': 1,
    });
    if (positional.length) syntax(`Invalid parameter '${positional[0]}'`);
    const get = (n) => opts.find((o) => o.name === n)?.values[0];
    const ctl = get('--storagectl');
    if (!ctl) syntax('Storage controller name not specified');
    const type = get('--type');
    if (type !== undefined && !['dvddrive', 'hdd', 'fdd'].includes(type)) syntax(`Invalid --type argument '${type}'`);
    const mediumRef = get('--medium');
    if (mediumRef === undefined) syntax('Missing --medium');
    injectLocked(s, vm);
    const c = vm.controllers.find((x) => x.name === ctl);
    if (!c) fail(`Could not find a controller named '${ctl}'`);
    const port = Number(get('--port') ?? 0);
    const device = Number(get('--device') ?? 0);
    if (!Number.isInteger(port) || port < 0 || port >= c.portcount || device !== 0) fail(`The port and/or device parameter are out of range: port=${port} (must be in range [0, ${c.portcount - 1}]), device=${device} (must be in range [0, 0])`);
    const slot = `${port}-${device}`;
    const current = c.attachments[slot];
    const running = !POWERED_OFF.includes(vm.state);
    const dvdChange = running && current?.type === 'dvddrive' && (type === undefined || type === 'dvddrive');
    if (running && !dvdChange) fail(`Controller '${ctl}' does not support hot-plugging`, 'Details: code VBOX_E_INVALID_VM_STATE (0x80bb0002), component SessionMachine, interface IMachine, callee nsISupports');
    if (mediumRef === 'none') {
      delete c.attachments[slot];
      return '';
    }
    if (mediumRef === 'emptydrive') {
      if ((type ?? current?.type) !== 'dvddrive') fail('Medium type "emptydrive" is only allowed for DVD drives');
      c.attachments[slot] = { type: 'dvddrive', medium: null };
      return '';
    }
    const t = type ?? current?.type;
    if (!t) syntax('Missing --type');
    const m = openMedium(s, mediumRef, t === 'hdd' ? 'hdd' : 'dvd', vm.uuid);
    if (t === 'hdd') {
      const users = attachmentsOf(s, m).filter((a) => a.vm !== vm);
      if (users.length) fail(`Medium '${m.location}' is already attached to the virtual machine '${users[0].vm.name}'`, 'Details: code VBOX_E_OBJECT_IN_USE (0x80bb000c), component SessionMachine, interface IMachine');
    }
    c.attachments[slot] = { type: t, medium: m.uuid };
    return '';
  },

  convertfromraw(args, s) {
    void s;
    const { opts, positional } = getopt(args, { '--format': 1, '--variant': 1, '--uuid': 1 });
    if (positional.length !== 2) syntax(positional[0] === 'stdin' ? 'The stdin form is not supported by this stand-in' : 'Incorrect number of parameters');
    const [input, output] = positional.map((p) => resolve(p));
    const format = (opts.find((o) => o.name === '--format')?.values[0] ?? 'VDI').toUpperCase();
    if (!['VDI', 'VMDK', 'VHD'].includes(format)) syntax(`Invalid format '${format}'`);
    if (!existsSync(input)) fail(`Cannot open the raw disk '${input}': VERR_FILE_NOT_FOUND`);
    if (existsSync(output)) fail(`Cannot create the disk image "${output}": VERR_ALREADY_EXISTS`);
    const size = statSync(input).size;
    if (size % 512 !== 0) fail(`The raw disk '${input}' is not a multiple of 512 bytes: VERR_INVALID_PARAMETER`);
    mediumFile(output, size);
    return `Converting from raw image file="${input}" to file="${output}"...\nCreating dynamic image with size ${size} bytes (${Math.round(size / 1048576)}MB)...\n`;
  },

  clonemedium(args, s) {
    let rest = args;
    let kind = 'disk';
    if (['disk', 'dvd', 'floppy'].includes(rest[0])) [kind, ...rest] = rest;
    if (kind !== 'disk') syntax('Only disk clones are supported by this stand-in');
    const { opts, positional } = getopt(rest, { '--format': 1, '--variant': 1, '--existing': 0 });
    if (positional.length !== 2) syntax('Incorrect number of parameters');
    if (opts.some((o) => o.name === '--existing')) syntax('--existing is not supported by this stand-in');
    const format = (opts.find((o) => o.name === '--format')?.values[0] ?? 'VDI').toUpperCase();
    if (!['VDI', 'VMDK', 'VHD', 'RAW'].includes(format)) fail(`Invalid format '${format}'`);
    const src = openMedium(s, positional[0], 'hdd');
    const dst = resolve(positional[1]);
    if (existsSync(dst) || findMedium(s, dst)) fail(`Cannot create the clone medium '${dst}'`, 'Details: code VBOX_E_FILE_ERROR (0x80bb0004), component MediumWrap, interface IMedium', `Could not create the clone medium '${dst}' (VERR_ALREADY_EXISTS)`);
    const uuid = mediumFile(dst, src.sizeBytes);
    s.media.push({ uuid, location: dst, type: 'hdd', format, sizeBytes: src.sizeBytes, registry: 'global' });
    progress();
    return `Clone medium created in format '${format}'. UUID: ${uuid}\n`;
  },

  modifymedium(args, s) {
    let rest = args;
    let kind = 'disk';
    if (['disk', 'dvd', 'floppy'].includes(rest[0])) [kind, ...rest] = rest;
    const { opts, positional } = getopt(rest, { '--resize': 1, '--resizebyte': 1, '--compact': 0, '--type': 1, '--description': 1 });
    if (positional.length !== 1) syntax('Incorrect number of parameters');
    const m = openMedium(s, positional[0], kind === 'disk' ? 'hdd' : 'dvd');
    const resize = opts.find((o) => o.name === '--resize' || o.name === '--resizebyte');
    if (resize) {
      const bytes = resize.name === '--resize' ? Number(resize.values[0]) * 1048576 : Number(resize.values[0]);
      if (!Number.isFinite(bytes) || bytes <= 0) syntax(`Invalid size '${resize.values[0]}'`);
      if (bytes < m.sizeBytes) fail(`Shrinking is not yet supported for medium '${m.location}'`, 'Details: code VBOX_E_NOT_SUPPORTED (0x80bb0009), component MediumWrap, interface IMedium');
      const busy = attachmentsOf(s, m).some((a) => !POWERED_OFF.includes(a.vm.state));
      if (busy) fail(`Cannot resize medium '${m.location}': it is locked for writing by a running VM`, 'Details: code VBOX_E_INVALID_OBJECT_STATE (0x80bb0007), component MediumWrap, interface IMedium');
      m.sizeBytes = bytes;
      const j = readMediumFile(m.location);
      if (j) writeFileSync(m.location, JSON.stringify({ ...j, sizeBytes: bytes }) + '\n');
      progress();
    }
    return '';
  },

  closemedium(args, s) {
    let rest = args;
    let kind = 'disk';
    if (['disk', 'dvd', 'floppy'].includes(rest[0])) [kind, ...rest] = rest;
    const { opts, positional } = getopt(rest, { '--delete': 0 });
    if (positional.length !== 1) syntax('Incorrect number of parameters');
    const m = openMedium(s, positional[0], kind === 'disk' ? 'hdd' : 'dvd');
    const users = attachmentsOf(s, m);
    if (users.length) {
      fail(`Medium '${m.location}' cannot be closed because it is still attached to ${users.length} virtual machines`, 'Details: code VBOX_E_OBJECT_IN_USE (0x80bb000c), component MediumWrap, interface IMedium, callee nsISupports');
    }
    s.media = s.media.filter((x) => x !== m);
    if (opts.some((o) => o.name === '--delete')) {
      rmSync(m.location, { force: true });
      progress();
    }
    return '';
  },

  hostonlyif(args, s) {
    const [sub, ...rest] = args;
    if (sub === 'create') {
      if (rest.length) syntax('Too many parameters');
      let n = 0;
      while (s.hostonlyifs.some((h) => h.name === `vboxnet${n}`)) n++;
      const mac = `0a:00:27:00:00:${n.toString(16).padStart(2, '0')}`;
      s.hostonlyifs.push({ name: `vboxnet${n}`, guid: `786f6276-656e-4074-8000-0a00270000${n.toString(16).padStart(2, '0')}`, ip: `192.168.${56 + n}.1`, netmask: '255.255.255.0', dhcp: false, mac });
      progress();
      return `Interface 'vboxnet${n}' was successfully created\n`;
    }
    if (sub === 'remove') {
      if (rest.length !== 1) syntax('Incorrect number of parameters');
      const h = s.hostonlyifs.find((x) => x.name === rest[0]);
      if (!h) fail(`Could not find interface '${rest[0]}'`, 'Details: code NS_ERROR_INVALID_ARG (0x80070057), component HostWrap, interface IHost');
      s.hostonlyifs = s.hostonlyifs.filter((x) => x !== h);
      guestNetworkRemove(h);
      progress();
      return '';
    }
    if (sub === 'ipconfig') {
      const { opts, positional } = getopt(rest, { '--dhcp': 0, '--ip': 1, '--netmask': 1, '--ipv6': 1, '--netmasklengthv6': 1 });
      if (positional.length !== 1) syntax('Incorrect number of parameters');
      const h = s.hostonlyifs.find((x) => x.name === positional[0]);
      if (!h) fail(`Could not find interface '${positional[0]}'`);
      const ip = opts.find((o) => o.name === '--ip')?.values[0];
      const mask = opts.find((o) => o.name === '--netmask')?.values[0] ?? '255.255.255.0';
      if (opts.some((o) => o.name === '--dhcp')) {
        h.dhcp = true;
        return '';
      }
      if (!ip) syntax('Missing --ip (or --dhcp, --ipv6)');
      if (ipToInt(ip) === undefined || maskPrefix(mask) === undefined) fail(`Invalid IP address or mask: ${ip} ${mask}`);
      if (rangeRestricted() && !allowedRanges().some((r) => { const [n, p] = r.split('/'); return within(ip, n, Number(p)) && maskPrefix(mask) >= Number(p); })) {
        fail('Code E_ACCESSDENIED (0x80070005) - Access denied (extended info not available)', 'Context: "EnableStaticIPConfig(Bstr(pszIp).raw(), Bstr(pszNetmask).raw())" at line 242 of file VBoxManageHostonly.cpp');
      }
      h.ip = ip;
      h.netmask = mask;
      h.dhcp = false;
      return '';
    }
    syntax(`Invalid parameter '${sub ?? ''}'`);
  },

  dhcpserver(args, s) {
    const [sub, ...rest] = args;
    if (!['add', 'modify', 'remove'].includes(sub)) syntax(`Invalid parameter '${sub ?? ''}'`);
    const { opts, positional } = getopt(
      rest,
      { '--network': 1, '--interface': 1, '--server-ip': 1, '--netmask': 1, '--lower-ip': 1, '--upper-ip': 1, '--enable': 0, '--disable': 0 },
      { aliases: { '--netname': '--network', '--ifname': '--interface', '--ip': '--server-ip', '--lowerip': '--lower-ip', '--upperip': '--upper-ip' } },
    );
    if (positional.length) syntax(`Invalid parameter '${positional[0]}'`);
    const get = (n) => opts.find((o) => o.name === n)?.values[0];
    let networkName = get('--network');
    const iface = get('--interface');
    if (!networkName && !iface) syntax('You need to specify either --network or --interface to identify the DHCP server');
    if (networkName && iface) syntax('--network and --interface are mutually exclusive');
    if (iface) {
      if (!s.hostonlyifs.some((h) => h.name === iface)) fail(`Could not find interface '${iface}'`, 'Details: code NS_ERROR_INVALID_ARG (0x80070057), component HostWrap, interface IHost');
      networkName = `HostInterfaceNetworking-${iface}`;
    }
    let d = s.dhcpservers.find((x) => x.networkName === networkName);
    if (sub === 'remove') {
      if (!d) fail('DHCP server does not exist');
      s.dhcpservers = s.dhcpservers.filter((x) => x !== d);
      return '';
    }
    if (sub === 'add') {
      if (d) fail('DHCP server already exists');
      for (const req of ['--server-ip', '--netmask', '--lower-ip', '--upper-ip']) if (get(req) === undefined) syntax(`Missing required option: ${req}`);
      d = { networkName, ip: '', netmask: '', lower: '', upper: '', enabled: false, leases: {} };
      s.dhcpservers.push(d);
    } else if (!d) fail('DHCP server does not exist');
    for (const [opt, key] of [['--server-ip', 'ip'], ['--netmask', 'netmask'], ['--lower-ip', 'lower'], ['--upper-ip', 'upper']]) {
      const v = get(opt);
      if (v === undefined) continue;
      if (ipToInt(v) === undefined) fail(`Invalid ${opt} address '${v}'`);
      d[key] = v;
    }
    const p = maskPrefix(d.netmask);
    if (p === undefined || !within(d.lower, d.ip, p) || !within(d.upper, d.ip, p) || ipToInt(d.lower) > ipToInt(d.upper)) {
      fail(`Invalid configuration: server ${d.ip}, mask ${d.netmask}, range ${d.lower}-${d.upper}`, 'Details: code E_INVALIDARG (0x80070057), component DHCPServerWrap, interface IDHCPServer');
    }
    if (opts.some((o) => o.name === '--enable')) d.enabled = true;
    if (opts.some((o) => o.name === '--disable')) d.enabled = false;
    for (const [mac, ip] of Object.entries(d.leases)) if (!within(ip, d.ip, p) || ipToInt(ip) < ipToInt(d.lower) || ipToInt(ip) > ipToInt(d.upper)) delete d.leases[mac];
    return '';
  },

  sharedfolder(args, s) {
    const [sub, vmRef, ...rest] = args;
    if (sub !== 'add' && sub !== 'remove') syntax(`Invalid parameter '${sub ?? ''}'`);
    if (!vmRef) syntax('Not enough parameters');
    const vm = findVm(s, vmRef);
    const { opts, positional } = getopt(rest, { '--name': 1, '--hostpath': 1, '--transient': 0, '--readonly': 0, '--automount': 0, '--auto-mount-point': 1 });
    if (positional.length) syntax(`Invalid parameter '${positional[0]}'`);
    const get = (n) => opts.find((o) => o.name === n)?.values[0];
    const name = get('--name');
    if (!name) syntax('Missing --name');
    if (opts.some((o) => o.name === '--transient')) injectLocked(s, vm);
    else requireWriteLock(s, vm, 'VBoxManageMisc.cpp');
    if (sub === 'remove') {
      if (!vm.sharedFolders.some((f) => f.name === name)) fail(`Could not find a shared folder named '${name}'`);
      vm.sharedFolders = vm.sharedFolders.filter((f) => f.name !== name);
      return '';
    }
    const hostpath = get('--hostpath');
    if (!hostpath) syntax('Missing --hostpath');
    if (!isAbsolute(hostpath)) fail(`Shared folder path '${hostpath}' is not absolute`);
    if (vm.sharedFolders.some((f) => f.name === name)) fail(`Shared folder named '${name}' already exists`, 'Details: code VBOX_E_OBJECT_IN_USE (0x80bb000c), component SessionMachine, interface IMachine');
    vm.sharedFolders.push({ name, hostpath, automount: opts.some((o) => o.name === '--automount') });
    return '';
  },

  setextradata(args, s) {
    if (args.length < 2 || args.length > 3) syntax('Incorrect number of parameters');
    const [target, key, value] = args;
    const bag = target === 'global' ? s.extradata : findVm(s, target).extradata;
    if (value === undefined) delete bag[key];
    else bag[key] = value;
    return '';
  },

  guestproperty(args, s) {
    const [sub, vmRef, prop, ...rest] = args;
    if (sub !== 'get') syntax(`Invalid parameter '${sub ?? ''}' (this stand-in implements guestproperty get)`);
    if (!vmRef || !prop) syntax('Incorrect number of parameters');
    const { positional } = getopt(rest, { '--verbose': 0 });
    if (positional.length) syntax(`Invalid parameter '${positional[0]}'`);
    const vm = refresh(s, findVm(s, vmRef));
    const v = vm.state === 'running' ? vm.guestprops[prop] : undefined;
    return v === undefined ? 'No value set!\n' : `Value: ${v}\n`;
  },

  startvm(args, s) {
    const { opts, positional } = getopt(args, { '--type': 1, '--putenv': 1, '-E': 1 });
    if (positional.length < 1) syntax('Not enough parameters');
    const type = opts.find((o) => o.name === '--type')?.values[0] ?? 'gui';
    if (!['gui', 'headless', 'sdl', 'separate'].includes(type)) fail(`Invalid session type '${type}'`);
    let out = '';
    for (const ref of positional) {
      const vm = refresh(s, findVm(s, ref));
      out += `Waiting for VM "${vm.name}" to power on...\n`;
      if (!POWERED_OFF.includes(vm.state) && vm.state !== 'saved') {
        throw new VBoxExit(
          1,
          [
            `The machine '${vm.name}' is already locked by a session (or being locked or unlocked)`,
            'Details: code VBOX_E_INVALID_OBJECT_STATE (0x80bb0007), component MachineWrap, interface IMachine, callee nsISupports',
            'Context: "LaunchVMProcess(a->session, sessionType.raw(), ComSafeArrayAsInParam(aBstrEnv), progress.asOutParam())" at line 727 of file VBoxManageMisc.cpp',
          ].map((l) => `${PROG}: error: ${l}\n`).join(''),
          out,
        );
      }
      const log = join(dirname(vm.cfgFile), 'Logs', 'VBox.log');
      mkdirSync(dirname(log), { recursive: true });
      const failStart = (lines) => {
        appendFileSync(log, `${new Date().toISOString()} Power up failed (${lines[0]})\n`);
        throw new VBoxExit(1, lines.map((l) => `${PROG}: error: ${l}\n`).join(''), out);
      };
      for (const c of vm.controllers) {
        for (const a of Object.values(c.attachments)) {
          const m = a.medium && s.media.find((x) => x.uuid === a.medium);
          if (a.medium && (!m || !existsSync(m.location))) failStart([`Could not open the medium '${m?.location ?? a.medium}'. VD: error VERR_FILE_NOT_FOUND opening image file (VERR_FILE_NOT_FOUND)`, 'Details: code NS_ERROR_FAILURE (0x80004005), component MediumWrap, interface IMedium']);
        }
      }
      for (const nic of Object.values(vm.settings.nics)) {
        if (nic.type === 'hostonly' && !s.hostonlyifs.some((h) => h.name === nic.hostonlyadapter)) {
          failStart([`Nonexistent host networking interface, name '${nic.hostonlyadapter ?? ''}' (VERR_INTERNAL_ERROR)`, 'Details: code NS_ERROR_FAILURE (0x80004005), component ConsoleWrap, interface IConsole']);
        }
      }
      if (process.env.VBOX_STANDIN_NO_VTX === '1') {
        failStart(['VT-x is not available (VERR_VMX_NO_VMX)', 'Details: code NS_ERROR_FAILURE (0x80004005), component ConsoleWrap, interface IConsole']);
      }
      // The host-only NIC's DHCP lease (what the guest will get), stable per MAC.
      const lostLease = (process.env.VBOX_STANDIN_DHCP_LOST_LEASE ?? '').split(',').includes(vm.name);
      let lost = false;
      for (const nic of Object.values(vm.settings.nics)) {
        if (nic.type !== 'hostonly') continue;
        const d = s.dhcpservers.find((x) => x.networkName === `HostInterfaceNetworking-${nic.hostonlyadapter}`);
        if (d?.enabled && lostLease) lost = loseLease(d, nic.mac) || lost;
        if (d?.enabled) lease(d, nic.mac);
      }
      if (lostLease && !lost) fail(`Stand-in: VBOX_STANDIN_DHCP_LOST_LEASE names '${vm.name}', which has no host-only DHCP lease to lose (start it once without the switch)`);
      if (process.env.VBOX_STANDIN_GUEST === 'container') guestStart(s, vm);
      setState(vm, 'running');
      appendFileSync(log, `${new Date().toISOString()} VM started (${type})\n`);
      out += `VM "${vm.name}" has been successfully started.\n`;
    }
    return out;
  },

  controlvm(args, s) {
    const [vmRef, action, ...rest] = args;
    if (!vmRef || !action) syntax('Not enough parameters');
    const vm = refresh(s, findVm(s, vmRef));
    const ACTIONS = ['pause', 'resume', 'reset', 'poweroff', 'savestate', 'acpipowerbutton'];
    if (!ACTIONS.includes(action)) syntax(`Invalid parameter '${action}' (this stand-in implements ${ACTIONS.join(', ')})`);
    if (rest.length) syntax(`Invalid parameter '${rest[0]}'`);
    if (!['running', 'paused', 'stopping'].includes(vm.state)) fail(`Machine '${vm.name}' is not currently running`);
    const invalid = (needs) =>
      fail(`Invalid machine state: ${stateName(vm.state)} (must be ${needs})`, `Details: code VBOX_E_INVALID_VM_STATE (0x80bb0002), component ConsoleWrap, interface IConsole, callee nsISupports`);
    const container = process.env.VBOX_STANDIN_GUEST === 'container';
    switch (action) {
      case 'pause':
        if (vm.state !== 'running') invalid('Running');
        if (container) docker(['pause', vm.guest.container]);
        setState(vm, 'paused');
        break;
      case 'resume':
        if (vm.state !== 'paused') invalid('Paused');
        if (container) docker(['unpause', vm.guest.container]);
        setState(vm, 'running');
        break;
      case 'reset':
        if (vm.state !== 'running') invalid('Running');
        if (container) docker(['restart', '--time', '0', vm.guest.container]);
        break;
      case 'poweroff':
        if (container) {
          if (vm.state === 'paused') docker(['unpause', vm.guest.container], { check: false });
          docker(['kill', vm.guest.container], { check: false });
        }
        setState(vm, 'poweroff');
        progress();
        break;
      case 'savestate':
        if (container) docker(['stop', '--time', '30', vm.guest.container], { check: false });
        setState(vm, 'saved');
        progress();
        break;
      case 'acpipowerbutton':
        if (vm.state !== 'running') invalid('Running');
        if (process.env.VBOX_STANDIN_IGNORE_ACPI === '1') break;
        if (container) {
          // The guest shuts down on its own time; VBoxManage returns at once.
          const child = spawn(DOCKER, ['stop', '--time', '90', vm.guest.container], { detached: true, stdio: 'ignore' });
          child.unref();
          setState(vm, 'stopping');
        } else {
          setState(vm, 'poweroff');
        }
        break;
    }
    return '';
  },

  discardstate(args, s) {
    if (args.length !== 1) syntax('Incorrect number of parameters');
    const vm = refresh(s, findVm(s, args[0]));
    if (vm.state !== 'saved') fail(`Machine '${vm.name}' is not in the saved state (current state: ${stateName(vm.state)})`, 'Details: code VBOX_E_INVALID_VM_STATE (0x80bb0002), component SessionMachine, interface IMachine');
    setState(vm, 'poweroff');
    return '';
  },

  unregistervm(args, s) {
    const { opts, positional } = getopt(args, { '--delete': 0, '--delete-all': 0 });
    if (positional.length !== 1) syntax('Incorrect number of parameters');
    const vm = refresh(s, findVm(s, positional[0]));
    if (!POWERED_OFF.includes(vm.state) && vm.state !== 'saved') {
      fail(
        `Cannot unregister the machine '${vm.name}' while it is locked`,
        'Details: code VBOX_E_INVALID_OBJECT_STATE (0x80bb0007), component MachineWrap, interface IMachine, callee nsISupports',
        'Context: "Unregister(CleanupMode_DetachAllReturnHardDisksOnly, ComSafeArrayAsOutParam(aMedia))" at line 161 of file VBoxManageMisc.cpp',
      );
    }
    const del = opts.some((o) => o.name === '--delete' || o.name === '--delete-all');
    const delAll = opts.some((o) => o.name === '--delete-all');
    const attached = [];
    for (const c of vm.controllers) for (const a of Object.values(c.attachments)) if (a.medium) attached.push(s.media.find((m) => m.uuid === a.medium));
    s.vms = s.vms.filter((x) => x !== vm);
    for (const m of attached.filter(Boolean)) {
      const stillUsed = attachmentsOf(s, m).length > 0;
      if (stillUsed) continue;
      if (del && (m.type === 'hdd' || delAll)) {
        rmSync(m.location, { force: true });
        s.media = s.media.filter((x) => x !== m);
      } else if (m.registry === vm.uuid) {
        // Media known only through this VM's own registry are forgotten with it.
        s.media = s.media.filter((x) => x !== m);
      }
    }
    if (vm.guest?.container) docker(['rm', '-f', '-v', vm.guest.container], { check: false });
    if (del) {
      const dir = dirname(vm.cfgFile);
      rmSync(vm.cfgFile, { force: true });
      rmSync(join(dir, 'Logs'), { recursive: true, force: true });
      try {
        if (readdirSync(dir).length === 0) rmdirSync(dir);
      } catch {
        /* gone already */
      }
      progress();
    }
    return '';
  },
};

commands.clonehd = commands.clonemedium;
commands.clonevdi = commands.clonemedium;
commands.modifyhd = commands.modifymedium;

function randomMac() {
  return `080027${randomUUID().replace(/-/g, '').slice(0, 6)}`.toUpperCase();
}

function progress() {
  process.stderr.write('0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%\n');
}

/**
 * VBOX_STANDIN_DHCP_LOST_LEASE: the DHCP server lost its lease file, and meanwhile another
 * client (a MAC no VM of this stand-in has: 02:00:00 + the address's last three bytes) was
 * leased the address this MAC had. The MAC's next lease is then a different address. Returns
 * whether there was a lease to lose.
 */
function loseLease(d, mac) {
  const key = normMac(mac);
  const old = d.leases[key];
  if (!old) return false;
  delete d.leases[key];
  d.leases[`020000${(ipToInt(old) & 0xffffff).toString(16).padStart(6, '0')}`] = old;
  return true;
}

function lease(d, mac) {
  const key = normMac(mac);
  if (d.leases[key]) return d.leases[key];
  const used = new Set(Object.values(d.leases));
  for (let n = ipToInt(d.lower); n <= ipToInt(d.upper); n++) {
    const ip = intToIp(n);
    if (!used.has(ip) && ip !== d.ip) {
      d.leases[key] = ip;
      return ip;
    }
  }
  return undefined;
}

// ------------------------------------------------------------------------------------------ container guests

/**
 * The docker CLI for container guests: $VBOX_STANDIN_DOCKER, else Debian's /usr/bin/docker (the
 * client of the docker.io the test bed runs; a newer client in /usr/local/bin refuses
 * per-network MAC addresses against that engine's API 1.41), else docker from PATH.
 */
const DOCKER = process.env.VBOX_STANDIN_DOCKER || (existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker');

function docker(args, { check = true, input } = {}) {
  try {
    return execFileSync(DOCKER, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'], timeout: 120_000 });
  } catch (e) {
    if (!check) return '';
    fail(`Guest backend: docker ${args.slice(0, 2).join(' ')} failed: ${String(e.stderr || e.message).trim().split('\n').pop()}`);
  }
}

/** Updates a container-backed VM's state from its container (a guest that shut down is powered off). */
function refresh(s, vm) {
  if (!vm.guest?.container || !['running', 'stopping', 'paused'].includes(vm.state)) return vm;
  const out = docker(['inspect', '--format', '{{.State.Status}}', vm.guest.container], { check: false }).trim();
  if (out === '' || out === 'exited' || out === 'dead') {
    setState(vm, out === '' ? 'aborted' : 'poweroff');
    saveState(s);
  }
  return vm;
}

function networkName(h) {
  const tag = createHash('sha256').update(HOME).digest('hex').slice(0, 8);
  return `vboxsi-${tag}-${h.name}`;
}

function guestNetworkRemove(h) {
  if (process.env.VBOX_STANDIN_GUEST !== 'container') return;
  docker(['network', 'rm', networkName(h)], { check: false });
}

function ensureGuestNetwork(h) {
  const name = networkName(h);
  const have = docker(['network', 'inspect', '--format', '{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}', name], { check: false }).trim();
  const p = maskPrefix(h.netmask);
  const subnet = `${intToIp((ipToInt(h.ip) & ((0xffffffff << (32 - p)) >>> 0)) >>> 0)}/${p}`;
  if (have === `${subnet} ${h.ip}`) return name;
  if (have !== '') docker(['network', 'rm', name], { check: false });
  docker(['network', 'create', '--driver', 'bridge', '--subnet', subnet, '--gateway', h.ip, '--label', 'tsm.testbed=1', '--label', `tsm.vbox-standin=${HOME}`, name]);
  return name;
}

/** Reads a file from the seed ISO (Rock Ridge names) with isoinfo, else xorriso. */
function isoRead(iso, file) {
  try {
    return execFileSync('isoinfo', ['-i', iso, '-R', '-x', `/${file}`], { encoding: 'utf8' });
  } catch {
    const dir = mkdtempSync(join(tmpdir(), 'vbox-standin-iso-'));
    try {
      execFileSync('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', `/${file}`, join(dir, file)], { stdio: 'ignore' });
      return readFileSync(join(dir, file), 'utf8');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** The parts of the seed cloud-init would apply, parsed with Python's yaml (python3-yaml). */
function seedFacts(iso) {
  const userData = isoRead(iso, 'user-data');
  const metaData = isoRead(iso, 'meta-data');
  const json = execFileSync('python3', ['-c', 'import sys,json,yaml; d=yaml.safe_load(sys.stdin.read()); print(json.dumps(d))'], { input: userData, encoding: 'utf8' });
  const ud = JSON.parse(json);
  const md = JSON.parse(execFileSync('python3', ['-c', 'import sys,json,yaml; print(json.dumps(yaml.safe_load(sys.stdin.read())))'], { input: metaData, encoding: 'utf8' }));
  const user = (ud.users ?? []).find((u) => typeof u === 'object') ?? {};
  return {
    hostname: ud.hostname ?? md['local-hostname'] ?? 'localhost',
    user: user.name ?? 'docker',
    sudo: user.sudo,
    keys: user.ssh_authorized_keys ?? [],
    hostPrivate: ud.ssh_keys?.ed25519_private,
    hostPublic: ud.ssh_keys?.ed25519_public,
  };
}

function guestStart(s, vm) {
  const image = process.env.VBOX_STANDIN_GUEST_IMAGE;
  if (!image) fail('Guest backend: VBOX_STANDIN_GUEST_IMAGE is not set');
  const nat = vm.settings.nics[1];
  const ssh = nat?.natpf.map((r) => r.split(',')).find((r) => r[5] === '22' && r[1] === 'tcp');
  const ho = Object.values(vm.settings.nics).find((n) => n.type === 'hostonly');
  if (!ho) fail('Guest backend: the VM has no host-only NIC');
  const h = s.hostonlyifs.find((x) => x.name === ho.hostonlyadapter);
  const d = s.dhcpservers.find((x) => x.networkName === `HostInterfaceNetworking-${h.name}` && x.enabled);
  const ip = d ? d.leases[normMac(ho.mac)] : undefined;
  const publish = ssh ? `${ssh[2] || '127.0.0.1'}:${ssh[3]}:22` : '';
  const want = JSON.stringify({ ip: ip ?? '', mac: normMac(ho.mac), publish, net: networkName(h) });
  const net = ensureGuestNetwork(h);
  if (vm.guest?.container) {
    const exists = docker(['inspect', '--format', '{{.Id}}', vm.guest.container], { check: false }).trim() !== '';
    if (exists && vm.guest.spec === want) {
      docker(['start', vm.guest.container]);
      return;
    }
    // A new DHCP lease only: the same VM (its disk: the container) comes up at the new address.
    const had = JSON.parse(vm.guest.spec ?? '{}');
    if (exists && JSON.stringify({ ...had, ip: ip ?? '' }) === want) {
      docker(['network', 'disconnect', net, vm.guest.container]);
      docker(['network', 'connect', ...(ip ? ['--ip', ip] : []), net, vm.guest.container]);
      vm.guest.spec = want;
      saveState(s);
      docker(['start', vm.guest.container]);
      return;
    }
    if (exists) docker(['rm', '-f', '-v', vm.guest.container], { check: false });
  }
  const dvd = vm.controllers.flatMap((c) => Object.values(c.attachments)).find((a) => a.type === 'dvddrive' && a.medium);
  const seed = dvd && s.media.find((m) => m.uuid === dvd.medium);
  if (!seed) fail('Guest backend: no seed DVD attached (cloud-init would find no data source)');
  const facts = seedFacts(seed.location);
  const name = `tsm-test-vbox-${vm.name.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 30)}-${vm.uuid.slice(0, 6)}`;
  const args = ['create', '--name', name, '--hostname', facts.hostname, '--label', 'tsm.testbed=1', '--label', `tsm.vbox-standin=${HOME}`];
  args.push('--network', net, '--mac-address', colonMac(ho.mac));
  if (ip) args.push('--ip', ip);
  if (publish) args.push('--publish', publish);
  args.push('--cap-add', 'ALL', '--cap-drop', 'SYS_RESOURCE', '--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined', '--security-opt', 'systempaths=unconfined');
  args.push('--tmpfs', '/run:exec,mode=755', '--tmpfs', '/run/lock', '--volume', '/var/lib/docker');
  args.push('--cgroupns', 'host', '--volume', '/sys/fs/cgroup:/sys/fs/cgroup:rw', '--stop-signal', 'SIGRTMIN+3', '--restart', 'unless-stopped');
  args.push(image, '/sbin/init');
  docker(args);
  vm.guest = { container: name, spec: want };
  saveState(s);
  // "cloud-init": a unit that runs before sshd at first boot, from files copied in now.
  const dir = mkdtempSync(join(tmpdir(), 'vbox-standin-guest-'));
  try {
    const files = {
      'etc/tsm-standin/authorized_keys': facts.keys.join('\n') + '\n',
      'etc/tsm-standin/user': `${facts.user}\n`,
      'etc/tsm-standin/sudo': `${facts.sudo ?? ''}\n`,
      'etc/tsm-standin/hostname': `${facts.hostname}\n`,
      'etc/tsm-standin/ssh_host_ed25519_key': facts.hostPrivate ?? '',
      'etc/tsm-standin/ssh_host_ed25519_key.pub': `${facts.hostPublic ?? ''}\n`,
      'usr/local/sbin/tsm-standin-cloudinit': CLOUDINIT_SCRIPT,
      'etc/systemd/system/tsm-standin-cloudinit.service': CLOUDINIT_UNIT,
    };
    for (const [p, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, p)), { recursive: true });
      writeFileSync(join(dir, p), content, { mode: p.includes('sbin') ? 0o755 : 0o600 });
    }
    mkdirSync(join(dir, 'etc/systemd/system/multi-user.target.wants'), { recursive: true });
    execFileSync('ln', ['-s', '/etc/systemd/system/tsm-standin-cloudinit.service', join(dir, 'etc/systemd/system/multi-user.target.wants/tsm-standin-cloudinit.service')]);
    docker(['cp', `${dir}/.`, `${name}:/`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  docker(['start', name]);
}

const CLOUDINIT_UNIT = `[Unit]
Description=VBoxManage stand-in: what cloud-init does with the NoCloud seed
Before=ssh.service ssh.socket
After=local-fs.target
ConditionPathExists=/etc/tsm-standin/user

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/tsm-standin-cloudinit
RemainAfterExit=yes

[Install]
WantedBy=multi-user.target
`;

const CLOUDINIT_SCRIPT = `#!/bin/sh
set -eu
d=/etc/tsm-standin
user=$(cat $d/user)
hostname "$(cat $d/hostname)" || true
cat $d/hostname > /etc/hostname
if ! id -u "$user" >/dev/null 2>&1; then
  useradd -m -N -s /bin/bash "$user"
  passwd -l "$user" >/dev/null
fi
home=$(getent passwd "$user" | cut -d: -f6)
install -d -m 0700 -o "$user" -g "$(id -gn "$user")" "$home/.ssh"
install -m 0600 -o "$user" -g "$(id -gn "$user")" $d/authorized_keys "$home/.ssh/authorized_keys"
if [ -n "$(cat $d/sudo)" ]; then
  printf '%s %s\\n' "$user" "$(cat $d/sudo)" > /etc/sudoers.d/90-cloud-init-users
  chmod 0440 /etc/sudoers.d/90-cloud-init-users
fi
if [ -s $d/ssh_host_ed25519_key ]; then
  rm -f /etc/ssh/ssh_host_*
  install -m 0600 $d/ssh_host_ed25519_key /etc/ssh/ssh_host_ed25519_key
  install -m 0644 $d/ssh_host_ed25519_key.pub /etc/ssh/ssh_host_ed25519_key.pub
  printf 'HostKey /etc/ssh/ssh_host_ed25519_key\\n' > /etc/ssh/sshd_config.d/00-tsm-standin-hostkey.conf
fi
`;

// ------------------------------------------------------------------------------------------ main

function main(argv) {
  if (!HOME) {
    process.stderr.write(`${PROG}: error: VBOX_STANDIN_HOME is not set (the stand-in's state directory)\n`);
    return 1;
  }
  mkdirSync(HOME, { recursive: true });
  appendFileSync(join(HOME, 'calls.log'), JSON.stringify(argv) + '\n');
  let args = argv;
  while (args[0] === '-q' || args[0] === '--nologo') args = args.slice(1);
  if (args.length === 0) {
    process.stdout.write(`Oracle VM VirtualBox Command Line Management Interface Version ${version()}\nUsage: VBoxManage [<general option>] <command>\n`);
    return 2;
  }
  if (args[0] === '--version' || args[0] === '-v' || args[0] === '-V') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const [cmd, ...rest] = args;
  const handler = Object.hasOwn(commands, cmd) ? commands[cmd] : undefined;
  if (!handler) {
    process.stderr.write(`${PROG}: error: Invalid command '${cmd}'\n`);
    return 2;
  }
  try {
    const out = withLock(() => {
      const s = loadState();
      const r = handler(rest, s);
      saveState(s);
      return r;
    });
    process.stdout.write(out ?? '');
    return 0;
  } catch (e) {
    if (e instanceof VBoxExit) {
      process.stdout.write(e.stdout);
      process.stderr.write(e.stderr);
      return e.code;
    }
    process.stderr.write(`${PROG}: error: stand-in internal error: ${e.stack ?? e}\n`);
    return 1;
  }
}

process.exitCode = main(process.argv.slice(2));
