import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { toolPath } from '../../../src/exec/run.js';
import { hardwareSearchPath, loadCatalog } from '../../../src/hardware/catalog.js';
import { matchAll, type DmiInfo } from '../../../src/hardware/match.js';
import { installStageContext } from '../../../src/install/installer.js';
import { resolve } from '../../../src/pipeline/resolve.js';
import { renderTemplate, shQuote, shQuoteList } from '../../../src/templates/render.js';

// The installer detects hardware with a shell port of bootforge's matcher. Both must
// agree on every bundled description, including vendor spelling variants.
const work = mkdtempSync(join(tmpdir(), 'bootforge-hwdetect-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const BUSYBOX = toolPath('busybox');
const haveBusybox = spawnSync(BUSYBOX, ['sh', '-c', 'true']).status === 0;

const catalog = loadCatalog(hardwareSearchPath([]));
writeFileSync(join(work, 'p.yaml'), `name: p\nhardware: auto\n`);
const rules = installStageContext(resolve({ profile: join(work, 'p.yaml') }).resolved).hardware.rules;
const table = rules
  .map(
    (r) =>
      `bf_hw_rule ${shQuote(r.id)}\n${r.fields.map((f) => `bf_hw_field ${shQuote(f.field)} ${shQuoteList(f.patterns)}`).join('\n')}\nbf_hw_done`,
  )
  .join('\n');
const lib = renderTemplate('initrd/lib-hardware.sh.hbs', {});

let n = 0;
function shellRanking(dmi: DmiInfo): string[] {
  const dir = join(work, `dmi${++n}`);
  mkdirSync(dir);
  for (const [k, v] of Object.entries(dmi)) writeFileSync(join(dir, k), `${v as string}\n`);
  const script = `${lib}\nbf_hw_reset\n${table}\nbf_hw_ranked\n`;
  const r = spawnSync(BUSYBOX, ['sh', '-c', script], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', BF_DMI_DIR: dir, BF_HW_MATCHES: join(dir, 'matches') },
    encoding: 'utf8',
  });
  expect(r.stderr).toBe('');
  return r.stdout.split('\n').filter((l) => l !== '');
}

const tsRanking = (dmi: DmiInfo) => matchAll(catalog, dmi).map((m) => `${m.score} ${m.description.id}`);

// A machine for each rule of each description: its patterns with the globs filled in.
const machines: [string, DmiInfo][] = catalog.flatMap((d) =>
  d.data.match.map((rule, i): [string, DmiInfo] => {
    const dmi: Record<string, string> = {};
    for (const [field, want] of Object.entries(rule)) {
      const first = Array.isArray(want) ? want[0] : want;
      if (first !== undefined) dmi[field] = first.replace(/\*/g, 'X1').replace(/\?/g, 'Z');
    }
    return [`${d.id} rule ${i}`, dmi];
  }),
);

describe('hardware detection in the installer', () => {
  it.for(machines)('ranks like the build-time matcher: %s', ([, dmi], ctx) => {
    if (!haveBusybox) ctx.skip('busybox not installed');
    expect(shellRanking(dmi)).toEqual(tsRanking(dmi));
    expect(shellRanking(dmi).length).toBeGreaterThan(0);
  });

  it.for<[string, DmiInfo]>([
    [
      'vendor in capitals with a corporate suffix',
      { sys_vendor: 'FRAMEWORK COMPUTER INC.', product_name: 'Laptop 13 (AMD Ryzen 7040Series)' },
    ],
    ['Dell without the dot', { sys_vendor: 'Dell Inc', product_name: 'XPS 13 9320' }],
    [
      'Lenovo in lower case',
      { sys_vendor: 'lenovo', product_name: '21HMCTO1WW', product_version: 'ThinkPad X1 Carbon Gen 11' },
    ],
    ['an unknown machine', { sys_vendor: 'Acme Corp.', product_name: 'Roadrunner 9000' }],
    ['no DMI at all', {}],
  ])('and the same on %s', ([, dmi], ctx) => {
    if (!haveBusybox) ctx.skip('busybox not installed');
    expect(shellRanking(dmi)).toEqual(tsRanking(dmi));
  });

  it('keeps DMI values and patterns as data', (ctx) => {
    if (!haveBusybox) ctx.skip('busybox not installed');
    const canary = join(work, 'canary');
    expect(shellRanking({ sys_vendor: `$(touch ${canary})`, product_name: '`touch x`; *' })).toEqual([]);
    expect(spawnSync('test', ['-e', canary]).status).not.toBe(0);
  });
});
