/**
 * The floors of docs/architecture.md, checked on the source: every import points down,
 * and no files or folders import each other in a circle.
 */
import { readdirSync, readFileSync, existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : [],
  );
}

/** file -> the tsm files it imports (static and dynamic, type-only included). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of [...sources("src"), ...sources("drivers")]) {
    const text = readFileSync(path.join(ROOT, file), "utf8");
    const deps: string[] = [];
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+["'](\.[^"']+)["']|import\(\s*["'](\.[^"']+)["']\s*\)/g)) {
      const target = path.normalize(path.join(path.dirname(file), (m[1] ?? m[2])!)).replace(/\.js$/, ".ts");
      if (existsSync(path.join(ROOT, target))) deps.push(target);
    }
    graph.set(file, deps);
  }
  return graph;
}

/** The floor a file is on: src/<folder>, or drivers. */
function floor(file: string): string {
  const [top, sub] = file.split(path.sep);
  return top === "drivers" ? "drivers" : `src/${sub}`;
}

function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) found.push(scc);
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe("architecture", () => {
  const graph = importGraph();
  const edges = [...graph].flatMap(([from, tos]) => tos.map((to) => ({ from, to, a: floor(from), b: floor(to) })));

  it("reads the whole tree", () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(edges.length).toBeGreaterThan(300);
  });

  it("src/model imports nothing of tsm outside itself", () => {
    expect(edges.filter((e) => e.a === "src/model" && e.b !== "src/model").map((e) => `${e.from} -> ${e.to}`)).toEqual([]);
  });

  it("only src/cli imports src/core, and only the composition root imports the drivers", () => {
    expect(edges.filter((e) => e.b === "src/core" && e.a !== "src/core" && e.a !== "src/cli").map((e) => `${e.from} -> ${e.to}`)).toEqual([]);
    expect(edges.filter((e) => e.b === "drivers" && e.a !== "drivers" && e.from !== path.join("src", "cli", "main.ts")).map((e) => `${e.from} -> ${e.to}`)).toEqual([]);
    expect(edges.filter((e) => e.b === "src/cli" && e.a !== "src/cli").map((e) => `${e.from} -> ${e.to}`)).toEqual([]);
  });

  it("has no import cycle between files", () => {
    expect(cycles(graph).map((c) => c.join(" <-> "))).toEqual([]);
  });

  it("has no folders that import each other", () => {
    const folders = new Map<string, string[]>();
    for (const { from, to } of edges) {
      const a = path.dirname(from);
      const b = path.dirname(to);
      if (a !== b) folders.set(a, [...(folders.get(a) ?? []), b]);
    }
    expect(cycles(folders).map((c) => c.join(" <-> "))).toEqual([]);
  });
});
