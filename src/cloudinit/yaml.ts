/**
 * A tiny YAML emitter for the documents tsm hands to cloud-init (user-data, meta-data,
 * network-config). Only what those need: block mappings and sequences of strings, finite
 * numbers, booleans and null.
 *
 * Safety rule: every string is emitted as a double-quoted scalar in which everything outside
 * printable ASCII, and `"` and `\`, is escaped. A value therefore can never end its scalar,
 * start a new line, or become a key, a tag, an anchor, a comment or a different type
 * ("yes", "0x10", "~" stay strings), whatever it contains. The output is pure ASCII and
 * means the same to YAML 1.1 readers (PyYAML, which cloud-init uses) and YAML 1.2 readers.
 * Mapping keys are emitted plain only when they are simple identifiers, quoted otherwise.
 */

export type YamlValue = string | number | boolean | null | readonly YamlValue[] | { readonly [key: string]: YamlValue | undefined };

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;
/** Plain keys a YAML 1.1 reader would turn into something other than a string. */
const RESERVED_KEYS = /^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL)$/;

/** `s` as a YAML double-quoted scalar, pure ASCII. Throws on unpaired UTF-16 surrogates. */
export function yamlQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0xd800 && cp <= 0xdfff) throw new TypeError(`string is not valid Unicode (unpaired surrogate): ${JSON.stringify(s)}`);
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (cp >= 0x20 && cp < 0x7f) out += ch;
    else if (cp <= 0xff) out += `\\x${cp.toString(16).padStart(2, "0")}`;
    else if (cp <= 0xffff) out += `\\u${cp.toString(16).padStart(4, "0")}`;
    else out += `\\U${cp.toString(16).padStart(8, "0")}`;
  }
  return `${out}"`;
}

function yamlKey(k: string): string {
  return PLAIN_KEY.test(k) && !RESERVED_KEYS.test(k) ? k : yamlQuote(k);
}

/** The inline form of a scalar or an empty collection; undefined for a non-empty collection. */
function inline(v: YamlValue): string | undefined {
  if (v === null) return "null";
  switch (typeof v) {
    case "string":
      return yamlQuote(v);
    case "boolean":
      return v ? "true" : "false";
    case "number":
      if (!Number.isFinite(v)) throw new TypeError(`cannot emit ${v} as YAML`);
      return String(v);
  }
  if (Array.isArray(v)) return v.length === 0 ? "[]" : undefined;
  if (typeof v === "object") return entries(v as Record<string, YamlValue | undefined>).length === 0 ? "{}" : undefined;
  throw new TypeError(`cannot emit a ${typeof v} as YAML`);
}

function entries(o: Record<string, YamlValue | undefined>): Array<[string, YamlValue]> {
  return Object.entries(o).filter((e): e is [string, YamlValue] => e[1] !== undefined);
}

/** Lines (each ending in \n) of a non-empty collection at `indent`. */
function block(v: YamlValue, indent: string): string {
  let out = "";
  if (Array.isArray(v)) {
    for (const item of v as readonly YamlValue[]) {
      const s = inline(item);
      if (s !== undefined) out += `${indent}- ${s}\n`;
      else if (Array.isArray(item)) out += `${indent}-\n${block(item, `${indent}  `)}`;
      // A mapping item starts on the dash line: "- key: value", the rest aligned under it.
      else out += `${indent}- ${block(item, `${indent}  `).slice(indent.length + 2)}`;
    }
    return out;
  }
  for (const [k, val] of entries(v as Record<string, YamlValue | undefined>)) {
    const s = inline(val);
    out += s !== undefined ? `${indent}${yamlKey(k)}: ${s}\n` : `${indent}${yamlKey(k)}:\n${block(val, `${indent}  `)}`;
  }
  return out;
}

/** A YAML document (no `---`) for a mapping; keys whose value is undefined are left out. */
export function toYaml(doc: { readonly [key: string]: YamlValue | undefined }): string {
  return inline(doc) === "{}" ? "{}\n" : block(doc, "");
}
