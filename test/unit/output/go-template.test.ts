import { describe, it, expect } from "vitest";
import { parseTemplate, splitTableFormat, TemplateError, unescapeFormat } from "../../../src/output/go-template.js";

const HINT = "tsm supports fields, json, prettyjson, upper, lower, join, len, index (see docs/templates.md)";

// The shape `tsm inspect` hands to templates: config.json decoded as plain JSON.
const host = {
  ConfigVersion: 3,
  Driver: {
    IPAddress: "192.168.99.100",
    MachineName: "foo",
    SSHUser: "docker",
    SSHPort: 22,
    DiskSize: 20000,
    Big: 1000000,
    URL: "tcp://192.168.99.100:2376",
  },
  DriverName: "generic",
  HostOptions: {
    EngineOptions: {
      ArbitraryFlags: [],
      Dns: null,
      Labels: ["env=prod", "tier=web"],
      TlsVerify: true,
      InstallURL: "https://get.docker.com",
    },
    AuthOptions: { ServerCertSANs: ["foo.local"], CertDir: "/home/u/.docker/machine/certs" },
  },
  Name: "foo",
  Extra: { "com.example.key": "dotted", "": "empty key", Empty: {}, Nested: { A: [1, { B: null }] } },
  Unicode: { Größe: "groß", Emoji: "\u{1F433} whale", Mixed: "straße İ ΑΣ" },
};

function render(source: string, data: unknown = host): string {
  return parseTemplate(source).render(data);
}

function parseError(source: string): string {
  try {
    parseTemplate(source);
  } catch (e) {
    expect(e).toBeInstanceOf(TemplateError);
    return (e as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(source)} not to parse`);
}

function renderError(source: string, data: unknown = host): string {
  const t = parseTemplate(source);
  try {
    t.render(data);
  } catch (e) {
    expect(e).toBeInstanceOf(TemplateError);
    return (e as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(source)} to fail at render`);
}

describe("literal text", () => {
  it.each([
    ["", ""],
    ["plain text", "plain text"],
    ["tabs\tand\nnewlines\n", "tabs\tand\nnewlines\n"],
    ["braces { } }} {x}", "braces { } }} {x}"],
    ["日本語 \u{1F433}", "日本語 \u{1F433}"],
  ])("%j is copied verbatim", (source, want) => {
    expect(render(source)).toBe(want);
  });
});

describe("fields", () => {
  it.each([
    ["{{.Name}}", "foo"],
    ["{{ .Name }}", "foo"],
    ["{{\t.Name\n}}", "foo"],
    ["name={{.Name}} driver={{.DriverName}}", "name=foo driver=generic"],
    ["{{.Driver.IPAddress}}", "192.168.99.100"],
    ["{{.HostOptions.EngineOptions.TlsVerify}}", "true"],
    ["{{.Driver.SSHPort}}", "22"],
    ["{{.Driver.DiskSize}}", "20000"],
    // A JSON number is Go's float64: %v switches to exponent form at 1e6.
    ["{{.Driver.Big}}", "1e+06"],
    ["{{.ConfigVersion}}", "3"],
    ["{{.HostOptions.EngineOptions.Labels}}", "[env=prod tier=web]"],
    ["{{.HostOptions.EngineOptions.ArbitraryFlags}}", "[]"],
    ["{{.HostOptions.AuthOptions}}", "map[CertDir:/home/u/.docker/machine/certs ServerCertSANs:[foo.local]]"],
    ["{{.Extra.Nested}}", "map[A:[1 map[B:<nil>]]]"],
    ["{{.Extra.Empty}}", "map[]"],
    // tsm prints a JSON null as nothing (Go would print "<no value>").
    ["[{{.HostOptions.EngineOptions.Dns}}]", "[]"],
    ["{{.Unicode.Größe}}", "groß"],
  ])("%j -> %j", (source, want) => {
    expect(render(source)).toBe(want);
  });

  it.each<[unknown, string]>([
    ["just a string", "just a string"],
    [42, "42"],
    [false, "false"],
    [null, ""],
    [["a", 1], "[a 1]"],
    [{ b: 2, a: 1 }, "map[a:1 b:2]"],
  ])("{{.}} prints the whole value %j", (data, want) => {
    expect(render("{{.}}", data)).toBe(want);
  });

  it("parses once and renders many times", () => {
    const t = parseTemplate("{{.Name}}\t{{.State}}\n");
    expect(t.render({ Name: "a", State: "Running" })).toBe("a\tRunning\n");
    expect(t.render({ Name: "b", State: "Stopped" })).toBe("b\tStopped\n");
  });

  it("does not see inherited properties", () => {
    expect(renderError("{{.constructor}}", {})).toBe('template: no field "constructor" in .');
    expect(renderError("{{.toString}}", {})).toBe('template: no field "toString" in .');
  });
});

