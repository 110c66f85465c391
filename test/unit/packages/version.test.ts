import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BootforgeError } from '../../../src/errors/index.js';
import type { VersionOp } from '../../../src/packages/types.js';
import {
  compareVersions,
  parseRelationList,
  parseRelations,
  parseVersion,
  satisfies,
} from '../../../src/packages/version.js';

const realVersions = readFileSync('test/fixtures/packages/real-versions.txt', 'utf8')
  .split('\n')
  .filter((line) => line !== '' && !line.startsWith('#'))
  .sort();

type Pair = readonly [string, string];

// Versions dpkg refuses with an error, not a warning. None starts with "-", which dpkg would read as an
// option, and "" is missing: dpkg --compare-versions reads it as "no version" rather than refusing it.
const DPKG_REFUSES = ['   ', '1 0', '1.0-', '1:', ':1', 'a:1', '1.2:3', '1.0-1:2', '2147483648:1', '1:-1', '0:'];

// [a, b, sign of compareVersions(a, b)]; the dpkg block below checks these too.
const HAND_PICKED: readonly (readonly [string, string, -1 | 0 | 1])[] = [
  ['1.0~rc1', '1.0', -1],
  ['1.0~rc1', '1.0~rc2', -1],
  ['1.0~~', '1.0~', -1],
  ['1.0~', '1.0', -1],
  ['1.0', '1.0+b1', -1],
  ['1.0-1~bpo12+1', '1.0-1', -1],
  ['1.0-1~bpo11+1', '1.0-1~bpo12+1', -1],
  ['252.39-1~deb12u2', '252.39-1', -1],
  ['1:0', '9.9', 1],
  ['0:1.0', '1.0', 0],
  ['2:1.0', '10:0.1', -1],
  ['20081126:1.03-4', '15:12.2.rel1-1', 1],
  ['2.30-1', '2.30-1+deb12u1', -1],
  ['2.30-1+deb12u1', '2.30-2', -1],
  ['2.36-9+deb12u4', '2.36-9+deb12u10', -1],
  ['1.2.3a', '1.2.3+b1', -1],
  ['1.2.3a', '1.2.3', 1],
  ['1.2.3', '1.2.3.0', -1],
  ['1.0a', '1.0B', 1],
  ['1.0.', '1.0a', 1],
  ['1.0-a', '1.0-1', 1],
  ['1.0', '1.00', 0],
  ['1.01', '1.1', 0],
  ['1.002', '1.10', -1],
  ['1.0', '1.0-0', 0],
  ['1.0-0', '1.0-00', 0],
  ['1.0', '1.0-1', -1],
  ['1.0-1', '1.0-1.1', -1],
  ['1.0-2-3', '1.0-2-4', -1],
  ['1.0-10-1', '1.0-9-2', 1],
  ['1:2:3', '1:2.3', 1],
  ['1.0+~', '1.0+', -1],
  ['1.0+~0.1-1', '1.0+dfsg-1', -1],
  // 2^53 + 1 against 2^53: equal as Numbers, not as digit runs.
  ['1.9007199254740993', '1.9007199254740992', 1],
  ['1.99999999999999999999', '1.100000000000000000000', -1],
  ['1.000000000000000000000000001', '1.1', 0],
  // dpkg warns about these but orders them; so do we.
  ['abc', 'abd', -1],
  ['1.0_1', '1.1', -1],
  ['1:2.0-1:3', '1:2.0-1.3', 1],
  [' 1.0\t', '1.0', 0],
];

describe('compareVersions', () => {
  it.each(HAND_PICKED)('%j against %j is %d', (a, b, sign) => {
    expect(Math.sign(compareVersions(a, b))).toBe(sign);
    expect(Math.sign(compareVersions(b, a))).toBe(0 - sign);
  });

  it('refuses what is not a version', () => {
    for (const bad of ['', '1 0', '1.0-', 'a:1']) {
      expect(() => compareVersions(bad, '1.0')).toThrow(BootforgeError);
      expect(() => compareVersions('1.0', bad)).toThrow(`"${bad}" is not a Debian version`);
    }
  });

  it('orders the fixture consistently: reflexive, antisymmetric, transitive', () => {
    for (const a of realVersions) {
      expect(compareVersions(a, a)).toBe(0);
      for (const b of realVersions) {
        if (compareVersions(a, b) !== -compareVersions(b, a)) expect.fail(`${a} and ${b} are not antisymmetric`);
      }
    }
    const sorted = [...realVersions].sort(compareVersions);
    for (let i = 0; i < sorted.length; i++) {
      for (let j = i + 1; j < sorted.length; j++) {
        if (compareVersions(sorted[i] ?? '', sorted[j] ?? '') > 0)
          expect.fail(`${sorted[i]} sorts before ${sorted[j]}`);
      }
    }
  });
});

