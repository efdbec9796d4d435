/**
 * The fields every Docker Machine driver showed under `Driver` in `inspect` (libmachine's
 * BaseDriver), in Docker Machine's order, so templates written for it keep working.
 * Drivers add their own fields after these.
 */
export interface BaseDriverFields {
  ipAddress: string;
  machineName: string;
  sshUser: string;
  sshPort: number;
  sshKeyPath: string;
  storePath: string;
}

export function baseDriverView(base: BaseDriverFields, own: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    IPAddress: base.ipAddress,
    MachineName: base.machineName,
    SSHUser: base.sshUser,
    SSHPort: base.sshPort,
    SSHKeyPath: base.sshKeyPath,
    StorePath: base.storePath,
    SwarmMaster: false,
    SwarmHost: "",
    SwarmDiscovery: "",
    ...own,
  };
}
