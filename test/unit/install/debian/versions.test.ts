import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { configureOrder } from '../../../../src/install/debian/order.js';
import { parseTemplates } from '../../../../src/install/debian/scripts/debconf.js';
import { versionRelation } from '../../../../src/install/debian/versions.js';
import { hasTool } from '../../../helpers/debrepo.js';

const VERSIONS = [
  '',
  '0',
  '1.0',
  '1.0-1',
  '1:0.9',
  '1.0~rc1',
  '1.0+b1',
  '245.4-4~',
  '252.38-1~deb12u1',
  '2.36-9+deb12u4',
  '1.0a',
];
const OPS = ['lt', 'le', 'eq', 'ne', 'ge', 'gt', 'lt-nl', 'le-nl', 'ge-nl', 'gt-nl'];

describe('dpkg --compare-versions', () => {
  it('treats an empty version (a first install) as older than any, except in the -nl forms', () => {
    expect(versionRelation('', 'lt', '245.4-4~')).toBe(true);
    expect(versionRelation('', 'lt-nl', '245.4-4~')).toBe(false);
    expect(versionRelation('', 'le-nl', '2.4.5~')).toBe(false);
    expect(versionRelation('', 'gt-nl', '1')).toBe(true);
  });

  it("agrees with the host's dpkg", async (ctx) => {
    if (!(await hasTool('dpkg'))) ctx.skip('dpkg is not installed');
    const disagreements: string[] = [];
    for (const a of VERSIONS) {
      for (const b of VERSIONS) {
        for (const op of OPS) {
          const host = spawnSync('dpkg', ['--compare-versions', a, op, b]).status === 0;
          if (versionRelation(a, op, b) !== host) disagreements.push(`${JSON.stringify(a)} ${op} ${JSON.stringify(b)}`);
        }
      }
    }
    expect(disagreements).toEqual([]);
  });
});

describe('configure order', () => {
  it('puts dependencies (and providers) first, keeping the given order otherwise', () => {
    const pkg = (name: string, control: Record<string, string> = {}) => ({
      name,
      control: { Package: name, ...control },
    });
    const order = configureOrder([
      pkg('adduser', { 'Pre-Depends': 'passwd' }),
      pkg('apt', { Depends: 'adduser, libc6 (>= 2.36) | libc6-udeb, awk' }),
      pkg('base-passwd'),
      pkg('libc6'),
      pkg('mawk', { Provides: 'awk' }),
      pkg('passwd', { Depends: 'base-passwd:any (>= 3.6)' }),
    ]).map((p) => p.name);
    expect(order).toEqual(['base-passwd', 'passwd', 'adduser', 'libc6', 'mawk', 'apt']);
  });
});

describe('debconf templates', () => {
  it('give each question its untranslated default', () => {
    expect(
      parseTemplates(
        'Template: a/q\nType: boolean\nDefault: true\nDescription: Allow?\n Long text.\nDescription-de.UTF-8: Erlauben?\n\nTemplate: a/s\nType: select\nChoices: x, y\nDescription: pick\n',
      ),
    ).toEqual([
      { name: 'a/q', type: 'boolean', default: 'true', description: 'Allow?' },
      { name: 'a/s', type: 'select', choices: 'x, y', description: 'pick' },
    ]);
  });
});