describe("functions", () => {
  it.each([
    ["{{json .HostOptions.AuthOptions.ServerCertSANs}}", '["foo.local"]'],
    ["{{json .Name}}", '"foo"'],
    ["{{json .Driver.SSHPort}}", "22"],
    // json keeps the full integer; only %v printing uses exponents.
    ["{{json .Driver.Big}}", "1000000"],
    ["{{json .HostOptions.EngineOptions.Dns}}", "null"],
    ["{{json .HostOptions.EngineOptions.TlsVerify}}", "true"],
    [
      "{{json .Driver}}",
      '{"Big":1000000,"DiskSize":20000,"IPAddress":"192.168.99.100","MachineName":"foo","SSHPort":22,"SSHUser":"docker","URL":"tcp://192.168.99.100:2376"}',
    ],
    ["{{.Driver.SSHUser | json}}", '"docker"'],
    ["{{json .Extra}}", '{"":"empty key","Empty":{},"Nested":{"A":[1,{"B":null}]},"com.example.key":"dotted"}'],
    ["{{json .Unicode.Emoji}}", '"\u{1F433} whale"'],
    ["{{upper .Name}}", "FOO"],
    ["{{.Name | upper}}", "FOO"],
    ["{{.Name | upper | lower}}", "foo"],
    ["{{json .Name | upper}}", '"FOO"'],
    ["{{lower .DriverName | upper}}", "GENERIC"],
    // Go maps code point by code point: no "SS", no final sigma; İ lowers to i.
    ["{{upper .Unicode.Mixed}}", "STRAßE İ ΑΣ"],
    ["{{lower .Unicode.Mixed}}", "straße i ασ"],
    ['{{join .HostOptions.EngineOptions.Labels ", "}}', "env=prod, tier=web"],
    ['{{join .HostOptions.EngineOptions.Labels ""}}', "env=prodtier=web"],
    ['{{join .HostOptions.EngineOptions.ArbitraryFlags ","}}', ""],
    // Go passes a nil slice for null, and strings.Join(nil) is "".
    ['{{join .HostOptions.EngineOptions.Dns ","}}', ""],
    ['{{join .Extra.Nested.A "|"}}', "1|map[B:<nil>]"],
    ['{{", " | join .HostOptions.EngineOptions.Labels}}', "env=prod, tier=web"],
    ["{{len .HostOptions.EngineOptions.Labels}}", "2"],
    ["{{len .Driver}}", "7"],
    ["{{len .Name}}", "3"],
    // Go's len of a string counts UTF-8 bytes.
    ["{{len .Unicode.Emoji}}", "10"],
    ["{{len .Unicode.Größe}}", "5"],
    ["{{.HostOptions.EngineOptions.Labels | len}}", "2"],
    ["{{len .HostOptions.EngineOptions.Labels | json}}", "2"],
    ['{{index .Driver "IPAddress"}}', "192.168.99.100"],
    ['{{index .Extra "com.example.key"}}', "dotted"],
    ['{{index .Extra ""}}', "empty key"],
    ["{{index .HostOptions.EngineOptions.Labels 1}}", "tier=web"],
    ['{{index .HostOptions "EngineOptions" "Labels" 0}}', "env=prod"],
    ['{{index .Extra.Nested.A 1 "B"}}', ""],
    ["{{index .Name}}", "foo"],
    ['{{index .Extra "com.example.key" | upper}}', "DOTTED"],
  ])("%j -> %j", (source, want) => {
    expect(render(source)).toBe(want);
  });

  it("prettyjson indents with 4 spaces like json.MarshalIndent(v, \"\", \"    \")", () => {
    expect(render("{{prettyjson .HostOptions}}")).toBe(
      [
        "{",
        '    "AuthOptions": {',
        '        "CertDir": "/home/u/.docker/machine/certs",',
        '        "ServerCertSANs": [',
        '            "foo.local"',
        "        ]",
        "    },",
        '    "EngineOptions": {',
        '        "ArbitraryFlags": [],',
        '        "Dns": null,',
        '        "InstallURL": "https://get.docker.com",',
        '        "Labels": [',
        '            "env=prod",',
        '            "tier=web"',
        "        ],",
        '        "TlsVerify": true',
        "    }",
        "}",
      ].join("\n"),
    );
  });

  it.each<[unknown, string]>([
    [{}, "{}"],
    [[], "[]"],
    [{ a: {}, b: [] }, '{\n    "a": {},\n    "b": []\n}'],
    [[[1], [[]]], "[\n    [\n        1\n    ],\n    [\n        []\n    ]\n]"],
    ["s", '"s"'],
    [null, "null"],
  ])("prettyjson %j", (data, want) => {
    expect(render("{{prettyjson .}}", data)).toBe(want);
    expect(render("{{. | prettyjson}}", data)).toBe(want);
  });

  it("json sorts keys like Go (integer-like keys as strings, by code point)", () => {
    expect(render("{{json .}}", { b: 1, "10": 2, "9": 3, "\u{1F600}": 4, "\uFFFD": 5 })).toBe(
      '{"10":2,"9":3,"b":1,"\uFFFD":5,"\u{1F600}":4}',
    );
  });

  it("json escapes like JSON.stringify, without Go's HTML escaping", () => {
    expect(render("{{json .}}", 'a"b\\c\n\t<&>')).toBe('"a\\"b\\\\c\\n\\t<&>"');
    expect(render("{{json .}}", [1e21, 1e-7, 0.5, -0])).toBe("[1e+21,1e-7,0.5,-0]");
  });
});

