import { describe, expect, it } from 'vitest';
import { BootforgeError } from '../../../src/errors/index.js';
import { parseLocated, toPlain, type LNode } from '../../../src/yaml/located.js';
import { checkKeyedDuplicates, mergeNodes, type MergeOptions } from '../../../src/yaml/merge.js';

const options: MergeOptions = { listKeys: new Map([['users', 'name']]) };
const doc = (text: string, file: string): LNode => parseLocated(text, file).root;
const merge = (a: string, b: string) => mergeNodes(doc(a, 'a.yaml'), doc(b, 'b.yaml'), '', options);

describe('mergeNodes', () => {
  it('merges maps deeply', () => {
    expect(toPlain(merge('s: {x: 1, y: {p: 1}}', 's: {z: 2, y: {q: 2}}'))).toEqual({
      s: { x: 1, z: 2, y: { p: 1, q: 2 } },
    });
  });

  it('appends lists in order without duplicates', () => {
    expect(toPlain(merge('l: [a, b, {k: 1}]', 'l: [b, c, {k: 1}, a]'))).toEqual({ l: ['a', 'b', { k: 1 }, 'c'] });
  });

  it('merges items of keyed lists that share a key', () => {
    const out = merge('users: [{name: al, shell: /bin/sh}]', 'users: [{name: al, groups: [x]}, {name: bo}]');
    expect(toPlain(out)).toEqual({ users: [{ name: 'al', shell: '/bin/sh', groups: ['x'] }, { name: 'bo' }] });
  });

  it('accepts the same scalar twice', () => {
    expect(toPlain(merge('a: 1', 'a: 1'))).toEqual({ a: 1 });
  });

  it('refuses two different scalars and names both places', () => {
    let error: BootforgeError | undefined;
    try {
      merge('x:\n  h: alpha\n', 'x:\n  h: beta\n');
    } catch (e) {
      error = e as BootforgeError;
    }
    expect(error?.code).toBe('BF_MERGE_CONFLICT');
    expect(error?.message).toBe('x.h is set to "beta" here and to "alpha" at a.yaml:2:6');
    expect(error?.loc).toMatchObject({ file: 'b.yaml', line: 2, column: 6 });
    expect(error?.related).toMatchObject({ file: 'a.yaml', line: 2, column: 6 });
  });

  it('refuses a list meeting a scalar', () => {
    expect(() => merge('a: [1]', 'a: 1')).toThrow(/a is set to 1 here and to a list at a.yaml:1:4/);
  });

  it('lets !override win over a plain value, whole, in either order', () => {
    expect(toPlain(merge('a: 1\nl: [x]', 'a: !override 2\nl: !override [y]'))).toEqual({ a: 2, l: ['y'] });
    expect(toPlain(merge('a: !override 2', 'a: 1'))).toEqual({ a: 2 });
  });

  it('lets a plain value win over !default', () => {
    expect(toPlain(merge('a: !default 1', 'a: 2'))).toEqual({ a: 2 });
    expect(toPlain(merge('a: 2', 'a: !default 1'))).toEqual({ a: 2 });
  });

  it('still refuses two different !override values', () => {
    expect(() => merge('a: !override 1', 'a: !override 2')).toThrow(BootforgeError);
  });

  it('remembers where each merged value came from', () => {
    const out = merge('s: {x: 1}', 's: {y: 2}');
    const s = out.kind === 'map' ? out.entries.get('s')?.value : undefined;
    const y = s?.kind === 'map' ? s.entries.get('y')?.value : undefined;
    expect(y?.loc.file).toBe('b.yaml');
  });

  it('refuses two items with one key in one file', () => {
    expect(() => checkKeyedDuplicates(doc('users: [{name: al}, {name: al}]', 'u.yaml'), options)).toThrow(
      /users has two entries with name "al"/,
    );
  });
});
