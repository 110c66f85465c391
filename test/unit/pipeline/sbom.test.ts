import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { TreeEntry } from '../../../src/fstree/types.js';
import type { UnpackedPackage } from '../../../src/packages/unpack.js';
import type { BuildManifest } from '../../../src/pipeline/build.js';
import type { PackageRef } from '../../../src/pipeline/packages.js';
import { debPurl, makeSbom, type SbomInput } from '../../../src/pipeline/sbom.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const COPYRIGHT =
  'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: LGPL-2.1+\n';
const meta = { mode: 0o644, uid: 0, gid: 0, mtime: 0 };
const file = (path: string, text: string): TreeEntry => ({
  ...meta,
  type: 'file',
  path,
  size: text.length,
  sha256: sha(text),
});
const link = (path: string, target: string): TreeEntry => ({ ...meta, type: 'symlink', path, target });

function pkg(name: string, version: string, entries: TreeEntry[], section = 'libs'): PackageRef & UnpackedPackage {
  return {
    name,
    version,
    architecture: 'amd64',
    suite: 'bookworm',
    filename: `pool/${name}.deb`,
    size: 1,
    sha256: sha(name),
    control: { Section: section, Maintainer: 'Jane Doe <jane@example.org>', Description: `${name}\n long` },
    controlFiles: {},
    entries,
  };
}

const base = pkg('libfoo-common', '1.0-1', [file('/usr/share/doc/libfoo-common/copyright', COPYRIGHT)], 'misc');
// Its doc folder is a link to the common package's, as Debian libraries often do.
const lib = pkg('libfoo1', '1:1.0+dfsg-1', [link('/usr/share/doc/libfoo1', 'libfoo-common')]);
const tool = pkg('footool', '2.0', [file('/usr/share/doc/footool/copyright', 'Written by someone. GPL.\n')], 'utils');

const manifest = {
  bootforge: '0.1.0',
  profile: 'demo',
  profileSha256: sha('profile'),
  hardware: { mode: 'fixed', ids: [] },
  lockSha256: sha('lock'),
  sourceDateEpoch: 1700000000,
  kernel: '6.1.0-1-amd64',
  payload: { sha256: sha('payload'), size: 1, uncompressedSize: 2, compression: 'zstd' },
  packages: {},
  artifacts: { 'installer.img': { sha256: sha('image'), size: 3 } },
  disk: { guid: '00000000-0000-0000-0000-000000000000', partitions: [] },
  generation: { number: 1, id: 'ab'.repeat(16), name: `${'ab'.repeat(16)}-demo`, path: '/x' },
} satisfies BuildManifest;

const all = [base, lib, tool];
const input: SbomInput = {
  manifest,
  closures: { system: [lib, base], installer: [tool, lib, base] },
  hardware: {},
  payloadHeaderSha256: sha('header'),
  unpacked: (ref) => all.find((p) => p.sha256 === ref.sha256),
  readBlob: (s) => Promise.resolve(Buffer.from(s === sha(COPYRIGHT) ? COPYRIGHT : 'Written by someone. GPL.\n')),
};

interface Out {
  serialNumber: string;
  metadata: { timestamp: string };
  components: {
    name: string;
    type: string;
    purl: string;
    licenses?: unknown;
    supplier?: unknown;
    properties: { name: string; value: string }[];
  }[];
}

describe('makeSbom', () => {
  it('lists each package once, with the closures it is in, sorted by name', async () => {
    const out = JSON.parse(await makeSbom(input)) as Out;
    expect(out.components.map((c) => c.name)).toEqual(['footool', 'libfoo-common', 'libfoo1']);
    const closures = (n: string) =>
      out.components
        .find((c) => c.name === n)
        ?.properties.filter((p) => p.name === 'bootforge:closure')
        .map((p) => p.value);
    expect(closures('libfoo1')).toEqual(['installer', 'system']);
    expect(closures('footool')).toEqual(['installer']);
    expect(out.components.map((c) => c.type)).toEqual(['application', 'application', 'library']);
    expect(out.components[0]?.supplier).toEqual({
      name: 'Jane Doe',
      contact: [{ name: 'Jane Doe', email: 'jane@example.org' }],
    });
    expect(out.metadata.timestamp).toBe('2023-11-14T22:13:20Z');
  });

  it("follows a linked doc folder to the copyright file, and leaves a free-form one's licenses out", async () => {
    const out = JSON.parse(await makeSbom(input)) as Out;
    const licenses = (n: string) => out.components.find((c) => c.name === n)?.licenses;
    expect(licenses('libfoo1')).toEqual([{ license: { id: 'LGPL-2.1-or-later' } }]);
    expect(licenses('libfoo-common')).toEqual([{ license: { id: 'LGPL-2.1-or-later' } }]);
    expect(licenses('footool')).toBeUndefined();
  });

  it('is the same bytes for the same inputs, and another serial number for others', async () => {
    const a = await makeSbom(input);
    expect(await makeSbom(input)).toBe(a);
    const other = await makeSbom({ ...input, payloadHeaderSha256: sha('other') });
    expect((JSON.parse(other) as Out).serialNumber).not.toBe((JSON.parse(a) as Out).serialNumber);
    expect((JSON.parse(a) as Out).serialNumber).toMatch(
      /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });
});

describe('debPurl', () => {
  it('keeps the epoch colon and percent-encodes the rest', () => {
    expect(debPurl(lib)).toBe('pkg:deb/debian/libfoo1@1:1.0%2Bdfsg-1?arch=amd64&distro=bookworm');
    expect(debPurl({ ...lib, name: 'libstdc++6' })).toMatch(/^pkg:deb\/debian\/libstdc%2B%2B6@/);
  });
  it('names the release, not the archive suite, as distro', () => {
    expect(debPurl({ ...lib, suite: 'bookworm-security' })).toMatch(/&distro=bookworm$/);
    expect(debPurl({ ...lib, suite: 'bookworm-updates' })).toMatch(/&distro=bookworm$/);
  });
});