describe("string and integer literals", () => {
  it.each([
    ['{{"plain"}}', "plain"],
    ['{{"a\\"b"}}', 'a"b'],
    ['{{"back\\\\slash"}}', "back\\slash"],
    ['{{"tab\\there"}}', "tab\there"],
    ['{{"line\\nbreak"}}', "line\nbreak"],
    ['{{"\\r\\a\\b\\f\\v"}}', "\r\x07\b\f\v"],
    ['{{"\\u00e9\\U0001F433"}}', "é\u{1F433}"],
    ['{{"}}"}}', "}}"],
    ['{{" | "}}', " | "],
    ['{{"日本"}}', "日本"],
    ["{{`raw \\n {{ }} \"q\"`}}", 'raw \\n {{ }} "q"'],
    ["{{`a\r\nb`}}", "a\nb"],
    ['{{"x" | upper}}', "X"],
    ["{{7}}", "7"],
    ["{{0 | json}}", "0"],
    // Integer literals are Go ints: no exponent form.
    ["{{12345678}}", "12345678"],
  ])("%j -> %j", (source, want) => {
    expect(render(source)).toBe(want);
  });
});

describe("trim markers and comments", () => {
  it.each([
    ["a  {{- .Name}}", "afoo"],
    ["{{.Name -}}  b", "foob"],
    ["a \n\t {{- .Name -}} \r\n\t b", "afoob"],
    ["a{{- .Name -}}b", "afoob"],
    ["{{- .Name -}}", "foo"],
    ["x {{- .Name}} {{- .DriverName -}} y", "xfoogenericy"],
    ["line1\n{{- /* dropped */ -}}\nline2", "line1line2"],
    ["{{/* a comment */}}x", "x"],
    ["{{/* multi\nline {{ }} */}}x", "x"],
    ["a {{- /* c */}} b", "a b"],
    ["a {{/* c */ -}} b", "a b"],
    ["[{{/**/}}]", "[]"],
    // Only "-" followed by a space is a trim marker.
    ["a - {{.Name}} - b", "a - foo - b"],
  ])("%j -> %j", (source, want) => {
    expect(render(source)).toBe(want);
  });
});