describe('parseVersion', () => {
  it.each([
    ['1:2.36-9+deb12u4', { epoch: 1, upstream: '2.36', revision: '9+deb12u4' }],
    ['2.36', { epoch: 0, upstream: '2.36', revision: '' }],
    ['1.0-2-3', { epoch: 0, upstream: '1.0-2', revision: '3' }],
    ['1:2:3', { epoch: 1, upstream: '2:3', revision: '' }],
    ['00001:1.0', { epoch: 1, upstream: '1.0', revision: '' }],
    ['2147483647:1', { epoch: 2147483647, upstream: '1', revision: '' }],
    ['  1.0\t', { epoch: 0, upstream: '1.0', revision: '' }],
    ['1.0-1~bpo12+1', { epoch: 0, upstream: '1.0', revision: '1~bpo12+1' }],
    // Only a warning for dpkg: upstream should start with a digit.
    ['abc', { epoch: 0, upstream: 'abc', revision: '' }],
  ])('reads %j', (v, parsed) => expect(parseVersion(v)).toEqual(parsed));

  // dpkg's parser refuses "" and "-1" too, though its command line cannot show it (see DPKG_REFUSES).
  it.each([...DPKG_REFUSES, '', '-1'])('refuses %j as dpkg does', (v) => expect(parseVersion(v)).toBeUndefined());

  // dpkg takes these with at most a warning: a sign before the epoch (strtol), control characters,
  // and non-ASCII, which it orders by UTF-8 bytes.
  it.each(['+1:1.0', '-0:1.0', '1.0\n', 'é', '1.0\u00a0'])('refuses %j, stricter than dpkg', (v) =>
    expect(parseVersion(v)).toBeUndefined(),
  );
});

describe('satisfies', () => {
  const table: readonly (readonly [string, VersionOp, string, boolean])[] = [
    ['1.0', '<<', '1.1', true],
    ['1.1', '<<', '1.1', false],
    ['1.1~rc1', '<<', '1.1', true],
    ['1.0', '<=', '1.0-0', true],
    ['1.1', '<=', '1.0', false],
    ['1.0', '=', '1.00', true],
    ['1.0', '=', '1.0-1', false],
    ['1:1.0', '=', '1.0', false],
    ['2.36-9+deb12u4', '>=', '2.34', true],
    ['2.34~', '>=', '2.34', false],
    ['1.0+b1', '>>', '1.0', true],
    ['1.0', '>>', '1.0', false],
  ];
  it.each(table)('%j %s %j is %s', (version, op, want, expected) =>
    expect(satisfies(version, op, want)).toBe(expected),
  );
});

