/**
 * A documented subset of Go's text/template (docs/templates.md), enough for
 * Docker Machine's `ls --format` and `inspect -f`. Anything outside the subset
 * is rejected at parse time, and a missing field is a runtime error: the
 * failure mode we refuse is silent empty output in a script.
 */
import { compareGoStrings, formatGoValue } from "./go-format.js";

/** Any parse or execution failure. The message is one line and starts with "template: ". */
export class TemplateError extends Error {
  override name = "TemplateError";
}

/** A parsed template; render it as many times as needed. */
export interface Template {
  /**
   * Executes the template against `data` (JSON-like: plain objects, arrays,
   * strings, numbers, booleans, null).
   * @throws TemplateError on a missing field, a field of a non-object, or a
   *   function argument of the wrong type.
   */
  render(data: unknown): string;
}

const HINT =
  "tsm supports fields, json, prettyjson, upper, lower, join, len, index (see docs/templates.md)";

const KEYWORDS = new Set([
  "if", "else", "end", "range", "with", "define", "template", "block", "break", "continue",
]);
const CONSTANTS = new Set(["true", "false", "nil"]);
const GO_BUILTINS = new Set([
  "and", "or", "not", "call", "html", "js", "urlquery", "print", "printf", "println",
  "slice", "eq", "ne", "lt", "le", "gt", "ge",
]);

/** Go's int, as opposed to JSON's float64: `len` results and integer literals print without exponent. */
class Int {
  constructor(readonly n: number) {}
}

type Operand =
  | { kind: "field"; path: string[]; text: string }
  | { kind: "string"; value: string; text: string }
  | { kind: "int"; value: number; text: string };

type FuncName = "json" | "prettyjson" | "upper" | "lower" | "join" | "len" | "index";

type Command = { fn: FuncName; args: Operand[] } | { fn: null; operand: Operand };

interface Action {
  pipeline: Command[];
  /** The action as written, made printable, for runtime error messages. */
  where: string;
}

type Token = Operand | { kind: "ident"; name: string; text: string } | { kind: "pipe"; text: string };

type Fn = (args: unknown[], where: string) => unknown;

const FUNCS: Record<FuncName, { arity: number; variadic?: boolean; fn: Fn }> = {
  json: { arity: 1, fn: ([v], w) => toJSON(v, "", "", w) },
  prettyjson: { arity: 1, fn: ([v], w) => toJSON(v, "    ", "", w) },
  upper: { arity: 1, fn: ([v], w) => goCase(wantString("upper", v, w), true) },
  lower: { arity: 1, fn: ([v], w) => goCase(wantString("lower", v, w), false) },
  join: {
    arity: 2,
    fn: ([list, sep], w) => {
      if (typeof list === "string" && Array.isArray(sep)) {
        // `.L | join ","` calls join("," , .L): Go appends the piped value last.
        fail(`join: arguments reversed (the piped value is the last argument; write {{join .List ","}}) in ${w}`);
      }
      return join(list, wantString("join", sep, w), w);
    },
  },
  len: { arity: 1, fn: ([v], w) => new Int(goLen(v, w)) },
  index: { arity: 1, variadic: true, fn: (args, w) => index(args, w) },
};

function fail(message: string): never {
  throw new TemplateError(`template: ${message}`);
}

function isSpace(c: string | undefined): boolean {
  return c === " " || c === "\t" || c === "\r" || c === "\n";
}

function isIdentChar(c: string | undefined, first: boolean): boolean {
  if (c === undefined) return false;
  const code = c.charCodeAt(0);
  if (code < 0x80) {
    return (
      c === "_" ||
      (code >= 0x61 && code <= 0x7a) ||
      (code >= 0x41 && code <= 0x5a) ||
      (!first && code >= 0x30 && code <= 0x39)
    );
  }
  return first ? /^\p{L}/u.test(c) : /^[\p{L}\p{Nd}]/u.test(c);
}

/** Reads a Go identifier (letters, digits, underscore; Unicode letters allowed) starting at `p`. */
function readIdent(src: string, p: number): number {
  let q = p;
  while (q < src.length) {
    const cp = src.codePointAt(q)!;
    const ch = String.fromCodePoint(cp);
    if (!isIdentChar(ch, q === p)) break;
    q += ch.length;
  }
  return q;
}