describe("unicode", () => {
  it("handles non-ASCII in text, field names and values", () => {
    expect(render("→ {{.Unicode.Größe}} {{.Unicode.Emoji}} ←")).toBe("→ groß \u{1F433} whale ←");
    expect(render("{{.Ключ}}", { Ключ: "значение" })).toBe("значение");
    expect(render("{{.\u{10400}x}}", { "\u{10400}x": "astral letter" })).toBe("astral letter");
  });
});

describe("parse errors", () => {
  it.each([
    ["{{range .X}}", 'unsupported action "range" in {{range .X}}'],
    ["{{if .X}}a{{end}}", 'unsupported action "if" in {{if .X}}'],
    ["{{else}}", 'unsupported action "else" in {{else}}'],
    ["{{end}}", 'unsupported action "end" in {{end}}'],
    ["{{with .Driver}}", 'unsupported action "with" in {{with .Driver}}'],
    ['{{define "x"}}', 'unsupported action "define" in {{define "x"}}'],
    ['{{template "x"}}', 'unsupported action "template" in {{template "x"}}'],
    ['{{block "x" .}}', 'unsupported action "block" in {{block "x" .}}'],
    ["{{.Name | range}}", 'unsupported action "range" in {{.Name | range}}'],
    ["{{$x := .Name}}", 'unsupported variable "$x" in {{$x := .Name}}'],
    ["{{$}}", 'unsupported variable "$" in {{$}}'],
    ['{{printf "%s" .Name}}', 'unsupported function "printf" in {{printf "%s" .Name}}'],
    ["{{eq .Name .Name}}", 'unsupported function "eq" in {{eq .Name .Name}}'],
    ["{{.Name | print}}", 'unsupported function "print" in {{.Name | print}}'],
    ["{{title .Name}}", 'function "title" not defined in {{title .Name}}'],
    ["{{Name}}", 'function "Name" not defined in {{Name}}'],
    ["{{true}}", 'unsupported constant "true" in {{true}}'],
    ["{{nil}}", 'unsupported constant "nil" in {{nil}}'],
    ["{{(json .)}}", "unsupported parenthesized expression in {{(json .)}}"],
    ["{{.Name.Method 1}}", ".Name.Method is not a function and takes no arguments in {{.Name.Method 1}}"],
    ["{{.Name .Driver}}", ".Name is not a function and takes no arguments in {{.Name .Driver}}"],
    ["{{.Name | .Driver}}", ".Driver is not a function and takes no arguments in {{.Name | .Driver}}"],
    ['{{.Name | "x"}}', '"x" is not a function and takes no arguments in {{.Name | "x"}}'],
    ["{{1.5}}", "unsupported number 1.5 (only non-negative integers, as index arguments) in {{1.5}}"],
    ["{{0x1F}}", "unsupported number 0x1F (only non-negative integers, as index arguments) in {{0x1F}}"],
    ["{{1e3}}", "unsupported number 1e3 (only non-negative integers, as index arguments) in {{1e3}}"],
    ["{{-3}}", "unsupported number -3 (only non-negative integers, as index arguments) in {{-3}}"],
    ["{{.5}}", 'unsupported number ".5..." in {{.5}}'],
    ["{{'a'}}", "unsupported character constant in {{'a'}}"],
    ["{{.Name = 1}}", "unsupported assignment in {{.Name = 1}}"],
    ["{{}}", "empty action in {{}}"],
    ["{{ }}", "empty action in {{ }}"],
    // Like Go, the space after "{{-" belongs to the left marker.
    ["{{- -}}", 'unexpected "-" in {{- -}}'],
    ["{{-  -}}", "empty action in {{-  -}}"],
    ["{{| json}}", "missing command in pipeline in {{| json}}"],
    ["{{.Name |}}", "missing command in pipeline in {{.Name |}}"],
    ["{{.Name || upper}}", "missing command in pipeline in {{.Name || upper}}"],
    ["{{json}}", "wrong number of arguments for json: want 1, got 0 in {{json}}"],
    ["{{json .A .B}}", "wrong number of arguments for json: want 1, got 2 in {{json .A .B}}"],
    ["{{.A | json .B}}", "wrong number of arguments for json: want 1, got 2 in {{.A | json .B}}"],
    ["{{join .L}}", "wrong number of arguments for join: want 2, got 1 in {{join .L}}"],
    ["{{index}}", "wrong number of arguments for index: want at least 1, got 0 in {{index}}"],
    ["{{json upper .Name}}", 'function "upper" can\'t be an argument (no parentheses in tsm templates) in {{json upper .Name}}'],
    ["{{.Name", 'unclosed action (missing "}}") in {{.Name'],
    ["a {{ .Name }", 'unclosed action (missing "}}") in {{ .Name }'],
    ["{{", 'unclosed action (missing "}}") in {{'],
    ['{{"abc}}', "unterminated quoted string in {{\"abc}}"],
    ['{{"a\nb"}}', 'unterminated quoted string in {{"a\\nb"}}'],
    ["{{`abc}}", "unterminated raw quoted string in {{`abc}}"],
    ['{{"\\q"}}', 'unsupported escape \\q in string (use \\" \\\\ \\n \\t \\r or \\uXXXX) in {{"\\q"}}'],
    ['{{"\\x41"}}', 'unsupported escape \\x in string (use \\" \\\\ \\n \\t \\r or \\uXXXX) in {{"\\x41"}}'],
    ['{{"\\uZZZZ"}}', 'invalid escape \\uZZZZ in string in {{"\\uZZZZ"}}'],
    ['{{"\\ud800"}}', 'invalid escape \\ud800 in string in {{"\\ud800"}}'],
    ["{{.Name.}}", 'unexpected "." after .Name in {{.Name.}}'],
    ['{{.Name"x"}}', 'unexpected "\\"" after .Name in {{.Name"x"}}'],
    ["{{json.Name}}", 'unexpected "." after json in {{json.Name}}'],
    ["{{.Name-}}", 'unexpected "-" in {{.Name-}}'],
    ["{{.Name @}}", 'unexpected "@" in {{.Name @}}'],
    ["{{ /* c */ }}", "a comment must fill its action: {{/* ... */}} in {{ /* c */ }}"],
    ["{{/* c */ .Name}}", 'comment ends before closing delimiter "}}" in {{/* c */ .Name}}'],
    ["{{/* c", "unclosed comment in {{/* c"],
    ["{{range\n.X}}", 'unsupported action "range" in {{range\\n.X}}'],
  ])("%j", (source, message) => {
    expect(parseError(source)).toBe(`template: ${message}: ${HINT}`);
  });

  it("names the first bad action among good ones", () => {
    expect(parseError("{{.Name}} {{range .L}}{{.}}{{end}}")).toBe(
      `template: unsupported action "range" in {{range .L}}: ${HINT}`,
    );
  });

  it("keeps the message on one line and short", () => {
    const message = parseError(`{{range ${".Field".repeat(50)}\n}}`);
    expect(message).not.toContain("\n");
    expect(message).toBe(
      `template: unsupported action "range" in {{range ${".Field".repeat(11)}.Fi...: ${HINT}`,
    );
  });
});