describe('parseRelations', () => {
  it('reads systemd Pre-Depends and Depends', () => {
    const preDepends = parseRelations(
      'libblkid1 (>= 2.24), libc6 (>= 2.34), libcap2 (>= 1:2.10), libgcrypt20 (>= 1.10.0), liblz4-1 (>= 0.0~r122), liblzma5 (>= 5.1.1alpha+20120614), libmount1 (>= 2.30), libselinux1 (>= 3.1~), libssl3 (>= 3.0.0), libzstd1 (>= 1.5.2)',
    );
    expect(preDepends).toHaveLength(10);
    expect(preDepends[2]).toEqual([{ name: 'libcap2', op: '>=', version: '1:2.10' }]);
    expect(preDepends[5]).toEqual([{ name: 'liblzma5', op: '>=', version: '5.1.1alpha+20120614' }]);
    const depends = parseRelations(
      'libacl1 (>= 2.2.23), libaudit1 (>= 1:2.2.1), libblkid1 (>= 2.24.2), libcryptsetup12 (>= 2:2.4), libfdisk1 (>= 2.33), libkmod2 (>= 15), libp11-kit0 (>= 0.23.18.1), libseccomp2 (>= 2.3.1), libsystemd-shared (= 252.39-1~deb12u2), libsystemd0 (= 252.39-1~deb12u2), mount',
    );
    expect(depends.map((g) => g.map((r) => r.name))).toEqual([
      ['libacl1'],
      ['libaudit1'],
      ['libblkid1'],
      ['libcryptsetup12'],
      ['libfdisk1'],
      ['libkmod2'],
      ['libp11-kit0'],
      ['libseccomp2'],
      ['libsystemd-shared'],
      ['libsystemd0'],
      ['mount'],
    ]);
    expect(depends[10]).toEqual([{ name: 'mount' }]);
  });

  it('reads alternatives and :any (python3-build, apt)', () => {
    expect(
      parseRelations(
        'python3-importlib-metadata | python3 (>> 3.8), python3-packaging, python3-pep517 (>= 0.9), python3-tomli | python3 (>> 3.11), python3:any, python3-toml, python3-wheel',
      ),
    ).toEqual([
      [{ name: 'python3-importlib-metadata' }, { name: 'python3', op: '>>', version: '3.8' }],
      [{ name: 'python3-packaging' }],
      [{ name: 'python3-pep517', op: '>=', version: '0.9' }],
      [{ name: 'python3-tomli' }, { name: 'python3', op: '>>', version: '3.11' }],
      [{ name: 'python3', arch: 'any' }],
      [{ name: 'python3-toml' }],
      [{ name: 'python3-wheel' }],
    ]);
    expect(parseRelations('adduser, gpgv | gpgv2 | gpgv1, libapt-pkg6.0 (>= 2.6.1)')[1]).toEqual([
      { name: 'gpgv' },
      { name: 'gpgv2' },
      { name: 'gpgv1' },
    ]);
  });

  it('reads an architecture qualifier with a version (crossbuild-essential-amd64, git)', () => {
    expect(
      parseRelations(
        'gcc-x86-64-linux-gnu (>= 4:10.2) | gcc:amd64, g++-x86-64-linux-gnu (>= 4:10.2) | g++:amd64, dpkg-cross',
      )[1],
    ).toEqual([
      { name: 'g++-x86-64-linux-gnu', op: '>=', version: '4:10.2' },
      { name: 'g++', arch: 'amd64' },
    ]);
    expect(parseRelations('perl, liberror-perl, git-man (>> 1:2.39.5), git-man (<< 1:2.39.5-.)')[3]).toEqual([
      { name: 'git-man', op: '<<', version: '1:2.39.5-.' },
    ]);
    expect(parseRelations('python3:any (>= 3.9~)')).toEqual([
      [{ name: 'python3', arch: 'any', op: '>=', version: '3.9~' }],
    ]);
  });

  it('reads folded fields, loose spacing and the obsolete operators', () => {
    expect(parseRelations('libc6 (>= 2.34),\n libfoo (>=\n 1.0) |\n\tlibbar ,libbaz( =1:2.3-4 )')).toEqual([
      [{ name: 'libc6', op: '>=', version: '2.34' }],
      [{ name: 'libfoo', op: '>=', version: '1.0' }, { name: 'libbar' }],
      [{ name: 'libbaz', op: '=', version: '1:2.3-4' }],
    ]);
    // dpkg still reads "<" as "<=", ">" as ">=", and a bare version as "=".
    expect(parseRelations('a (< 1.0), b (> 2), c (1.0)')).toEqual([
      [{ name: 'a', op: '<=', version: '1.0' }],
      [{ name: 'b', op: '>=', version: '2' }],
      [{ name: 'c', op: '=', version: '1.0' }],
    ]);
    expect(parseRelations('')).toEqual([]);
    expect(parseRelations(' \n ')).toEqual([]);
  });

  it('drops alternatives restricted away from amd64', () => {
    // Debian policy 7.1's own example: on amd64 this means foo.
    expect(parseRelations('foo [!i386] | bar [!amd64]')).toEqual([[{ name: 'foo' }]]);
    expect(parseRelations('foo [i386] | bar, baz [i386 armel]')).toEqual([[{ name: 'bar' }]]);
    expect(
      parseRelations(
        'a [linux-any], b [any-amd64], c [kfreebsd-any], d [any-i386], e [arm64 amd64], f [any], g (>= 1) [!hurd-any]',
      ).map((g) => g.map((r) => r.name)),
    ).toEqual([['a'], ['b'], ['e'], ['f'], ['g']]);
  });

  it('keeps what applies with no build profile active', () => {
    expect(
      parseRelations('a <!nocheck>, b <nocheck>, c <stage1 !cross> <!stage1>, d [amd64] <!nocheck>, e <stage1>').map(
        (g) => g.map((r) => r.name),
      ),
    ).toEqual([['a'], ['c'], ['d']]);
  });

  it('reads libc6 Breaks as a list', () => {
    const breaks = parseRelationList(
      'aide (<< 0.17.3-4+b3), busybox (<< 1.30.1-6), chrony (<< 4.2-3~), fakechroot (<< 2.19-3.5), firefox (<< 91~), firefox-esr (<< 91~), gnumach-image-1.8-486 (<< 2:1.8+git20210923~), gnumach-image-1.8-486-dbg (<< 2:1.8+git20210923~), gnumach-image-1.8-xen-486 (<< 2:1.8+git20210923~), gnumach-image-1.8-xen-486-dbg (<< 2:1.8+git20210923~), hurd (<< 1:0.9.git20220301-2), ioquake3 (<< 1.36+u20200211.f2c61c1~dfsg-2~), iraf-fitsutil (<< 2018.07.06-4), libgegl-0.4-0 (<< 0.4.18), libtirpc1 (<< 0.2.3), locales (<< 2.36), locales-all (<< 2.36), macs (<< 2.2.7.1-3~), nocache (<< 1.1-1~), nscd (<< 2.36), openarena (<< 0.8.8+dfsg-4~), openssh-server (<< 1:8.1p1-5), python3-iptables (<< 1.0.0-2), r-cran-later (<< 0.7.5+dfsg-2), tinydns (<< 1:1.05-14), valgrind (<< 1:3.19.0-1~), wcc (<< 0.0.2+dfsg-3)',
    );
    expect(breaks).toHaveLength(27);
    expect(breaks[6]).toEqual({ name: 'gnumach-image-1.8-486', op: '<<', version: '2:1.8+git20210923~' });
    expect(breaks[21]).toEqual({ name: 'openssh-server', op: '<<', version: '1:8.1p1-5' });
    expect(parseRelationList('systemd-sysusers (= 252.39-1~deb12u2), systemd-tmpfiles (= 252.39-1~deb12u2)')).toEqual([
      { name: 'systemd-sysusers', op: '=', version: '252.39-1~deb12u2' },
      { name: 'systemd-tmpfiles', op: '=', version: '252.39-1~deb12u2' },
    ]);
    expect(parseRelationList('consolekit, libpam-ck-connector [!amd64], systemd-shim')).toEqual([
      { name: 'consolekit' },
      { name: 'systemd-shim' },
    ]);
  });

  it('names the field and the broken relation', () => {
    expect(errorOf(() => parseRelations('libc6 (>= 2.34), foo (>= )'))).toMatchObject({
      code: 'BF_INVALID_VALUE',
      message: 'cannot read "foo (>= )" in the relation field "libc6 (>= 2.34), foo (>= )": the version is missing',
    });
    expect(errorOf(() => parseRelationList('a | b'))?.message).toBe(
      'cannot read "a | b" in the relation field "a | b": this field allows no alternatives ("|")',
    );
  });

  it.each([
    ['foo (>= 1.0', '")" must follow the version'],
    ['foo (>< 1)', '"><" is not an operator'],
    ['foo (=> 1.0)', '">" is not a Debian version'],
    ['foo (>= 1:)', '"1:" is not a Debian version'],
    ['foo (>= 1 0)', '")" must follow the version'],
    ['Foo', 'package names are lower-case'],
    ['(>= 1.0)', 'a package name is missing'],
    ['.foo', 'package names are lower-case'],
    ['foo_bar', 'package names are lower-case'],
    ['foo bar', '"bar" is not expected there'],
    ['foo:', 'an architecture name must follow ":"'],
    ['a,, b', 'a group is empty'],
    ['a, b,', 'a group is empty'],
    ['a | | b', 'an alternative is empty'],
    ['foo [amd64 !i386]', 'must negate all its names or none'],
    ['foo [amd64', '"[" has no "]"'],
    ['foo []', 'the architecture list is empty'],
    ['foo [AMD64]', '"AMD64" is not an architecture name'],
    ['foo <>', 'a build profile list is empty'],
    ['foo <!nocheck', '"<" has no ">"'],
    ['foo (>= 1.0) bar', '"bar" is not expected there'],
  ])('refuses %j', (field, why) => {
    const error = errorOf(() => parseRelations(field));
    expect(error).toBeInstanceOf(BootforgeError);
    expect(error?.code).toBe('BF_INVALID_VALUE');
    expect(error?.message).toContain(`in the relation field "${field}": `);
    expect(error?.message).toContain(why);
  });
});

