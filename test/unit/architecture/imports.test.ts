import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';

// The pipeline reads in one direction: cli -> pipeline -> stages -> shared infrastructure.
// Stages may name each other's types (import type) but never call into each other.
const STAGES = ['profile', 'hardware', 'packages', 'initrd', 'image', 'install', 'qemu', 'flash'];
const INFRA = ['errors', 'yaml', 'schema', 'fsutil', 'exec', 'log', 'templates', 'fstree'];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function valueImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^import\s+(type\s+)?([^'"]*?)\s*from\s+'([^']+)'/gm)) {
    if (m[1] !== undefined) continue;
    const names = m[2] ?? '';
    // `import { type A, type B }` is a type-only import too.
    if (
      /^\{[^}]*\}$/.test(names) &&
      names
        .slice(1, -1)
        .split(',')
        .every((n) => n.trim() === '' || n.trim().startsWith('type '))
    )
      continue;
    const target = m[3] ?? '';
    if (target.startsWith('.')) out.push(relative('src', resolve(dirname(file), target)));
  }
  return out;
}

const layer = (path: string): string => path.split('/')[0] ?? '';

describe('import direction', () => {
  const all = files('src');

  it('keeps stages from calling into each other', () => {
    const bad = all.flatMap((f) => {
      const from = layer(relative('src', f));
      if (!STAGES.includes(from)) return [];
      return valueImports(f)
        .filter((t) => STAGES.includes(layer(t)) && layer(t) !== from)
        .map((t) => `${relative('src', f)} -> ${t}`);
    });
    expect(bad).toEqual([]);
  });

  it('keeps shared infrastructure free of stages, pipeline and cli', () => {
    const bad = all.flatMap((f) => {
      const from = layer(relative('src', f));
      if (!INFRA.includes(from)) return [];
      return valueImports(f)
        .filter((t) => !INFRA.includes(layer(t)))
        .map((t) => `${relative('src', f)} -> ${t}`);
    });
    expect(bad).toEqual([]);
  });

  it('lets only the cli reach the cli, and the cli reach stages only through the pipeline', () => {
    const bad = all.flatMap((f) => {
      const from = layer(relative('src', f));
      return valueImports(f)
        .filter((t) => (layer(t) === 'cli' && from !== 'cli') || (from === 'cli' && STAGES.includes(layer(t))))
        .map((t) => `${relative('src', f)} -> ${t}`);
    });
    expect(bad).toEqual([]);
  });
});
