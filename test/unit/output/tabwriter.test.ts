import { describe, it, expect } from "vitest";
import { tabwrite } from "../../../src/output/tabwriter.js";
import { parseTemplate, splitTableFormat, unescapeFormat } from "../../../src/output/go-template.js";

describe("tabwrite with Docker Machine defaults (minwidth 5, tabwidth 1, padding 3, ' ')", () => {
  it.each<[string, string, string]>([
    ["empty input", "", ""],
    ["plain lines pass through", "a\nb\n", "a\nb\n"],
    ["no trailing newline", "a\tb", "a    b"],
    ["minwidth applies to short cells (1 + 3 < 5)", "a\tb\n", "a    b\n"],
    ["width = widest + padding", "abc\tx\nabcdef\ty\n", "abc      x\nabcdef   y\n"],
    ["last cell is never padded", "a\tlong last cell\nbb\tc\n", "a    long last cell\nbb   c\n"],
    // A tab-terminated empty last column is still padded: lines may end in spaces.
    ["empty tab-terminated cell is padded", "abcdef\t\n", "abcdef   \n"],
    ["empty cells are padded to the column", "abcdef\tx\n\ty\n", "abcdef   x\n         y\n"],
    ["a lone tab on the unterminated last line prints nothing", "\t", ""],
    ["trailing tabs of the unterminated last line are dropped", "a\tb\t", "a    b"],
    ["blank lines pass through", "a\tb\n\nc\td\n", "a    b\n\nc    d\n"],
  ])("%s", (_name, input, want) => {
    expect(tabwrite(input)).toBe(want);
  });

  it("ends a column block at a line with fewer cells", () => {
    const input = ["a\tb\tc", "aaaaaaa\tbbbbbbb", "x\ty\tz", "only", "x\ty\tz", ""].join("\n");
    expect(tabwrite(input)).toBe(
      [
        // Column 0 spans lines 1-3 (width 10); column 1 is split by line 2, which has no 2nd tab.
        "a         b    c",
        "aaaaaaa   bbbbbbb",
        "x         y    z",
        "only",
        // After "only" (one cell) every column starts over.
        "x    y    z",
        "",
      ].join("\n"),
    );
  });

  it("nests blocks: a later column can be narrower than the lines around it", () => {
    const input = ["1\t22\t333", "1\t2", "1\t22222222\t3", ""].join("\n");
    expect(tabwrite(input, { minwidth: 0, padding: 1, padchar: "." })).toBe(
      ["1.22.333", "1.2", "1.22222222.3", ""].join("\n"),
    );
  });

  it("counts widths in code points", () => {
    const input = "本本\tx\né\ty\n\u{1F600}\tz\nabc\tw\n";
    expect(tabwrite(input)).toBe("本本    x\né     y\n\u{1F600}     z\nabc   w\n");
  });

  it("treats \\v as a cell terminator and \\f as a newline that ends all blocks", () => {
    expect(tabwrite("a\vb\n")).toBe("a    b\n");
    expect(tabwrite("aaaaaaa\tb\fc\td\n")).toBe("aaaaaaa   b\nc    d\n");
    expect(tabwrite("aaaaaaa\tb\nc\td\n")).toBe("aaaaaaa   b\nc         d\n");
  });

  it("honours custom options", () => {
    expect(tabwrite("a\tb\nccc\td\n", { minwidth: 0, padding: 1, padchar: "." })).toBe("a...b\nccc.d\n");
    expect(tabwrite("a\tb\n", { minwidth: 8, padding: 1, padchar: "_" })).toBe("a_______b\n");
  });

  it("pads with tabs rounded up to tabwidth when padchar is a tab", () => {
    expect(tabwrite("a\tb\nabcdefghi\tc\n", { minwidth: 0, tabwidth: 8, padding: 1, padchar: "\t" })).toBe(
      "a\t\tb\nabcdefghi\tc\n",
    );
    expect(tabwrite("a\tb\n", { minwidth: 0, tabwidth: 0, padding: 1, padchar: "\t" })).toBe("ab\n");
  });

  it("rejects bad options", () => {
    expect(() => tabwrite("", { padding: -1 })).toThrow(RangeError);
    expect(() => tabwrite("", { padchar: "" })).toThrow(RangeError);
    expect(() => tabwrite("", { padchar: "ab" })).toThrow(RangeError);
  });

  it("formats 10k rows quickly", () => {
    const input = Array.from({ length: 10_000 }, (_, i) => `m${i}\t-\tnone\tRunning\ttcp://10.0.0.${i % 256}:2376\n`).join("");
    const t0 = performance.now();
    const out = tabwrite(input);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(out.split("\n")[0]).toBe("m0      -    none   Running   tcp://10.0.0.0:2376");
  });
});

