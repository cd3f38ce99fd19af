/**
 * The layers of src/: each folder imports only from itself and the folders below it, so that the
 * engine stays dependency-free and the browser-safe parts never reach Node-only code.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

// What each folder may import: its own files, the folders listed, and these packages.
const ALLOWED: Readonly<Record<string, { folders: readonly string[]; packages: readonly string[] }>> = {
  engine: { folders: ['engine'], packages: [] },
  tools: { folders: ['engine', 'tools'], packages: [] },
  node: { folders: ['engine', 'tools', 'node'], packages: ['node:', 'graphviz-cli', 'vega', 'vega-lite', 'cli-progress'] },
  learner: { folders: ['engine', 'tools', 'learner'], packages: [] },
  cli: { folders: ['engine', 'tools', 'node', 'learner', 'cli'], packages: ['node:', 'commander'] },
};
// learner/node.ts is the learner's case on Node: it may also use the Node-only layer.
const EXCEPTIONS: Readonly<Record<string, { folders: readonly string[]; packages: readonly string[] }>> = {
  'learner/node.ts': { folders: ['engine', 'tools', 'node', 'learner'], packages: ['node:'] },
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g)].map((m) => m[1] ?? m[2]!);
}

describe('layers', () => {
  const files = sources(SRC).map((f) => relative(SRC, f));

  it('every source file is in a known layer (or is an entry at the top)', () => {
    for (const f of files) expect(f === 'index.ts' || Object.hasOwn(ALLOWED, f.split('/')[0]!), f).toBe(true);
  });

  it('nothing imports upward or reaches a package its layer may not use', () => {
    const broken: string[] = [];
    for (const f of files) {
      if (f === 'index.ts') continue;
      const rule = EXCEPTIONS[f] ?? ALLOWED[f.split('/')[0]!]!;
      for (const spec of imports(join(SRC, f))) {
        if (spec.startsWith('.')) {
          const target = relative(SRC, join(SRC, dirname(f), spec));
          const layer = target.includes('/') ? target.split('/')[0]! : '(top)';
          if (!rule.folders.includes(layer)) broken.push(`${f} imports ${spec}`);
        } else if (!rule.packages.some((p) => spec === p || spec.startsWith(p.endsWith(':') ? p : `${p}/`) || spec === p)) {
          broken.push(`${f} imports the package ${spec}`);
        }
      }
    }
    expect(broken).toEqual([]);
  });

  it('the main entry re-exports only browser-safe layers', () => {
    const specs = imports(join(SRC, 'index.ts'));
    expect(specs.length).toBeGreaterThan(5);
    for (const s of specs) expect(s, s).toMatch(/^\.\/(engine|tools)\//);
  });
});
