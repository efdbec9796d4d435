/**
 * Host addresses, once for every floor: what a host that enters tsm may be (a DNS name or
 * an IP literal), and telling an IP literal from a name. Pure string rules, so hot paths
 * (`env`, `config`, `url`, `ls`) need not load node:net (and with it Node's whole stream
 * stack).
 */

/** Is this an IP literal (v4 dotted quad or v6) rather than a host name? Not a validator: see isHostAddress. */
export function isIpLiteral(address: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(address) || address.includes(":");
}

/** A dotted-quad IPv4 address, each part 0-255 without leading zeros' ambiguity (at most 3 digits). */
export function isIpv4(address: string): boolean {
  const parts = address.split(".");
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/** An IPv6 address (RFC 4291 text forms: `::` once at most, an IPv4 tail allowed), without brackets or zone. */
export function isIpv6(address: string): boolean {
  if (!/^[0-9A-Fa-f:.]+$/.test(address)) return false;
  const halves = address.split("::");
  if (halves.length > 2) return false;
  const groups = (s: string): string[] | undefined => {
    if (s === "") return [];
    const g = s.split(":");
    return g.every((x) => x !== "") ? g : undefined;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return false;
  const all = [...head, ...tail];
  let width = 0;
  for (const [i, g] of all.entries()) {
    if (i === all.length - 1 && g.includes(".")) {
      if (!isIpv4(g)) return false;
      width += 2;
    } else if (/^[0-9A-Fa-f]{1,4}$/.test(g)) width += 1;
    else return false;
  }
  return halves.length === 2 ? width < 8 : width === 8;
}

const DNS_LABEL = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;

/** A DNS host name (RFC 1123 labels of letters, digits and inner '-', at most 253 characters); all-numeric names must be IPv4. */
export function isDnsName(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  if (/^[\d.]+$/.test(name)) return false;
  return name.split(".").every((label) => DNS_LABEL.test(label));
}

/**
 * The rule for every host a user or a record gives tsm: a DNS name, an IPv4 address or an
 * IPv6 address (bare; a URL wraps it in brackets). Nothing else: no spaces, flags, quotes
 * or newlines can reach a docker command line, a table row or a certificate.
 */
export function isHostAddress(host: string): boolean {
  return isIpv4(host) || isIpv6(host) || isDnsName(host);
}