describe("render errors", () => {
  it.each<[string, string]>([
    ["{{.Foo}}", 'template: no field "Foo" in .'],
    ["{{.Driver.Foo}}", 'template: no field "Foo" in .Driver'],
    ["{{.HostOptions.EngineOptions.Foo}}", 'template: no field "Foo" in .HostOptions.EngineOptions'],
    ["{{.name}}", 'template: no field "name" in .'],
    ["{{json .Foo}}", 'template: no field "Foo" in .'],
    ["{{.Name.X}}", 'template: can\'t evaluate field "X" in .Name: it is a string, not an object'],
    ["{{.HostOptions.EngineOptions.Dns.X}}", 'template: can\'t evaluate field "X" in .HostOptions.EngineOptions.Dns: it is null, not an object'],
    ["{{.HostOptions.EngineOptions.Labels.X}}", 'template: can\'t evaluate field "X" in .HostOptions.EngineOptions.Labels: it is an array, not an object'],
    ["{{.Driver.SSHPort.X}}", 'template: can\'t evaluate field "X" in .Driver.SSHPort: it is a number, not an object'],
    ["{{upper .Driver.SSHPort}}", "template: upper: expected a string, got a number in {{upper .Driver.SSHPort}}"],
    ["{{lower .HostOptions.EngineOptions.Dns}}", "template: lower: expected a string, got null in {{lower .HostOptions.EngineOptions.Dns}}"],
    ["{{len .Driver | upper}}", "template: upper: expected a string, got a number in {{len .Driver | upper}}"],
    ["{{join .Name \",\"}}", 'template: join: expected an array, got a string in {{join .Name ","}}'],
    ["{{join .HostOptions.EngineOptions.Labels 1}}", "template: join: expected a string, got a number in {{join .HostOptions.EngineOptions.Labels 1}}"],
    [
      '{{.HostOptions.EngineOptions.Labels | join ","}}',
      'template: join: arguments reversed (the piped value is the last argument; write {{join .List ","}}) in {{.HostOptions.EngineOptions.Labels | join ","}}',
    ],
    ["{{len .Driver.SSHPort}}", "template: len: can't take the length of a number in {{len .Driver.SSHPort}}"],
    ["{{len .HostOptions.EngineOptions.Dns}}", "template: len: can't take the length of null in {{len .HostOptions.EngineOptions.Dns}}"],
    ['{{index .Driver "Nope"}}', 'template: index: no key "Nope" in {{index .Driver "Nope"}}'],
    ["{{index .HostOptions.EngineOptions.Labels 2}}", "template: index: index out of range: 2 in {{index .HostOptions.EngineOptions.Labels 2}}"],
    ['{{index .HostOptions.EngineOptions.Labels "0"}}', 'template: index: an array needs an integer index, got a string in {{index .HostOptions.EngineOptions.Labels "0"}}'],
    ["{{index .Driver 0}}", "template: index: an object needs a string key, got a number in {{index .Driver 0}}"],
    ["{{index .Name 0}}", "template: index: can't index a string in {{index .Name 0}}"],
    ['{{index .HostOptions.EngineOptions.Dns "a"}}', "template: index: can't index null in {{index .HostOptions.EngineOptions.Dns \"a\"}}"],
  ])("%j", (source, message) => {
    expect(renderError(source)).toBe(message);
  });

  it("rejects NaN in json", () => {
    expect(renderError("{{json .}}", NaN)).toBe("template: json: unsupported value: NaN in {{json .}}");
  });
});