function errorOf(run: () => unknown): BootforgeError | undefined {
  try {
    run();
  } catch (e) {
    if (e instanceof BootforgeError) return e;
    throw e;
  }
  return undefined;
}

// --- Against the real dpkg ---------------------------------------------------

const hasDpkg = spawnSync('dpkg', ['--version'], { stdio: 'ignore' }).status === 0;

/** A small seeded generator (mulberry32), so the pairs are the same on every run. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * About 450 pairs: each run of dpkg costs a process, 5-15 ms on a busy machine. Neighbours by name
 * (0.0~git20150106 and 0.0~git20150709) are the near misses; random pairs cross epochs and families.
 */
function fixturePairs(): Pair[] {
  const at = (i: number): string => realVersions[i] ?? '';
  const pairs: Pair[] = [];
  for (let i = 1; i < realVersions.length; i += 2) pairs.push([at(i - 1), at(i)]);
  const random = seededRandom(0x5eed);
  for (let i = 0; i < 150; i++) {
    pairs.push([at(Math.floor(random() * realVersions.length)), at(Math.floor(random() * realVersions.length))]);
  }
  for (let i = 0; i < realVersions.length; i += 20) pairs.push([at(i), at(i)]);
  // Spelled differently, equal by value (0.02.01-1 and 0.2.1-1): chosen by our order, judged by dpkg's.
  for (const a of realVersions) {
    for (const b of realVersions) if (a < b && compareVersions(a, b) === 0) pairs.push([a, b]);
  }
  return pairs;
}

