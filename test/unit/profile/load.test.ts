import { describe, expect, it } from 'vitest';
import { loadProfile } from '../../../src/profile/load.js';
import { resolveProfile } from '../../../src/profile/resolve.js';

const DIR = 'test/fixtures/profiles/diamond';

describe('loadProfile', () => {
  const loaded = loadProfile(`${DIR}/top.yaml`);

  it('reads a diamond of extends with each file once, parents first', () => {
    expect(loaded.files.map((f) => f.slice(f.lastIndexOf('/') + 1))).toEqual([
      'root.yaml',
      'left.yaml',
      'right.yaml',
      'top.yaml',
    ]);
  });

  it('appends lists in order without duplicates and merges keyed list items', () => {
    expect(loaded.data.kernel.params).toEqual(['quiet', 'loglevel=3', 'nowatchdog']);
    expect(loaded.data.users).toEqual([
      expect.objectContaining({ name: 'alice', shell: '/bin/bash', groups: ['sudo'], sudo: false }),
    ]);
  });

  it('lets a plain value beat !default and takes the top file name', () => {
    expect(loaded.data.system.timezone).toBe('Europe/Berlin');
    expect(loaded.data.name).toBe('top');
  });

  it('fills defaults', () => {
    expect(loaded.data.kernel.package).toBe('linux-image-amd64');
    expect(loaded.data.disk.layout.esp.size).toBe(512 * 2 ** 20);
    expect(loaded.data.installer).toEqual({ mode: 'confirm', after: 'reboot', rescueShell: false });
  });

  it('annotates every resolved value with where it was set', () => {
    const resolved = resolveProfile(loaded, { mode: 'fixed', ids: [], quirks: [] });
    expect(resolved.origins['system.timezone']).toBe(`${DIR}/right.yaml:6:13`);
    expect(resolved.origins['kernel.params[1]']).toBe(`${DIR}/left.yaml:4:12`);
    expect(resolved.origins['users[0].shell']).toBe(`${DIR}/top.yaml:7:22`);
    expect(resolved.origins['kernel.package']).toBe('default');
    expect(resolved.data.system.hostname).toBe('top-host');
  });

  it('loads the starter profiles', () => {
    for (const name of ['base', 'minimal', 'workstation']) {
      expect(loadProfile(`profiles/${name}.yaml`).data.name).toBe(name);
    }
  });
});
