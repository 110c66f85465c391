import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BUNDLED_HARDWARE_DIR, loadCatalog } from '../../../src/hardware/catalog.js';
import { cacheRoot } from '../../../src/packages/cache.js';
import { runCli } from '../../helpers/cli.js';
import { exampleBlock } from '../../helpers/markdown.js';

// docs/ci.md shows docs/examples/github-actions.yml; this keeps both true to the CLI.
const WORKFLOW = 'docs/examples/github-actions.yml';
const text = readFileSync(WORKFLOW, 'utf8');

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
}
interface Workflow {
  jobs: Record<string, { 'timeout-minutes': number; env: Record<string, string>; steps: Step[] }>;
}
const job = Object.values((parse(text) as Workflow).jobs)[0];
const steps = job?.steps ?? [];
const runs = steps.flatMap((s) => (s.run ?? '').split('\n')).filter((l) => l !== '');
const bootforge = runs.filter((l) => l.startsWith('./bin/bootforge '));

describe('docs/examples/github-actions.yml', () => {
  it('is the workflow docs/ci.md shows, byte for byte', () => {
    expect(exampleBlock(readFileSync('docs/ci.md', 'utf8'), WORKFLOW)).toBe(text);
  });

  it('sets up the host with the repository script and runs bootforge test with --accel auto and --json', () => {
    expect(runs).toContain('sudo env "PATH=$PATH" bash scripts/setup-host.sh');
    expect(existsSync('scripts/setup-host.sh')).toBe(true);
    expect(bootforge).toEqual([
      './bin/bootforge test profiles/minimal.yaml --hardware qemu-x86_64 --accel auto --json > bootforge-test.json',
    ]);
    expect(job?.['timeout-minutes']).toBeGreaterThanOrEqual(30);
    expect(job?.env.BOOTFORGE_MIRROR).toMatch(/^\$\{\{ vars\.[A-Z_]+ \}\}$/); // never a host name
  });

  it('uses only options, profiles and hardware ids that exist', async () => {
    const help = (await runCli(['test', '--help'])).stdout;
    for (const line of bootforge) {
      const argv = (line.split(' > ')[0] ?? '').split(' ').slice(1);
      expect(argv[0]).toBe('test');
      expect(existsSync(argv[1] ?? '')).toBe(true);
      for (const option of argv.filter((a) => a.startsWith('--'))) expect(help).toContain(`${option} `);
      const ids = loadCatalog([BUNDLED_HARDWARE_DIR]).map((d) => d.id);
      expect(ids).toContain(argv[argv.indexOf('--hardware') + 1]);
      expect(help).toMatch(/--accel <accel>.*auto/);
    }
  });

  it("caches bootforge's default cache folder and uploads the serial logs of the default work folder", () => {
    const cache = steps.find((s) => s.uses?.startsWith('actions/cache@'));
    expect(String(cache?.with?.path).replace(/^~/, homedir())).toBe(cacheRoot(undefined, {}));
    const upload = steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'));
    expect(upload?.if).toBe('always()');
    // bootforge test writes install.log and boot.log to <out>/test, out/<profile name> by default.
    expect(String(upload?.with?.path).split('\n')).toEqual(
      expect.arrayContaining(['bootforge-test.json', 'out/minimal/test/*.log']),
    );
  });
});
