/**
 * Go's `fmt` `%v` rendering of values decoded from JSON into `interface{}`
 * (string, float64, bool, nil, []interface{}, map[string]interface{}), which is
 * what Docker Machine's `inspect -f` templates print.
 */

/**
 * Orders strings the way Go's `<` does: by UTF-8 bytes, which is the same as by
 * Unicode code point. JavaScript's `<` compares UTF-16 units, which disagrees
 * for astral characters versus U+E000..U+FFFF.
 * @returns negative, zero or positive, for use with `Array.prototype.sort`.
 */
export function compareGoStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    // A surrogate here starts an astral code point, which sorts after every BMP one.
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/**
 * Formats a float64 like Go's `%v` (strconv 'g', shortest digits): plain
 * decimal when the decimal exponent is in [-4, 6), else `d.ddde±XX` with at
 * least two exponent digits. So 999999 → "999999" but 1000000 → "1e+06"
 * (the same surprise Helm users hit), 0.00001 → "1e-05"; NaN → "NaN",
 * ±Infinity → "+Inf"/"-Inf", -0 → "-0".
 */
export function formatGoFloat(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  if (n === 0) return Object.is(n, -0) ? "-0" : "0";
  // toExponential() without an argument yields the shortest round-trip digits, as Go does.
  const e = n.toExponential();
  const at = e.indexOf("e");
  const exp = Number(e.slice(at + 1));
  if (exp < -4 || exp >= 6) {
    const abs = Math.abs(exp);
    return `${e.slice(0, at)}e${exp < 0 ? "-" : "+"}${abs < 10 ? "0" : ""}${abs}`;
  }
  // In this exponent range JavaScript never uses exponent notation, so its shortest form is Go's.
  return String(n);
}

/**
 * Formats a JSON-like value the way Go's fmt %v prints the value decoded from
 * JSON into interface{}: strings as is, numbers per {@link formatGoFloat},
 * `true`/`false`, null (and undefined) as `<nil>`, arrays as `[a b c]`, objects
 * as `map[k1:v1 k2:v2]` with keys sorted by {@link compareGoStrings}; nested
 * values recursively. A bigint prints its digits (Go's integer %v).
 */
export function formatGoValue(v: unknown): string {
  switch (typeof v) {
    case "string":
      return v;
    case "number":
      return formatGoFloat(v);
    case "boolean":
      return v ? "true" : "false";
    case "bigint":
      return v.toString();
    case "undefined":
      return "<nil>";
    case "object": {
      if (v === null) return "<nil>";
      if (Array.isArray(v)) return `[${v.map(formatGoValue).join(" ")}]`;
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o).sort(compareGoStrings);
      return `map[${keys.map((k) => `${k}:${formatGoValue(o[k])}`).join(" ")}]`;
    }
    default:
      return String(v);
  }
}
