import { describe, expect, it } from 'vitest';
import { BootforgeError } from '../../../src/errors/index.js';
import { nodeAt, parseLocated, toPlain } from '../../../src/yaml/located.js';

describe('parseLocated', () => {
  const { root } = parseLocated('a: 1\nb:\n  c: [x, "y"]\nd: !override\n  e: true\nf: !default false\n', 'f.yaml');

  it('keeps the plain value', () => {
    expect(toPlain(root)).toEqual({ a: 1, b: { c: ['x', 'y'] }, d: { e: true }, f: false });
  });

  it('knows the line and column of every value and key', () => {
    expect(nodeAt(root, ['b', 'c', 1]).node?.loc).toMatchObject({ file: 'f.yaml', line: 3, column: 10, length: 3 });
    expect(nodeAt(root, ['b', 'c']).keyLoc).toMatchObject({ line: 3, column: 3 });
  });

  it('reads !override and !default as priorities, resolving tagged scalars like untagged ones', () => {
    expect(nodeAt(root, ['d']).node?.priority).toBe('override');
    const f = nodeAt(root, ['f']).node;
    expect(f?.priority).toBe('default');
    expect(f?.kind === 'scalar' && f.value).toBe(false);
  });

  it('keeps the raw text of scalars (0644 stays visible though YAML reads 644)', () => {
    const { root: r } = parseLocated('mode: 0644\n', 'm.yaml');
    const n = nodeAt(r, ['mode']).node;
    expect(n?.kind === 'scalar' && [n.value, n.raw]).toEqual([644, '0644']);
  });

  it.each([
    ['a: *x\n', 'BF_YAML_SYNTAX'],
    ['a: !bogus 1\n', 'BF_YAML_SYNTAX'],
    ['a: 1\na: 2\n', 'BF_YAML_DUPLICATE_KEY'],
    ['a: [1, 2\n', 'BF_YAML_SYNTAX'],
  ])('refuses %j with %s', (text, code) => {
    expect(() => parseLocated(text, 'bad.yaml')).toThrow(BootforgeError);
    try {
      parseLocated(text, 'bad.yaml');
    } catch (e) {
      expect((e as BootforgeError).code).toBe(code);
      expect((e as BootforgeError).loc?.file).toBe('bad.yaml');
    }
  });

  it('treats an empty document as an empty mapping', () => {
    expect(toPlain(parseLocated('# nothing\n', 'e.yaml').root)).toEqual({});
  });
});

describe('keys that are not data', () => {
  it.each(['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'])(
    'refuses %j at its key, nested or not',
    (key) => {
      for (const [text, line, column] of [
        [`${key}: 1\n`, 1, 1],
        [`users:\n  - name: a\n    ${key}:\n      sudo: true\n`, 3, 5],
      ] as const) {
        try {
          parseLocated(text, 'p.yaml');
          expect.fail(`${key} was accepted`);
        } catch (e) {
          expect((e as BootforgeError).code).toBe('BF_YAML_RESERVED_KEY');
          expect((e as BootforgeError).loc).toMatchObject({ file: 'p.yaml', line, column, length: key.length });
        }
      }
    },
  );

  it('builds plain values without a prototype, so no key can reach one', () => {
    const plain = toPlain(parseLocated('a:\n  b: [{c: 1}]\n', 'p.yaml').root) as Record<string, unknown>;
    expect(Object.getPrototypeOf(plain)).toBeNull();
    expect(Object.getPrototypeOf(plain.a)).toBeNull();
  });
});
