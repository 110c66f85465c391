import { describe, expect, it } from 'vitest';
import { BootforgeError } from '../../../src/errors/index.js';
import { parsePackageRequest, resolveClosure, type ResolveOptions } from '../../../src/packages/resolve.js';
import type { PackageRecord } from '../../../src/packages/types.js';
import { Universe } from '../../../src/packages/universe.js';

function rec(name: string, version: string, extra: Partial<PackageRecord> = {}): PackageRecord {
  return {
    name,
    version,
    architecture: 'amd64',
    essential: false,
    filename: `pool/main/${name}_${version}_amd64.deb`,
    size: 1000,
    sha256: '0'.repeat(64),
    suite: 'bookworm',
    component: 'main',
    uri: 'http://mirror.test/debian',
    ...extra,
  };
}

function closure(records: PackageRecord[], requests: string[], options: ResolveOptions = {}): string[] {
  return resolveClosure(new Universe(records), requests.map(parsePackageRequest), options).map(
    (p) => `${p.record.name}=${p.record.version}`,
  );
}

function failure(fn: () => unknown): BootforgeError {
  try {
    fn();
  } catch (e) {
    return e as BootforgeError;
  }
  throw new Error('expected an error');
}

describe('resolveClosure', () => {
  it('follows Depends and Pre-Depends', () => {
    const u = [
      rec('app', '1', { depends: 'libfoo (>= 2), libbar', preDepends: 'libpre' }),
      rec('libfoo', '2.1', { depends: 'libc6' }),
      rec('libbar', '1'),
      rec('libpre', '1'),
      rec('libc6', '2.36'),
      rec('unrelated', '1'),
    ];
    expect(closure(u, ['app'])).toEqual(['app=1', 'libbar=1', 'libc6=2.36', 'libfoo=2.1', 'libpre=1']);
  });

  it('takes the highest version across suites, even when the security suite has an older one', () => {
    const u = [
      rec('tool', '2.0-1', { suite: 'bookworm' }),
      rec('tool', '1.9-1+deb12u1', { suite: 'bookworm-security' }),
      rec('tool', '2.0-1+deb12u1', { suite: 'bookworm-updates' }),
    ];
    expect(closure(u, ['tool'])).toEqual(['tool=2.0-1+deb12u1']);
  });

  it('honours versioned constraints with dpkg ordering (epochs, tildes)', () => {
    const u = [rec('lib', '1:1.0'), rec('lib', '2.0'), rec('app', '1', { depends: 'lib (>= 1:0.9~rc1)' })];
    expect(closure(u, ['app'])).toEqual(['app=1', 'lib=1:1.0']);
    expect(closure([rec('px', '2.0~rc1'), rec('px', '1.9')], ['px (<< 2.0~)'])).toEqual(['px=1.9']);
    expect(closure([rec('px', '2.0'), rec('px', '1.9')], ['px=1.9'])).toEqual(['px=1.9']);
  });

  it('explains an unsatisfiable constraint with the versions there are', () => {
    const e = failure(() =>
      closure([rec('app', '1', { depends: 'lib (>= 3)' }), rec('lib', '2', { suite: 'bookworm' })], ['app']),
    );
    expect(e.code).toBe('BF_PACKAGE_UNSATISFIABLE');
    expect(e.message).toBe('app 1 needs lib (>= 3); available: 2 (bookworm)');
  });

  it('names both sides when a later constraint rejects an earlier choice', () => {
    const u = [
      rec('pa', '1', { depends: 'lib' }),
      rec('pb', '1', { depends: 'lib (<< 2)' }),
      rec('lib', '2'),
      rec('lib', '1'),
    ];
    const e = failure(() => closure(u, ['pa', 'pb']));
    expect(e.message).toBe('pb 1 needs lib (<< 2), but lib 2 was already chosen (pa depends on lib)');
    expect(closure(u, ['lib (<< 2)', 'pa', 'pb'])).toEqual(['lib=1', 'pa=1', 'pb=1']);
  });

  it('ranks providers of a virtual package by priority, as apt picks mawk for awk', () => {
    const u = [
      rec('gawk', '5.2', { provides: 'awk', priority: 'optional' }),
      rec('mawk', '1.3.4', { provides: 'awk', priority: 'required' }),
      rec('original-awk', '2012', { provides: 'awk', priority: 'optional' }),
      rec('script', '1', { depends: 'awk' }),
    ];
    expect(closure(u, ['script'])).toEqual(['mawk=1.3.4', 'script=1']);
    expect(closure(u, ['script'], { prefer: ['gawk'] })).toEqual(['gawk=5.2', 'script=1']);
    // A provider already in the closure meets the dependency.
    expect(closure(u, ['original-awk', 'script'])).toEqual(['original-awk=2012', 'script=1']);
  });

  it('honours versioned Provides', () => {
    const u = [rec('impl', '3', { provides: 'api (= 2.5)' }), rec('user', '1', { depends: 'api (>= 2)' })];
    expect(closure(u, ['user'])).toEqual(['impl=3', 'user=1']);
    expect(failure(() => closure([...u, rec('user2', '1', { depends: 'api (>= 3)' })], ['user2'])).code).toBe(
      'BF_PACKAGE_NOT_FOUND',
    );
  });

  it('takes the first alternative that exists, unless another is already chosen', () => {
    const u = [rec('app', '1', { depends: 'missing | second | third' }), rec('second', '1'), rec('third', '1')];
    expect(closure(u, ['app'])).toEqual(['app=1', 'second=1']);
    expect(closure(u, ['third', 'app'])).toEqual(['app=1', 'third=1']);
  });

  it('adds Essential packages and a priority when asked', () => {
    const u = [
      rec('app', '1'),
      rec('bash', '5', { essential: true }),
      rec('mawk', '1', { priority: 'required' }),
      rec('vim', '9', { priority: 'optional' }),
    ];
    expect(closure(u, ['app'])).toEqual(['app=1']);
    expect(closure(u, ['app'], { essential: true })).toEqual(['app=1', 'bash=5']);
    expect(closure(u, ['app'], { essential: true, priorities: ['required'] })).toEqual(['app=1', 'bash=5', 'mawk=1']);
  });

  it('survives dependency cycles', () => {
    const u = [
      rec('pa', '1', { depends: 'pb' }),
      rec('pb', '1', { depends: 'pc' }),
      rec('pc', '1', { preDepends: 'pa' }),
    ];
    expect(closure(u, ['pa'])).toEqual(['pa=1', 'pb=1', 'pc=1']);
  });

  it('strips :any and refuses foreign architectures', () => {
    const u = [
      rec('py', '3.11', { multiArch: 'allowed' }),
      rec('tool', '1', { depends: 'py:any' }),
      rec('px', '1', { depends: 'lib:i386' }),
      rec('lib', '1'),
    ];
    expect(closure(u, ['tool'])).toEqual(['py=3.11', 'tool=1']);
    expect(failure(() => closure(u, ['px'])).code).toBe('BF_PACKAGE_UNSATISFIABLE');
  });

  it('suggests a name for a missing package', () => {
    const e = failure(() => closure([rec('openssh-server', '1')], ['opensh-server']));
    expect(e.code).toBe('BF_PACKAGE_NOT_FOUND');
    expect(e.hint).toBe('did you mean "openssh-server"?');
  });

  it('reports Conflicts and Breaks inside the closure, but not Breaks on other versions', () => {
    const u = [
      rec('pa', '1', { conflicts: 'pb' }),
      rec('pb', '1'),
      rec('pc', '1', { breaks: 'pd (<< 2)' }),
      rec('pd', '2'),
      rec('pe', '1', { breaks: 'pd (<< 3)' }),
    ];
    const e = failure(() => closure(u, ['pa', 'pb']));
    expect(e.code).toBe('BF_PACKAGE_CONFLICT');
    expect(e.message).toContain('pa 1 conflicts with pb 1 (requested)');
    expect(closure(u, ['pc', 'pd'])).toEqual(['pc=1', 'pd=2']);
    expect(failure(() => closure(u, ['pe', 'pd'])).message).toContain('pe 1 breaks pd 2');
  });

  it('treats a Conflicts on a virtual name as a conflict with its other providers, not with itself', () => {
    const u = [
      rec('postfix', '3', { provides: 'mail-transport-agent', conflicts: 'mail-transport-agent' }),
      rec('exim4', '4', { provides: 'mail-transport-agent', conflicts: 'mail-transport-agent' }),
    ];
    expect(closure(u, ['postfix'])).toEqual(['postfix=3']);
    expect(failure(() => closure(u, ['postfix', 'exim4'])).code).toBe('BF_PACKAGE_CONFLICT');
  });

  it('records why each package is there', () => {
    const r = resolveClosure(new Universe([rec('app', '1', { depends: 'lib (>= 1)' }), rec('lib', '1')]), [
      { name: 'app' },
    ]);
    expect(r.map((p) => [p.record.name, p.reason])).toEqual([
      ['app', 'requested'],
      ['lib', 'app depends on lib (>= 1)'],
    ]);
  });
});

describe('parsePackageRequest', () => {
  it.each([
    ['vim', { name: 'vim' }],
    ['vim=2:9.0-1', { name: 'vim', op: '=', version: '2:9.0-1' }],
    ['busybox-static (>= 1:1.35)', { name: 'busybox-static', op: '>=', version: '1:1.35' }],
  ])('reads %s', (spec, want) => expect(parsePackageRequest(spec)).toEqual(want));
  it('refuses garbage', () => expect(() => parsePackageRequest('a b c')).toThrow(BootforgeError));
});
