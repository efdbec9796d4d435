/**
 * `ls --filter key=value` (Docker Machine's semantics, minus its panics):
 * the same key given twice is ORed, different keys are ANDed; keys are
 * case-insensitive. `label=key` (without a value) matches machines that have
 * the label at all.
 */
import { UsageError } from "../model/errors.js";
import type { MachineRecord } from "../model/machine.js";

export const FILTER_KEYS = ["driver", "state", "name", "label", "swarm"] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];

export interface LsFilters {
  driver: string[];
  state: string[];
  name: RegExp[];
  label: string[];
  swarm: string[];
}

export function parseFilters(values: readonly string[]): LsFilters {
  const filters: LsFilters = { driver: [], state: [], name: [], label: [], swarm: [] };
  for (const raw of values) {
    const eq = raw.indexOf("=");
    if (eq <= 0) throw new UsageError(`Unsupported filter syntax ${JSON.stringify(raw)}: use KEY=VALUE with KEY one of ${FILTER_KEYS.join(", ")}`);
    const key = raw.slice(0, eq).toLowerCase();
    const value = raw.slice(eq + 1);
    switch (key) {
      case "name":
        try {
          filters.name.push(new RegExp(value));
        } catch (err) {
          throw new UsageError(`Invalid --filter name=${value}: not a regular expression (${(err as Error).message})`);
        }
        break;
      case "driver":
      case "state":
      case "label":
      case "swarm":
        filters[key].push(value);
        break;
      default:
        throw new UsageError(`Unsupported filter key ${JSON.stringify(raw.slice(0, eq))}: use ${FILTER_KEYS.join(", ")}`);
    }
  }
  return filters;
}

const eqFold = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export function hasStateFilter(f: LsFilters): boolean {
  return f.state.length > 0;
}

export function hasAnyFilter(f: LsFilters): boolean {
  return FILTER_KEYS.some((k) => f[k].length > 0);
}

function labelMatches(labels: readonly string[], wanted: string): boolean {
  const eq = wanted.indexOf("=");
  const wantKey = eq < 0 ? wanted : wanted.slice(0, eq);
  return labels.some((l) => {
    const i = l.indexOf("=");
    const key = i < 0 ? l : l.slice(0, i);
    if (key !== wantKey) return false;
    return eq < 0 || eqFold(i < 0 ? "" : l.slice(i + 1), wanted.slice(eq + 1));
  });
}

/**
 * Filters that need only the name and the record. A machine whose record could
 * not be read (`record` undefined) matches only name filters and `state=error`.
 */
export function matchesStatic(f: LsFilters, name: string, record: MachineRecord | undefined): boolean {
  if (f.name.length > 0 && !f.name.some((re) => re.test(name))) return false;
  if (!record) return f.driver.length === 0 && f.label.length === 0 && f.swarm.length === 0;
  if (f.driver.length > 0 && !f.driver.some((d) => eqFold(d, record.driver.name))) return false;
  if (f.label.length > 0 && !f.label.some((l) => labelMatches(record.engine.labels, l))) return false;
  if (f.swarm.length > 0 && !f.swarm.some((s) => record.swarm !== undefined && eqFold(s, record.swarm.master))) return false;
  return true;
}

export function matchesState(f: LsFilters, state: string): boolean {
  return f.state.length === 0 || f.state.some((s) => eqFold(s, state));
}
