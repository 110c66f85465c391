import { describe, expect, it } from 'vitest';
import { applyDebianConfiguration } from '../../../../src/install/debian/index.js';
import { BASE_FILES, configure, type TestPackage } from './debs.js';

const NM: TestPackage = {
  name: 'network-manager',
  files: { 'var/lib/NetworkManager/state': 'x', 'usr/sbin/NetworkManager': { content: 'ELF', mode: 0o755 } },
  postinst:
    '#!/bin/sh\nset -e\ncase "$1" in\n  configure)\n    addgroup --quiet --system netdev\n    chmod 0700 /var/lib/NetworkManager\n    ;;\nesac\n',
};

const BASE: TestPackage = {
  ...BASE_FILES,
  files: { ...BASE_FILES.files, 'var/run/.keep': '' },
  postinst: '#!/bin/sh\nset -e\nrm -f /var/run/.keep\nrmdir /var/run\nln -s /run /var/run\n',
};

describe('applying a Debian configuration to the tree', () => {
  it('removes, re-creates directories with new metadata, adds files and links', async () => {
    const config = await configure([BASE, NM]);
    const { tree, blobs } = config.system;
    await applyDebianConfiguration(tree, blobs, config, 1_700_000_000);
    expect(tree.get('/var/lib/NetworkManager')).toMatchObject({ type: 'dir', mode: 0o700 });
    expect(tree.get('/var/lib/NetworkManager/state')).toMatchObject({ type: 'file' });
    expect(tree.owner.get('/var/lib/NetworkManager/state')).toBe('network-manager');
    expect(tree.get('/var/run')).toMatchObject({ type: 'symlink', target: '/run' });
    expect(tree.get('/var/lib/dpkg/status')).toMatchObject({ type: 'file', mode: 0o644 });
    expect(tree.owner.get('/var/lib/dpkg/status')).toBe('bootforge');
    expect(
      (
        await blobs.get((tree.get('/usr/lib/sysusers.d/bootforge-maintscripts.conf') as { sha256: string }).sha256)
      ).toString(),
    ).toContain('g netdev -');
  });
});