/** Keeps the quoted action to one readable line. */
function show(text: string): string {
  let cut = 77;
  if (/[\ud800-\udbff]/.test(text[cut - 1] ?? "")) cut--; // don't split a surrogate pair
  const clipped = text.length > 80 ? `${text.slice(0, cut)}...` : text;
  return clipped.replace(/[\u0000-\u001f\u007f]/g, (c) =>
    c === "\n" ? "\\n" : c === "\t" ? "\\t" : c === "\r" ? "\\r" : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (v instanceof Int || typeof v === "number") return "a number";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  if (typeof v === "string") return "a string";
  if (typeof v === "boolean") return "a boolean";
  return typeof v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Int);
}

function wantString(fn: string, v: unknown, where: string): string {
  if (typeof v !== "string") fail(`${fn}: expected a string, got ${describe(v)} in ${where}`);
  return v;
}

/**
 * Go's strings.ToUpper/ToLower map each code point on its own (no "ß" → "SS",
 * no final-sigma context), which is what per-character JS case mapping gives
 * when we keep characters whose mapping is not a single code point.
 */
function goCase(s: string, upper: boolean): string {
  if (/^[\u0000-\u007f]*$/.test(s)) return upper ? s.toUpperCase() : s.toLowerCase();
  let out = "";
  for (const ch of s) {
    const m = upper ? ch.toUpperCase() : ch.toLowerCase();
    if (m.length === ch.length) out += m;
    else if (!upper && ch === "\u0130") out += "i"; // Go's simple lowercase of İ
    else out += ch;
  }
  return out;
}

function join(list: unknown, sep: string, where: string): string {
  // Go passes a nil slice for JSON null, and strings.Join(nil, sep) is "".
  if (list === null || list === undefined) return "";
  if (!Array.isArray(list)) fail(`join: expected an array, got ${describe(list)} in ${where}`);
  return list.map((x) => (typeof x === "string" ? x : formatGoValue(x))).join(sep);
}

