/**
 * Where tsm puts things on a host: the certificates, daemon.json, the systemd drop-in
 * and unit, OpenRC's conf.d file and init script, the sockets and the engine log.
 * Constants only; every module that writes, reads or names one of these files takes
 * the path from here.
 */
export const PATHS = {
  dockerDir: "/etc/docker",
  caCert: "/etc/docker/ca.pem",
  serverCert: "/etc/docker/server.pem",
  serverKey: "/etc/docker/server-key.pem",
  daemonJson: "/etc/docker/daemon.json",
  dropInDir: "/etc/systemd/system/docker.service.d",
  dropIn: "/etc/systemd/system/docker.service.d/10-tsm.conf",
  /** Written only when the host has no docker.service (static binary install). */
  systemdUnit: "/etc/systemd/system/docker.service",
  openrcConf: "/etc/conf.d/docker",
  /** Written only when the host has no /etc/init.d/docker (static binary install). */
  openrcInit: "/etc/init.d/docker",
  unixSocket: "unix:///var/run/docker.sock",
  containerdSocket: "/run/containerd/containerd.sock",
  engineLog: "/var/log/docker.log",
} as const;
