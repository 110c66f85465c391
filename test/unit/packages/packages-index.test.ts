import { describe, expect, it } from 'vitest';
import { PackagesParser } from '../../../src/packages/packages-index.js';

const ORIGIN = { suite: 'bookworm', component: 'main', uri: 'http://deb.invalid/debian' };
const SHA = 'a'.repeat(64);
const INDEX = Buffer.from(
  [
    'Package: hello',
    'Version: 2.10-3',
    'Architecture: amd64',
    'Depends: libc6 (>= 2.34),',
    ' libgcc-s1',
    'Description: a friendly greeting',
    ' long text that is skipped',
    'Filename: pool/main/h/hello/hello_2.10-3_amd64.deb',
    'Size: 53128',
    `SHA256: ${SHA}`,
    '',
    'Package: broken',
    'Version: not a version!',
    'Filename: pool/b.deb',
    `SHA256: ${SHA}`,
    '',
    'Package: libc6',
    'Version: 2.36-9',
    'Essential: yes',
    'Filename: pool/main/g/glibc/libc6_2.36-9_amd64.deb',
    'Size: 2757680',
    `SHA256: ${SHA}`,
  ].join('\n'),
);

function parse(chunks: readonly Buffer[]): PackagesParser {
  const parser = new PackagesParser(ORIGIN);
  for (const c of chunks) parser.push(c);
  parser.end();
  return parser;
}

describe('PackagesParser', () => {
  it('reads the kept fields of each stanza, and skips a stanza it cannot use', () => {
    const parser = parse([INDEX]);
    expect(parser.records.map((r) => [r.name, r.version, r.depends, r.essential, r.size])).toEqual([
      ['hello', '2.10-3', 'libc6 (>= 2.34), libgcc-s1', false, 53128],
      ['libc6', '2.36-9', undefined, true, 2757680],
    ]);
    expect(parser.skipped).toBe(1);
    expect(parser.bytes).toBe(INDEX.length);
  });

  it('gives the same records however the bytes are cut into chunks', () => {
    const whole = parse([INDEX]).records;
    for (const size of [1, 2, 7, 64]) {
      const chunks = Array.from({ length: Math.ceil(INDEX.length / size) }, (_, i) =>
        INDEX.subarray(i * size, (i + 1) * size),
      );
      expect(parse(chunks).records).toEqual(whole);
    }
  });

  // Found by the fuzz tier's bound on time: each chunk without a newline was joined to
  // all the line before it, so an 8 MiB line in 64 KiB chunks took 4.3 s, 32 MiB 78 s.
  it('reads a line that spans many chunks in linear time', () => {
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const started = performance.now();
    const parser = parse([
      Buffer.from('Package: x\nDescription: '),
      ...Array<Buffer>(128).fill(chunk),
      Buffer.from('\n\n'),
      INDEX,
    ]);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(parser.records.map((r) => r.name)).toEqual(['hello', 'libc6']);
    expect(parser.skipped).toBe(2); // x (no version, file or hash) and broken
  });
});
