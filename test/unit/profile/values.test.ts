import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BootforgeError } from '../../../src/errors/index.js';
import { loadProfile } from '../../../src/profile/load.js';

// Issue 15: values that cannot work are refused with a message that states the real bound.
const dir = mkdtempSync(join(tmpdir(), 'bf-values-'));
let n = 0;
function errors(body: string): string[] {
  const file = join(dir, `p${n++}.yaml`);
  writeFileSync(file, `name: p\n${body}\n`);
  try {
    loadProfile(file);
  } catch (e) {
    if (!(e instanceof BootforgeError)) throw e;
    return [e, ...e.also].map((x) => `${x.code}: ${x.message}`);
  }
  return [];
}

describe('profile values', () => {
  it('says a number YAML cannot hold is out of range, not "null"', () => {
    expect(errors('generations: {tries: 1e400}')).toEqual([
      'BF_INVALID_VALUE: generations.tries: the number 1e400 is out of range',
    ]);
  });

  it('states the real bound of an exclusive minimum', () => {
    expect(errors('generations: {health: [{run: "true", timeout: 0}]}')).toEqual([
      'BF_INVALID_VALUE: generations.health[0].timeout must be greater than 0',
    ]);
  });

  it('states a maximum in words', () => {
    expect(errors('generations: {tries: 10}')).toEqual(['BF_INVALID_VALUE: generations.tries must be at most 9']);
  });

  it('refuses NUL, CR, ESC, line breaks and ":" in a user description (GECOS)', () => {
    for (const d of ['"a\\0b"', '"a\\rb"', '"a\\eb"', '"x\\nroot::0:0::/:/bin/sh"']) {
      expect(errors(`users: [{name: a, description: ${d}}]`)[0]).toMatch(/^BF_SHELL_META: users\[0\]\.description: /);
    }
    expect(errors('users: [{name: a, description: "a:b"}]')[0]).toMatch(/^BF_INVALID_VALUE: .*separates passwd fields/);
  });

  it('refuses a layout that needs more than the largest allowed target', () => {
    expect(errors('disk: {target: {maxSize: 1GiB}, layout: {esp: {size: 512MiB}, swap: {size: 1GiB}}}')).toEqual([
      'BF_INVALID_VALUE: disk.layout: the partitions need at least 1.6 GiB, more than disk.target.maxSize (1 GiB)',
    ]);
  });

  it('refuses sizes that cannot work', () => {
    expect(errors('disk: {layout: {esp: {size: 0}}}')).toEqual([
      'BF_SIZE: disk.layout.esp.size: the ESP of 0 B is smaller than 33 MiB, the least it can be',
    ]);
    expect(errors('disk: {layout: {esp: {size: 1KiB}, root: {size: 1B}}}')).toHaveLength(2);
    expect(errors('disk: {layout: {esp: {size: 100TiB}, root: {size: 100TiB}, swap: {size: 100TiB}}}')[0]).toMatch(
      /the ESP of 100 TiB is larger than 2 TiB/,
    );
  });

  it('refuses control characters in tests, health checks and disk ids', () => {
    expect(errors('tests: ["true\\necho injected"]')[0]).toMatch(/^BF_SHELL_META: tests\[0\]/);
    expect(errors('generations: {health: [{run: "a\\u001b[2J"}]}')[0]).toMatch(/^BF_SHELL_META/);
    expect(errors('disk: {target: {serial: "S1\\nX"}}')[0]).toMatch(/^BF_SHELL_META: disk\.target\.serial/);
  });
});
