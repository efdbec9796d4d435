/**
 * A stand-in for qemu-system-x86_64 that fails the way QEMU 7.2 fails on a nested AMD EPYC
 * host with a usable /dev/kvm (measured there, see drivers/qemu/accel.ts), and otherwise
 * "starts" a VM as `-daemonize` does: a detached process whose command line carries every
 * argument (so the driver's pid check finds the disk path in it), a pid file, and a QMP
 * socket that answers qmp_capabilities, query-status, system_powerdown and quit. No guest
 * runs: SSH never answers.
 *
 * TSM_TEST_QEMU_STANDIN chooses the host it plays:
 *   msr (default)  accel=kvm with any CPU model but host,arch-capabilities=off: the MSR abort
 *   msr-always     accel=kvm with any CPU model: the MSR abort
 *   no-kvm         accel=kvm: "Could not access KVM kernel module"
 *   die            accel=kvm: exits 0 but the VM is gone at once (a death after detaching)
 *   ok             everything starts
 * Under TCG (and for a CPU model the mode accepts) it starts. Every invocation appends
 * "<accel> <cpu>" to qemu-standin.log in the working directory (the machine directory).
 */
import { spawn } from "node:child_process";
import { appendFileSync, existsSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";

const argv = process.argv.slice(2);
const serve = argv[0] === "--serve";
const args = serve ? argv.slice(1) : argv;
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
/** QEMU option values: ",," is a literal comma. */
const firstField = (v) => v.replace(/,,/g, "\0").split(",")[0].replace(/\0/g, ",");
const accel = /accel=([a-z]+)/.exec(opt("-machine") ?? "")?.[1] ?? "tcg";
const cpu = opt("-cpu") ?? "";
const pidFile = opt("-pidfile");
const qmp = firstField((opt("-qmp") ?? "").replace(/^unix:/, ""));
const mode = process.env.TSM_TEST_QEMU_STANDIN || "msr";
const me = "qemu-system-x86_64";

if (serve) {
  // The "VM": serve QMP until quit/system_powerdown.
  const server = net.createServer((socket) => {
    socket.write(`${JSON.stringify({ QMP: { version: { qemu: { major: 7, minor: 2, micro: 0 }, package: "stand-in" }, capabilities: [] } })}\n`);
    let buf = "";
    socket.on("data", (chunk) => {
      buf += chunk.toString();
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        const { execute } = JSON.parse(line);
        if (execute === "query-status") socket.write(`${JSON.stringify({ return: { status: "running", running: true, singlestep: false } })}\n`);
        else socket.write(`${JSON.stringify({ return: {} })}\n`);
        if (execute === "quit" || execute === "system_powerdown") {
          socket.end();
          setTimeout(() => process.exit(0), 50);
        }
      }
    });
    socket.on("error", () => undefined);
  });
  server.listen(qmp);
  process.on("exit", () => rmSync(qmp, { force: true }));
} else {
  appendFileSync("qemu-standin.log", `${accel} ${cpu}\n`);
  const msr = () => {
    // The child wrote the pid file, then aborted: the file names a dead process.
    if (pidFile) writeFileSync(pidFile, `${process.pid}\n`);
    process.stderr.write(`${me}: error: failed to set MSR 0x10a to 0x69\n`);
    process.stderr.write(`${me}: ../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: Assertion \`ret == cpu->kvm_msr_buf->nmsrs' failed.\n`);
    process.exit(1);
  };
  if (accel === "kvm") {
    if (mode === "no-kvm") {
      process.stderr.write(`Could not access KVM kernel module: No such file or directory\n${me}: -accel kvm: failed to initialize kvm: No such file or directory\n`);
      process.exit(1);
    }
    if (mode === "msr-always") msr();
    if (mode === "msr" && cpu !== "host,arch-capabilities=off") msr();
    if (mode === "die") {
      if (pidFile) writeFileSync(pidFile, `${process.pid}\n`);
      process.exit(0);
    }
  }
  if (existsSync(qmp)) rmSync(qmp, { force: true });
  const child = spawn(process.execPath, [process.argv[1], "--serve", ...args], { detached: true, stdio: "ignore" });
  child.unref();
  if (pidFile) writeFileSync(pidFile, `${child.pid}\n`);
  // -daemonize: the parent exits once the VM is set up (here: QMP listens).
  const deadline = Date.now() + 5000;
  const wait = () => {
    if (!qmp || existsSync(qmp)) process.exit(0);
    if (Date.now() > deadline) {
      process.stderr.write(`${me}: stand-in: the QMP socket did not appear\n`);
      process.exit(1);
    }
    setTimeout(wait, 20);
  };
  wait();
}
