/** deb822 stanzas, Release, clearsigned InRelease and streamed Packages indexes. */
import fc from 'fast-check';
import * as openpgp from 'openpgp';
import { beforeAll, describe, it } from 'vitest';
import { parseStanzas } from '../../src/packages/deb822.js';
import { PackagesParser } from '../../src/packages/packages-index.js';
import { parseRelease, verifyInRelease } from '../../src/packages/release.js';
import { generateKey, type KeyPair } from '../helpers/debrepo.js';
import { fuzz } from './harness.js';
import { mutate, mutations } from './mutate.js';

const NOW = new Date('2026-06-01T00:00:00Z');
const SHA = (c: string): string => c.repeat(64);

const RELEASE = Buffer.from(
  [
    'Origin: Debian',
    'Label: Debian',
    'Suite: stable',
    'Codename: bookworm',
    'Date: Sat, 10 Jan 2026 10:00:00 UTC',
    'Valid-Until: Sat, 17 Jan 2027 10:00:00 UTC',
    'Acquire-By-Hash: yes',
    'Architectures: all amd64 arm64',
    'Components: main contrib non-free-firmware',
    'Description: Debian 12.9 Released 10 January 2026',
    'SHA256:',
    ` ${SHA('a')}  8812345 main/binary-amd64/Packages.xz`,
    ` ${SHA('b')} 51234567 main/binary-amd64/Packages`,
    ` ${SHA('c')}      123 contrib/binary-amd64/Release`,
    '',
  ].join('\n'),
);

const PACKAGES = Buffer.from(
  [
    'Package: hello',
    'Version: 1:2.10-3+b1',
    'Installed-Size: 280',
    'Architecture: amd64',
    'Depends: libc6 (>= 2.34)',
    'Description: example package based on GNU hello',
    ' The GNU hello program produces a familiar, friendly greeting.',
    ' .',
    ' Second paragraph.',
    'Filename: pool/main/h/hello/hello_2.10-3+b1_amd64.deb',
    'Size: 53128',
    `SHA256: ${SHA('d')}`,
    '',
    'Package: libc6',
    'Source: glibc',
    'Version: 2.36-9+deb12u4',
    'Architecture: amd64',
    'Multi-Arch: same',
    'Essential: no',
    'Priority: optional',
    'Section: libs',
    'Breaks: hurd (<< 1:0.9.git20220301-2),',
    '  nscd (<< 2.36)',
    'Filename: pool/main/g/glibc/libc6_2.36-9+deb12u4_amd64.deb',
    'Size: 2757680',
    `SHA256: ${SHA('e')}`,
    '',
  ].join('\n'),
);

const ORIGIN = { suite: 'bookworm', component: 'main', uri: 'http://deb.invalid/debian' };

/** Feeds the index in the chunks the cuts make, as a decompressor would. */
function parsePackages(bytes: Buffer, cuts: readonly number[]): void {
  const parser = new PackagesParser(ORIGIN);
  let from = 0;
  for (const cut of [...cuts].map((c) => c % (bytes.length + 1)).sort((a, b) => a - b)) {
    parser.push(bytes.subarray(from, cut));
    from = cut;
  }
  parser.push(bytes.subarray(from));
  parser.end();
}

const cuts = fc.array(fc.nat(), { maxLength: 6 });

describe('deb822 and Release', () => {
  it('parseStanzas: mutated Release and Packages', () =>
    fuzz({
      parser: 'deb822',
      input: 'mutated sample',
      arbitrary: fc.tuple(fc.constantFrom(RELEASE, PACKAGES), mutations(PACKAGES.length, { text: true })),
      run: ([sample, list]) => parseStanzas(mutate(sample, list).toString('utf8')),
      runs: 2000,
      timeLimitMs: 3000,
    }));

  it('parseStanzas: random text', () =>
    fuzz({
      parser: 'deb822',
      input: 'random text',
      arbitrary: fc.string({ unit: fc.constantFrom('a', ':', ' ', '\t', '\n', '#', '\r', 'é'), maxLength: 400 }),
      run: (text) => parseStanzas(text),
      runs: 1000,
      timeLimitMs: 2000,
    }));

  it('parseRelease: mutated Release', () =>
    fuzz({
      parser: 'Release',
      input: 'mutated sample',
      arbitrary: mutations(RELEASE.length, { text: true }),
      run: (list) => parseRelease(mutate(RELEASE, list).toString('utf8'), { now: NOW, source: 'Release' }),
      runs: 2000,
      timeLimitMs: 3000,
    }));
});

describe('InRelease', () => {
  let key: KeyPair;
  let signed: Buffer;
  beforeAll(async () => {
    key = await generateKey();
    const message = await openpgp.createCleartextMessage({ text: RELEASE.toString('utf8') });
    signed = Buffer.from(await openpgp.sign({ message, signingKeys: key.privateKey }));
  });

  it('verifyInRelease: mutated clearsigned text (armour, signature packets, signed text)', () =>
    fuzz({
      parser: 'InRelease',
      input: 'mutated sample',
      arbitrary: fc.constant(null).chain(() => mutations(signed.length, { text: true })),
      run: (list) =>
        verifyInRelease(mutate(signed, list).toString('utf8'), {
          keys: [key.privateKey.toPublic()],
          now: NOW,
          source: 'InRelease',
        }),
      runs: 400,
      timeLimitMs: 5000,
    }));
});

describe('Packages', () => {
  it('PackagesParser: mutated index in random chunks', () =>
    fuzz({
      parser: 'Packages',
      input: 'mutated sample',
      arbitrary: fc.tuple(mutations(PACKAGES.length, { text: true }), cuts),
      run: ([list, at]) => parsePackages(mutate(PACKAGES, list), at),
      runs: 2000,
      timeLimitMs: 3000,
    }));

  it('PackagesParser: a line of 2-8 MiB in 64 KiB chunks', () =>
    fuzz({
      parser: 'Packages',
      input: 'long line',
      arbitrary: fc.tuple(fc.integer({ min: 32, max: 128 }), fc.constantFrom('Description: ', 'Depends: ', ' ', 'x')),
      run: ([chunks, start]) => {
        const parser = new PackagesParser(ORIGIN);
        parser.push(Buffer.from(`Package: x\n${start}`));
        const chunk = Buffer.alloc(64 * 1024, 0x61);
        for (let i = 0; i < chunks; i++) parser.push(chunk);
        parser.push(PACKAGES);
        parser.end();
      },
      runs: 10,
      timeLimitMs: 3000,
      // Linear: about 30 ms for 8 MiB; the quadratic join took 4.3 s.
      caseLimitMs: 3000,
    }));

  it('PackagesParser: random bytes in random chunks', () =>
    fuzz({
      parser: 'Packages',
      input: 'random bytes',
      arbitrary: fc.tuple(fc.uint8Array({ maxLength: 2000 }), cuts),
      run: ([bytes, at]) => parsePackages(Buffer.from(bytes), at),
      runs: 1000,
      timeLimitMs: 2000,
    }));
});
