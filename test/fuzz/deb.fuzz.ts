/** .deb packages: the ar container, control.tar and data.tar, uncompressed, gzip and xz. */
import fc from 'fast-check';
import { beforeAll, describe, it } from 'vitest';
import { MemoryBlobStore } from '../../src/fstree/blobs.js';
import { readAr } from '../../src/packages/ar.js';
import { extractDeb } from '../../src/packages/deb.js';
import { makeDeb, type Compression, type TarInput } from '../helpers/make-deb.js';
import { fuzz } from './harness.js';
import { mutate, mutations, type HotRanges } from './mutate.js';

const DATA: TarInput[] = [
  { name: './', type: 'directory' },
  { name: './usr/', type: 'directory' },
  { name: './usr/bin/', type: 'directory' },
  { name: './usr/bin/hello', content: '#!/bin/sh\necho hello\n', mode: 0o755 },
  { name: './usr/bin/hi', type: 'link', linkname: './usr/bin/hello' },
  { name: './usr/bin/greet', type: 'symlink', linkname: 'hello' },
  { name: `./usr/share/doc/${'long-name-'.repeat(12)}/copyright`, content: 'GPL' },
];

/** ar's global header, each member's 60-byte header, and each tar's first 512-byte header. */
function hot(deb: Buffer): HotRanges {
  const ranges: [number, number][] = [[0, 8]];
  for (let at = 8; at + 60 <= deb.length;) {
    ranges.push([at, at + 60 + 512]);
    const size = Number(deb.toString('latin1', at + 48, at + 58).trim());
    if (!Number.isSafeInteger(size)) break;
    at += 60 + size + (size % 2);
  }
  return ranges;
}

interface Sample {
  readonly deb: Buffer;
  readonly hot: HotRanges;
}

describe('.deb', () => {
  const samples: Sample[] = [];
  beforeAll(async () => {
    for (const how of ['none', 'gz', 'xz'] as Compression[]) {
      const deb = await makeDeb({ data: DATA, compression: how, controlCompression: how });
      samples.push({ deb, hot: hot(deb) });
    }
  });
  const mutated = () =>
    fc.constant(null).chain(() =>
      fc.nat({ max: samples.length - 1 }).chain((i) => {
        const s = samples[i] as Sample;
        return fc.tuple(fc.constant(i), mutations(s.deb.length, { hot: s.hot, text: true }));
      }),
    );
  const bytesOf = ([i, list]: [number, Parameters<typeof mutate>[1]]): Buffer =>
    mutate((samples[i] as Sample).deb, list);

  it('readAr: mutated .deb', () =>
    fuzz({
      parser: 'ar',
      input: 'mutated sample',
      arbitrary: mutated(),
      run: (c) => readAr(bytesOf(c), 'fuzz.deb'),
      runs: 3000,
      timeLimitMs: 2000,
    }));

  it('readAr: random bytes after the ar magic', () =>
    fuzz({
      parser: 'ar',
      input: 'random bytes',
      arbitrary: fc.uint8Array({ maxLength: 300 }),
      run: (b) => readAr(Buffer.concat([Buffer.from('!<arch>\n'), b]), 'fuzz.deb'),
      runs: 1000,
      timeLimitMs: 1000,
    }));

  it('extractDeb: mutated .deb (none, gzip, xz)', () =>
    fuzz({
      parser: '.deb (ar, tar, gzip, xz)',
      input: 'mutated sample',
      arbitrary: mutated(),
      run: (c) => extractDeb(bytesOf(c), { package: 'hello', blobs: new MemoryBlobStore() }),
      runs: 1500,
      timeLimitMs: 6000,
    }));
});