describe("docker-machine ls: template + tabwriter (reference §2.2)", () => {
  const lsDefaultFormat =
    "table {{ .Name }}\\t{{ .Active }}\\t{{ .DriverName}}\\t{{ .State }}\\t{{ .URL }}\\t{{ .Swarm }}\\t{{ .DockerVersion }}\\t{{ .Error}}";
  const headers = {
    Name: "NAME",
    Active: "ACTIVE",
    ActiveHost: "ACTIVE_HOST",
    ActiveSwarm: "ACTIVE_SWARM",
    DriverName: "DRIVER",
    State: "STATE",
    URL: "URL",
    SwarmOptions: "SWARM_OPTIONS",
    Swarm: "SWARM",
    EngineOptions: "ENGINE_OPTIONS",
    Error: "ERRORS",
    DockerVersion: "DOCKER",
    ResponseTime: "RESPONSE",
  };
  const row = (Name: string, Active: string, DriverName: string, State: string, URL: string, Swarm: string, DockerVersion: string, Error: string) =>
    ({ Name, Active, DriverName, State, URL, Swarm, DockerVersion, Error });

  // What commands/ls.go does: parseFormat, then header + rows through one tabwriter.
  function ls(format: string, rows: object[]): string {
    const { table, body } = splitTableFormat(format);
    const tpl = parseTemplate(`${unescapeFormat(body)}\n`);
    const text = (table ? [headers, ...rows] : rows).map((r) => tpl.render(r)).join("");
    return table ? tabwrite(text) : text;
  }

  it("reproduces the default table", () => {
    // The reference abbreviates the URLs to "tcp://127.0.0.1:9" but its column offsets
    // (URL at 40, SWARM at 63) imply 20-character URLs; ERRORS are shortened here.
    const url = "tcp://127.0.0.1:2376";
    const rows = [
      row("bar", "-", "none", "Running", url, "", "Unknown", "Unable to query docker version: Cannot connect to the docker engine endpoint"),
      row("Baz2", "-", "none", "Running", url, "Baz2 (master)", "Unknown", "Unable to query docker version"),
      row("broken", "", "not found", "Error", "", "", "", "Error getting migrated host: invalid character 'b' looking for beginning of object key string"),
      row("empty", "", "not found", "Error", "", "", "", "open /home/u/.docker/machine/machines/empty/config.json: no such file or directory"),
      row("gfail", "-", "generic", "Stopped", "", "", "Unknown", ""),
    ];
    expect(ls(lsDefaultFormat, rows).split("\n")).toEqual([
      "NAME     ACTIVE   DRIVER      STATE     URL                    SWARM           DOCKER    ERRORS",
      "bar      -        none        Running   tcp://127.0.0.1:2376                   Unknown   Unable to query docker version: Cannot connect to the docker engine endpoint",
      "Baz2     -        none        Running   tcp://127.0.0.1:2376   Baz2 (master)   Unknown   Unable to query docker version",
      "broken            not found   Error                                                      Error getting migrated host: invalid character 'b' looking for beginning of object key string",
      "empty             not found   Error                                                      open /home/u/.docker/machine/machines/empty/config.json: no such file or directory",
      // Go pads the DOCKER cell even though ERRORS is empty: the line ends in 3 spaces.
      "gfail    -        generic     Stopped                                          Unknown   ",
      "",
    ]);
  });

  it("reproduces a custom table format", () => {
    const rows = [row("bar", "-", "none", "Running", "", "", "", ""), row("gfail", "-", "generic", "Stopped", "", "", "", "")];
    expect(ls("table {{.Name}}\\t{{.DriverName}}", rows)).toBe("NAME    DRIVER\nbar     none\ngfail   generic\n");
  });

  it("prints a non-table format without tabwriter", () => {
    const rows = [row("bar", "-", "none", "Running", "", "", "", "")];
    expect(ls("{{.Name}}\\t{{.State}}", rows)).toBe("bar\tRunning\n");
  });
});
