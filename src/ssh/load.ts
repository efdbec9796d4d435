/**
 * The one place ssh2 is loaded. Lazily, because most tsm commands never open an SSH
 * connection and start-up time matters (DESIGN.md: store-only commands stay light);
 * the build keeps ssh2 external, so this import costs nothing until it runs.
 */
export type Ssh2Module = typeof import("ssh2");

let loading: Promise<Ssh2Module> | undefined;

/** ssh2, loaded on first use and cached. Works whether the loader exposes CommonJS exports as named or as `default`. */
export function loadSsh2(): Promise<Ssh2Module> {
  loading ??= import("ssh2").then((m) => ((m as unknown as { default?: Ssh2Module }).default ?? m) as Ssh2Module);
  return loading;
}
