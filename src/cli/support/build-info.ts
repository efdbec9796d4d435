/** The version line of `tsm --version` and `tsm version`; the build (scripts/build.mjs) defines both constants. */
declare const TSM_VERSION: string;
declare const TSM_COMMIT: string;

export function versionLine(): string {
  const v = typeof TSM_VERSION === "string" ? TSM_VERSION : "dev";
  const c = typeof TSM_COMMIT === "string" ? TSM_COMMIT : "unknown";
  return `tsm version ${v}, build ${c}`;
}
