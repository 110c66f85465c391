/** YAML with positions, the profile loader (extends, schema, checks) and hardware descriptions. */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, it } from 'vitest';
import { loadHardwareFile } from '../../src/hardware/catalog.js';
import { loadProfile } from '../../src/profile/load.js';
import { parseLocated, toPlain } from '../../src/yaml/located.js';
import { fuzz } from './harness.js';
import { mutate, mutations } from './mutate.js';

const work = mkdtempSync(join(tmpdir(), 'bootforge-fuzz-yaml-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const PROFILE = readFileSync('profiles/minimal.yaml');
copyFileSync('profiles/base.yaml', join(work, 'base.yaml'));
const HARDWARE = readFileSync('hardware/qemu-x86_64.yaml');

/** Writes the text where the loader expects it (the profile beside its base, the description under its id). */
function written(name: string, text: Buffer): string {
  const path = join(work, name);
  writeFileSync(path, text);
  return path;
}

/** YAML that is large or deep to read for its size: nesting, aliases of aliases, many keys, odd tags and numbers. */
const SHAPES: Readonly<Record<string, (n: number) => string>> = {
  'nested flow sequences': (n) => `a: ${'['.repeat(n)}${']'.repeat(n)}\n`,
  'nested flow maps': (n) => `a: ${'{x: '.repeat(n)}1${'}'.repeat(n)}\n`,
  'nested block maps': (n) => `${Array.from({ length: n }, (_, i) => `${'  '.repeat(i)}k:`).join('\n')} 1\n`,
  // Ten aliases of the level below at each level: 10^levels nodes once expanded.
  'aliases of aliases': (n) => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i <= n; i++)
      lines.push(
        `a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    return `${lines.join('\n')}\n`;
  },
  'many keys': (n) => Array.from({ length: n }, (_, i) => `k${i}: ${i}`).join('\n'),
  'odd tags and numbers': (n) =>
    ['<<: *x\n', '!!binary AAAA\n', 'a: !!js/function x\n', 'a: 1e400\n', `a: ${'9'.repeat(400)}\n`][n % 5] ?? '',
};

/** A shape and its size: what a failure prints, rather than the text (which can be hundreds of kB). */
const hostileYaml: fc.Arbitrary<[string, number]> = fc.oneof(
  fc.tuple(fc.constantFrom('nested flow sequences', 'nested flow maps'), fc.integer({ min: 100, max: 20_000 })),
  fc.tuple(fc.constant('nested block maps'), fc.integer({ min: 100, max: 2_000 })),
  fc.tuple(fc.constant('aliases of aliases'), fc.integer({ min: 5, max: 30 })),
  fc.tuple(fc.constant('odd tags and numbers'), fc.nat({ max: 4 })),
);

describe('YAML', () => {
  it('parseLocated: mutated profile', () =>
    fuzz({
      parser: 'YAML',
      input: 'mutated sample',
      arbitrary: mutations(PROFILE.length, { text: true }),
      run: (list) => toPlain(parseLocated(mutate(PROFILE, list).toString('utf8'), 'fuzz.yaml').root),
      runs: 2000,
      timeLimitMs: 4000,
    }));

  it('parseLocated: nesting, aliases of aliases, odd tags and numbers', () =>
    fuzz({
      parser: 'YAML',
      input: 'hostile shapes',
      arbitrary: hostileYaml,
      run: ([shape, n]) => toPlain(parseLocated(SHAPES[shape]?.(n) ?? '', 'fuzz.yaml').root),
      runs: 60,
      timeLimitMs: 4000,
      shrink: false,
    }));

  it('parseLocated: a flat map of 16,000 keys', () =>
    fuzz({
      parser: 'YAML',
      input: 'many keys',
      // 200 kB, a fifth of the bound on a profile: about 0.1 s when linear, 3.3 s with yaml's quadratic duplicate-key check.
      arbitrary: fc.tuple(fc.constant('many keys'), fc.constant(16_000)),
      run: ([shape, n]) => toPlain(parseLocated(SHAPES[shape]?.(n) ?? '', 'fuzz.yaml').root),
      runs: 1,
      timeLimitMs: 3000,
      shrink: false,
    }));

  it('loadProfile: mutated profile beside its base', () =>
    fuzz({
      parser: 'profile loader',
      input: 'mutated sample',
      arbitrary: mutations(PROFILE.length, { text: true }),
      run: (list) => loadProfile(written('minimal.yaml', mutate(PROFILE, list))),
      runs: 1000,
      timeLimitMs: 3000,
    }));

  it('loadHardwareFile: mutated description', () =>
    fuzz({
      parser: 'hardware description',
      input: 'mutated sample',
      arbitrary: mutations(HARDWARE.length, { text: true }),
      run: (list) => loadHardwareFile(written('qemu-x86_64.yaml', mutate(HARDWARE, list))),
      runs: 1000,
      timeLimitMs: 4000,
    }));
});