/** Go's len: UTF-8 bytes of a string, elements of an array, keys of an object. */
function goLen(v: unknown, where: string): number {
  if (Array.isArray(v)) return v.length;
  if (isObject(v)) return Object.keys(v).length;
  if (typeof v !== "string") return fail(`len: can't take the length of ${describe(v)} in ${where}`);
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < v.length) {
      const d = v.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

function index(args: unknown[], where: string): unknown {
  let cur = args[0];
  for (const key of args.slice(1)) {
    if (Array.isArray(cur)) {
      if (!(key instanceof Int)) fail(`index: an array needs an integer index, got ${describe(key)} in ${where}`);
      if (key.n >= cur.length) fail(`index: index out of range: ${key.n} in ${where}`);
      cur = cur[key.n];
    } else if (isObject(cur)) {
      if (typeof key !== "string") fail(`index: an object needs a string key, got ${describe(key)} in ${where}`);
      if (!Object.hasOwn(cur, key)) fail(`index: no key ${JSON.stringify(key)} in ${where}`);
      cur = cur[key];
    } else {
      fail(`index: can't index ${describe(cur)} in ${where}`);
    }
  }
  return cur;
}

/**
 * json.Marshal / json.MarshalIndent(v, "", indent) of a value decoded into
 * interface{}: map keys come out sorted (Go sorts map keys), no HTML escaping.
 */
function toJSON(v: unknown, indent: string, prefix: string, where: string): string {
  if (v instanceof Int) return String(v.n);
  if (v === null || v === undefined) return "null";
  switch (typeof v) {
    case "string":
      return JSON.stringify(v);
    case "number":
      if (!Number.isFinite(v)) fail(`json: unsupported value: ${formatGoValue(v)} in ${where}`);
      return Object.is(v, -0) ? "-0" : JSON.stringify(v);
    case "boolean":
      return v ? "true" : "false";
    case "bigint":
      return v.toString();
    case "object":
      break;
    default:
      return "null";
  }
  const inner = prefix + indent;
  const open = indent ? `\n${inner}` : "";
  const sep = indent ? `,\n${inner}` : ",";
  const close = indent ? `\n${prefix}` : "";
  if (Array.isArray(v)) {
    if (v.length === 0) return "[]";
    return `[${open}${v.map((x) => toJSON(x, indent, inner, where)).join(sep)}${close}]`;
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort(compareGoStrings);
  if (keys.length === 0) return "{}";
  const colon = indent ? ": " : ":";
  const body = keys.map((k) => JSON.stringify(k) + colon + toJSON(o[k], indent, inner, where));
  return `{${open}${body.join(sep)}${close}}`;
}

function fieldValue(data: unknown, path: string[]): unknown {
  let cur = data;
  for (let i = 0; i < path.length; i++) {
    const key = path[i]!;
    const at = (): string => `.${path.slice(0, i).join(".")}`;
    if (!isObject(cur)) fail(`can't evaluate field ${JSON.stringify(key)} in ${at()}: it is ${describe(cur)}, not an object`);
    if (!Object.hasOwn(cur, key)) fail(`no field ${JSON.stringify(key)} in ${at()}`);
    cur = cur[key];
  }
  return cur;
}

function operandValue(op: Operand, data: unknown): unknown {
  if (op.kind === "field") return fieldValue(data, op.path);
  if (op.kind === "int") return new Int(op.value);
  return op.value;
}

function execute(action: Action, data: unknown): string {
  const { where } = action;
  let value: unknown;
  action.pipeline.forEach((cmd, i) => {
    if (cmd.fn === null) {
      value = operandValue(cmd.operand, data);
      return;
    }
    const args = cmd.args.map((a) => operandValue(a, data));
    // Go appends the piped value as the last argument.
    if (i > 0) args.push(value);
    value = FUNCS[cmd.fn].fn(args, where);
  });
  // Go would print "<no value>" for a JSON null; tsm prints nothing (documented).
  if (value === null || value === undefined) return "";
  if (value instanceof Int) return String(value.n);
  return formatGoValue(value);
}

// ---- lexing and parsing -------------------------------------------------------------

const ESCAPES: Record<string, string> = {
  '"': '"', "\\": "\\", n: "\n", t: "\t", r: "\r", a: "\x07", b: "\b", f: "\f", v: "\v",
};

/** Lexes one action body starting after "{{" (and its trim marker); returns its tokens and end. */
function lexAction(
  src: string,
  start: number,
  bad: (msg: string) => never,
): { tokens: Token[]; end: number; trimRight: boolean } {
  const tokens: Token[] = [];
  let p = start;
  // Rejects "a.b" style gluing that Go either misparses or rejects.
  const checkGlued = (after: string): void => {
    const c = src[p];
    if (c !== undefined && (isIdentChar(c, false) || '."`$\''.includes(c))) {
      bad(`unexpected ${JSON.stringify(c)} after ${after}`);
    }
  };
  for (;;) {
    if (p >= src.length || (src[p] === "}" && p + 1 === src.length)) bad('unclosed action (missing "}}")');
    const c = src[p]!;
    if (c === "}" && src[p + 1] === "}") return { tokens, end: p + 2, trimRight: false };
    if (isSpace(c) && src[p + 1] === "-" && src.startsWith("}}", p + 2)) {
      return { tokens, end: p + 4, trimRight: true };
    }
    if (isSpace(c)) {
      p++;
    } else if (c === "|") {
      tokens.push({ kind: "pipe", text: "|" });
      p++;
    } else if (c === '"') {
      const from = p++;
      let value = "";
      for (;;) {
        const d = src[p];
        if (d === undefined || d === "\n") bad("unterminated quoted string");
        if (d === '"') break;
        if (d !== "\\") {
          value += d;
          p++;
          continue;
        }
        const e = src[p + 1];
        if (e !== undefined && Object.hasOwn(ESCAPES, e)) {
          value += ESCAPES[e]!;
          p += 2;
        } else if (e === "u" || e === "U") {
          const len = e === "u" ? 4 : 8;
          const hex = src.slice(p + 2, p + 2 + len);
          const cp = /^[0-9a-fA-F]+$/.test(hex) && hex.length === len ? parseInt(hex, 16) : -1;
          if (cp < 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) bad(`invalid escape \\${e}${hex} in string`);
          value += String.fromCodePoint(cp);
          p += 2 + len;
        } else {
          bad(`unsupported escape \\${e ?? ""} in string (use \\" \\\\ \\n \\t \\r or \\uXXXX)`);
        }
      }
      p++;
      tokens.push({ kind: "string", value, text: src.slice(from, p) });
      checkGlued(src.slice(from, p));
    } else if (c === "`") {
      const close = src.indexOf("`", p + 1);
      if (close < 0) bad("unterminated raw quoted string");
      const text = src.slice(p, close + 1);
      // Go drops carriage returns from raw strings.
      tokens.push({ kind: "string", value: text.slice(1, -1).replaceAll("\r", ""), text });
      p = close + 1;
      checkGlued(text);
    } else if (c === ".") {
      const from = p;
      const path: string[] = [];
      while (src[p] === "." && isIdentChar(String.fromCodePoint(src.codePointAt(p + 1) ?? 0x20), true)) {
        const q = readIdent(src, p + 1);
        path.push(src.slice(p + 1, q));
        p = q;
      }
      if (path.length === 0) {
        p++;
        if (src[p] !== undefined && src[p]! >= "0" && src[p]! <= "9") bad(`unsupported number ".${src[p]}..."`);
      }
      const text = src.slice(from, p);
      tokens.push({ kind: "field", path, text });
      checkGlued(text);
    } else if ((c >= "0" && c <= "9") || ((c === "-" || c === "+") && /[0-9.]/.test(src[p + 1] ?? ""))) {
      const from = p++;
      while (p < src.length && (/[0-9A-Za-z_.]/.test(src[p]!) || (/[+-]/.test(src[p]!) && /[eEpP]/.test(src[p - 1]!)))) p++;
      const text = src.slice(from, p);
      if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(Number(text))) {
        bad(`unsupported number ${text} (only non-negative integers, as index arguments)`);
      }
      tokens.push({ kind: "int", value: Number(text), text });
      checkGlued(text);
    } else if (isIdentChar(c, true) || (c >= "\ud800" && c <= "\udbff")) {
      const q = readIdent(src, p);
      if (q === p) bad(`unexpected ${JSON.stringify(c)}`);
      const name = src.slice(p, q);
      p = q;
      tokens.push({ kind: "ident", name, text: name });
      checkGlued(name);
    } else if (c === "$") {
      const q = readIdent(src, p + 1);
      bad(`unsupported variable "${src.slice(p, q)}"`);
    } else if (c === "(" || c === ")") {
      bad("unsupported parenthesized expression");
    } else if (c === ":" || c === "=") {
      bad("unsupported assignment");
    } else if (c === "'") {
      bad("unsupported character constant");
    } else if (c === ",") {
      bad('unsupported ","');
    } else if (c === "/" && src[p + 1] === "*") {
      bad('a comment must fill its action: {{/* ... */}}');
    } else {
      bad(`unexpected ${JSON.stringify(c)}`);
    }
  }
}

function parseAction(tokens: Token[], bad: (msg: string) => never): Command[] {
  for (const t of tokens) {
    if (t.kind !== "ident") continue;
    if (KEYWORDS.has(t.name)) bad(`unsupported action ${JSON.stringify(t.name)}`);
    if (CONSTANTS.has(t.name)) bad(`unsupported constant ${JSON.stringify(t.name)}`);
    if (GO_BUILTINS.has(t.name)) bad(`unsupported function ${JSON.stringify(t.name)}`);
    if (!Object.hasOwn(FUNCS, t.name)) bad(`function ${JSON.stringify(t.name)} not defined`);
  }
  if (tokens.length === 0) bad("empty action");
  const groups: Token[][] = [[]];
  for (const t of tokens) {
    if (t.kind === "pipe") groups.push([]);
    else groups[groups.length - 1]!.push(t);
  }
  return groups.map((group, i) => {
    const [head, ...rest] = group;
    if (head === undefined) bad("missing command in pipeline");
    const args = rest.map((t) => {
      if (t.kind === "ident") bad(`function ${JSON.stringify(t.name)} can't be an argument (no parentheses in tsm templates)`);
      return t as Operand;
    });
    if (head.kind === "ident") {
      const name = head.name as FuncName;
      const spec = FUNCS[name];
      const got = args.length + (i > 0 ? 1 : 0);
      if (spec.variadic ? got < spec.arity : got !== spec.arity) {
        bad(`wrong number of arguments for ${name}: want ${spec.variadic ? "at least " : ""}${spec.arity}, got ${got}`);
      }
      return { fn: name, args };
    }
    const operand = head as Operand;
    if (args.length > 0 || i > 0) bad(`${operand.text} is not a function and takes no arguments`);
    return { fn: null, operand };
  });
}

// Loops rather than /\s+$/-style regexes, which go quadratic on long inner runs of spaces.
function trimSpaceRight(s: string): string {
  let e = s.length;
  while (e > 0 && isSpace(s[e - 1])) e--;
  return s.slice(0, e);
}

function trimSpaceLeft(s: string): string {
  let b = 0;
  while (b < s.length && isSpace(s[b])) b++;
  return s.slice(b);
}

/**
 * Parses once; throws TemplateError on anything outside the subset, naming the
 * offending action and listing what is supported.
 *
 * Supported: literal text; `{{ }}` actions with Go's `{{- ` / ` -}}` trim
 * markers; comments `{{/* ... *\/}}`; field chains (`.`, `.A.B`, exact
 * case-sensitive keys); string literals ("..." with \" \\ \n \t \r \a \b \f \v
 * \uXXXX \UXXXXXXXX escapes, or `raw`); non-negative integer literals; the
 * functions json, prettyjson, upper, lower, join, len and index, called as
 * `f arg...` or through pipes (`x | f a`, the piped value is the last argument).
 * @throws TemplateError (message "template: <problem> in {{...}}: tsm supports ...").
 */
export function parseTemplate(source: string): Template {
  const parts: (string | Action)[] = [];
  let pos = 0;
  let trimNext = false;
  for (;;) {
    const open = source.indexOf("{{", pos);
    let text = source.slice(pos, open < 0 ? source.length : open);
    if (trimNext) text = trimSpaceLeft(text);
    if (open < 0) {
      if (text) parts.push(text);
      break;
    }
    let p = open + 2;
    const trimLeft = source[p] === "-" && isSpace(source[p + 1]);
    if (trimLeft) {
      text = trimSpaceRight(text);
      p += 2;
    }
    if (text) parts.push(text);

    const bad = (msg: string, end?: number): never => {
      const close = source.indexOf("}}", open + 2);
      const stop = end ?? (close < 0 ? source.length : close + 2);
      fail(`${msg} in ${show(source.slice(open, stop))}: ${HINT}`);
    };

    if (source.startsWith("/*", p)) {
      const endComment = source.indexOf("*/", p + 2);
      if (endComment < 0) bad("unclosed comment", source.length);
      const q = endComment + 2;
      if (source.startsWith("}}", q)) {
        pos = q + 2;
        trimNext = false;
      } else if (isSpace(source[q]) && source.startsWith("-}}", q + 1)) {
        pos = q + 4;
        trimNext = true;
      } else {
        bad('comment ends before closing delimiter "}}"');
      }
      continue;
    }

    const lexed = lexAction(source, p, (msg) => bad(msg));
    const pipeline = parseAction(lexed.tokens, (msg) => bad(msg, lexed.end));
    parts.push({ pipeline, where: show(source.slice(open, lexed.end)) });
    pos = lexed.end;
    trimNext = lexed.trimRight;
  }

  return {
    render(data: unknown): string {
      let out = "";
      for (const part of parts) out += typeof part === "string" ? part : execute(part, data);
      return out;
    },
  };
}

/** Docker Machine ls: replaces the two-character sequences \t and \n with TAB and newline. */
export function unescapeFormat(source: string): string {
  return source.replace(/\\[tn]/g, (s) => (s === "\\t" ? "\t" : "\n"));
}

/**
 * Splits a "table ..." format: returns { table: true, body } when it starts
 * with "table", else { table: false, body }. Like Docker Machine's parseFormat,
 * the body then has ASCII spaces (only spaces) trimmed from both ends, in both
 * cases; the caller still applies {@link unescapeFormat} and appends "\n".
 */
export function splitTableFormat(source: string): { table: boolean; body: string } {
  const table = source.startsWith("table");
  let body = table ? source.slice("table".length) : source;
  let b = 0;
  let e = body.length;
  while (b < e && body[b] === " ") b++;
  while (e > b && body[e - 1] === " ") e--;
  body = body.slice(b, e);
  return { table, body };
}
