import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BUNDLED_HARDWARE_DIR, loadCatalog, loadHardwareFile } from '../../../src/hardware/catalog.js';
import { matchAll } from '../../../src/hardware/match.js';
import { runCli } from '../../helpers/cli.js';
import { exampleBlock } from '../../helpers/markdown.js';

// The worked example of docs/hardware-descriptions.md is this fixture, and a valid description.
const FIXTURE = 'test/fixtures/hardware/acme-roadrunner-14-gen2.yaml';
const guide = readFileSync('docs/hardware-descriptions.md', 'utf8');

describe('docs/hardware-descriptions.md worked example', () => {
  it('is byte-identical to the fixture', () => {
    expect(exampleBlock(guide, FIXTURE)).toBe(readFileSync(FIXTURE, 'utf8'));
  });

  it('loads with the real loader, with every quirk explained', () => {
    const d = loadHardwareFile(FIXTURE);
    expect(d.id).toBe('acme-roadrunner-14-gen2');
    const { params, initrdModules, modules, blacklist, modprobe, firmware, packages, files } = d.data;
    const quirks = [params, initrdModules, modules, blacklist, modprobe, firmware, packages, files].flat();
    expect(quirks.length).toBeGreaterThan(15);
    expect(quirks.filter((q) => typeof q === 'string' || q.why === undefined)).toEqual([]);
  });

  it('matches both vendor spellings and the board rule, and beats the generic fallback', () => {
    const catalog = [...loadCatalog([BUNDLED_HARDWARE_DIR]), loadHardwareFile(FIXTURE)];
    const best = (dmi: Record<string, string>) => matchAll(catalog, dmi).map((m) => [m.description.id, m.score]);
    expect(best({ sys_vendor: 'ACME Corp.', product_name: 'Roadrunner 14 Gen 2 RR14G2-16A' })).toEqual([
      ['acme-roadrunner-14-gen2', 2],
    ]);
    expect(best({ sys_vendor: 'Acme Corporation', product_name: 'ROADRUNNER 14 GEN 2' })).toEqual([
      ['acme-roadrunner-14-gen2', 2],
    ]);
    expect(best({ sys_vendor: 'Default string', board_vendor: 'ACME', board_name: 'RR14G2-MB' })).toEqual([
      ['acme-roadrunner-14-gen2', 2],
    ]);
    expect(best({ sys_vendor: 'Acme Corporation', product_name: 'Roadrunner 15 Gen 1' })).toEqual([]);
  });

  it('passes bootforge validate with the demo profile, as the guide shows', async () => {
    const r = await runCli([
      'validate',
      'profiles/minimal.yaml',
      '--hardware',
      'acme-roadrunner-14-gen2',
      '--hardware-dir',
      'test/fixtures/hardware',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('fixed hardware: acme-roadrunner-14-gen2');
  });
});