describe("performance", () => {
  it("parses and renders a 10k-character template quickly", () => {
    const source = "{{.Name}} {{json .Driver}} {{- /* c */ -}} {{upper .DriverName}}\n".repeat(160);
    expect(source.length).toBeGreaterThan(10_000);
    const t0 = performance.now();
    const out = parseTemplate(source).render(host);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(out.split("\n")).toHaveLength(161);
  });

  it.each([
    ["long whitespace runs before a trim marker", `${" ".repeat(5000)}x${" ".repeat(5000)}{{- .Name}}`],
    ["long string literal", `{{"${"a".repeat(10_000)}"}}`],
    ["many unclosed actions", "{{".repeat(5000)],
    ["long field chain", `{{.${"A.".repeat(3000)}B}}`],
  ])("stays linear: %s", (_name, source) => {
    const t0 = performance.now();
    try {
      parseTemplate(source).render({ Name: "n" });
    } catch (e) {
      expect(e).toBeInstanceOf(TemplateError);
    }
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

describe("unescapeFormat", () => {
  it.each([
    ["{{.Name}}\\t{{.URL}}", "{{.Name}}\t{{.URL}}"],
    ["a\\nb\\tc", "a\nb\tc"],
    ["\\\\t", "\\\t"],
    ["\\x \\", "\\x \\"],
    ["real\ttab", "real\ttab"],
  ])("%j -> %j", (source, want) => {
    expect(unescapeFormat(source)).toBe(want);
  });
});

describe("splitTableFormat", () => {
  it.each([
    ["table {{.Name}}\\t{{.URL}}", true, "{{.Name}}\\t{{.URL}}"],
    ["table{{.Name}}", true, "{{.Name}}"],
    ["table   {{.Name}}  ", true, "{{.Name}}"],
    ["table", true, ""],
    ["{{.Name}}", false, "{{.Name}}"],
    ["  {{.Name}} ", false, "{{.Name}}"],
    ["Table {{.Name}}", false, "Table {{.Name}}"],
    // Docker Machine trims only spaces.
    ["table\t{{.Name}}", true, "\t{{.Name}}"],
  ])("%j", (source, table, body) => {
    expect(splitTableFormat(source)).toEqual({ table, body });
  });
});
