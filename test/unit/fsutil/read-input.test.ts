import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { printable } from '../../../src/fsutil/display.js';
import { readInput, readInputText } from '../../../src/fsutil/read-input.js';
import { thrown } from '../../helpers/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'bf-read-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readInput', () => {
  it('reads a regular file inside its root', () => {
    writeFileSync(join(dir, 'a.txt'), 'hello');
    expect(readInputText(join(dir, 'a.txt'), { kind: 'source file', within: [dir] })).toBe('hello');
  });

  it('refuses a file over its bound before reading it', () => {
    writeFileSync(join(dir, 'big'), Buffer.alloc(2048));
    const e = thrown(() => readInput(join(dir, 'big'), { kind: 'profile', maxBytes: 1024 }));
    expect(e.code).toBe('BF_INPUT_TOO_LARGE');
    expect(e.message).toContain('1 KiB');
  });

  it('stops reading a file whose size lies (procfs) at the bound', () => {
    const e = thrown(() => readInput('/proc/self/maps', { kind: 'profile', maxBytes: 16 }));
    expect(e.code).toBe('BF_INPUT_TOO_LARGE');
  });

  it.each([
    ['/dev/zero', 'a character device'],
    ['/tmp', 'a directory'],
  ])('refuses %s as %s', (path, what) => {
    const e = thrown(() => readInput(path, { kind: 'profile' }));
    expect(e.code).toBe('BF_INPUT_NOT_FILE');
    expect(e.message).toContain(what);
  });

  it('refuses a FIFO without waiting for a writer', () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const e = thrown(() => readInput(fifo, { kind: 'profile' }));
    expect(e.code).toBe('BF_INPUT_NOT_FILE');
    expect(e.message).toContain('a FIFO');
  });

  it('refuses a symbolic link out of its root, and ../', () => {
    const root = join(dir, 'root');
    mkdirSync(root);
    writeFileSync(join(dir, 'secret'), 'x');
    symlinkSync('../secret', join(root, 'link'));
    for (const p of [join(root, 'link'), join(root, '..', 'secret')]) {
      const e = thrown(() => readInput(p, { kind: 'source file', within: [root] }));
      expect(e.code).toBe('BF_SOURCE_OUTSIDE');
    }
  });

  it('names a missing file with the code asked for', () => {
    expect(thrown(() => readInput(join(dir, 'nope'), { kind: 'profile' })).code).toBe('BF_FILE_NOT_FOUND');
    const e = thrown(() => readInput(join(dir, 'nope'), { kind: 'profile', missingCode: 'BF_EXTENDS_MISSING' }));
    expect(e.code).toBe('BF_EXTENDS_MISSING');
  });
});

describe('printable', () => {
  it('escapes control characters, DEL, C1, bidi overrides and backslashes', () => {
    expect(printable('a\x1b[31mb\nc\rd\x7f\x85\u202e\\')).toBe('a\\x1b[31mb\\nc\\rd\\x7f\\x85\\u202e\\\\');
  });
  it('leaves ordinary names, spaces and UTF-8 alone', () => {
    expect(printable('usr/share/doc/ü ñ.txt')).toBe('usr/share/doc/ü ñ.txt');
  });
});