// dpkg's full answer for each pair: <, = or >, and ! when it refuses a version.
const ANSWER_SCRIPT = `
while [ "$#" -gt 1 ]; do
  dpkg --compare-versions "$1" lt "$2"; lt=$?
  if [ "$lt" -eq 0 ]; then echo '<'
  elif [ "$lt" -ne 1 ]; then echo '!'
  elif dpkg --compare-versions "$1" eq "$2"; then echo '='
  else echo '>'
  fi
  shift 2
done`;

// lt, eq and gt exclude each other, so asking dpkg to confirm our answer settles a pair in one
// run instead of two; spawning dpkg is what the test spends its time on. Prints dpkg's exit status.
const CONFIRM_SCRIPT = `
while [ "$#" -gt 2 ]; do
  dpkg --compare-versions "$2" "$1" "$3"; echo "$?"
  shift 3
done`;

function runShell(script: string, args: readonly string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', script, 'sh', ...args], {
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { ...process.env, LC_ALL: 'C' },
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('close', () => resolve(out.split('\n').filter((line) => line !== '')));
  });
}

/** Runs `script` on `items` (each a few arguments), one shell per 100 items, all at once; one output line per item. */
async function inBatches(script: string, items: readonly (readonly string[])[]): Promise<string[]> {
  const batches: (readonly string[])[][] = [];
  for (let i = 0; i < items.length; i += 100) batches.push(items.slice(i, i + 100));
  const outputs = await Promise.all(batches.map((batch) => runShell(script, batch.flat())));
  return outputs.flat();
}

const DPKG_OPERATOR = { [-1]: 'lt', 0: 'eq', 1: 'gt' } as const;

describe.skipIf(!hasDpkg)(`against dpkg --compare-versions${hasDpkg ? '' : ' (skipped: dpkg is not on PATH)'}`, () => {
  it('agrees on every pair from the real index and every hand-picked pair', { timeout: 60_000 }, async () => {
    const pairs = [...fixturePairs(), ...HAND_PICKED.map(([a, b]): Pair => [a, b])];
    expect(pairs.length).toBeGreaterThanOrEqual(300);
    const ours = pairs.map(([a, b]) => Math.sign(compareVersions(a, b)) as -1 | 0 | 1);
    const statuses = await inBatches(
      CONFIRM_SCRIPT,
      pairs.map(([a, b], i) => [DPKG_OPERATOR[ours[i] ?? 0], a, b]),
    );
    expect(statuses).toHaveLength(pairs.length);
    const refuted = pairs.filter((_, i) => statuses[i] !== '0');
    const dpkgSays = await inBatches(ANSWER_SCRIPT, refuted);
    const disagreements = refuted.map(
      ([a, b], i) => `${a} vs ${b}: dpkg ${dpkgSays[i]}, ours ${compareVersions(a, b)}`,
    );
    expect(disagreements).toEqual([]);
  });

  it('refuses what dpkg refuses', async () => {
    const answers = await inBatches(
      ANSWER_SCRIPT,
      DPKG_REFUSES.map((v) => [v, '1.0']),
    );
    expect(answers).toEqual(DPKG_REFUSES.map(() => '!'));
  });
});
