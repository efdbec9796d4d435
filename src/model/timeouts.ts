/**
 * Timeouts users can raise through environment variables, given in seconds. One reading
 * for all of them: a positive number of seconds, or the default when the variable is
 * unset or not a positive number.
 */
export type Env = Readonly<Record<string, string | undefined>>;

/** `env[name]` seconds as milliseconds, or `fallbackSeconds` when it is not a positive number. */
export function envSecondsMs(env: Env, name: string, fallbackSeconds: number): number {
  const s = Number(env[name]);
  return (Number.isFinite(s) && s > 0 ? s : fallbackSeconds) * 1000;
}

/** TSM_SSH_TIMEOUT (seconds) bounds connecting, retries included; default 60 s. */
export function sshDeadlineMs(env: Env): number {
  return envSecondsMs(env, "TSM_SSH_TIMEOUT", 60);
}

/** TSM_ENGINE_TIMEOUT (seconds) bounds the wait for the engine to answer over TLS; default 120 s (emulated VMs may need more). */
export function engineDeadlineMs(env: Env): number {
  return envSecondsMs(env, "TSM_ENGINE_TIMEOUT", 120);
}
