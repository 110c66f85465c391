import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';

interface ExplainJson {
  kernelCommandLine: { value: string; from?: string; why?: string }[];
  hardware: { quirks: { status: string; kind: string; value: string }[] };
  annotations: Record<string, { from: string }>;
}

async function explain(args: string[]): Promise<ExplainJson> {
  const r = await runCli(['explain', ...args, '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as ExplainJson;
}

describe('bootforge explain --json', () => {
  it('is stable for the minimal demo', async () => {
    await expect(JSON.stringify(await explain(['profiles/minimal.yaml']), null, 2)).toMatchFileSnapshot(
      '../../snapshots/explain-minimal.json',
    );
  });

  it('is stable for the workstation on a Framework 13 AMD with a 6.1 kernel', async () => {
    const out = await explain([
      'profiles/workstation.yaml',
      '--hardware',
      'framework-13-amd-7040',
      '--kernel-version',
      '6.1.0-28-amd64',
    ]);
    await expect(JSON.stringify(out, null, 2)).toMatchFileSnapshot('../../snapshots/explain-workstation-fw13amd.json');
  });

  it('says where every kernel parameter comes from, and why for hardware ones', async () => {
    const out = await explain([
      'profiles/workstation.yaml',
      '--hardware',
      'framework-13-amd-7040',
      '--kernel-version',
      '6.1.0',
    ]);
    for (const p of out.kernelCommandLine) {
      expect(p.from).toMatch(/^(profiles|hardware)\/[\w.-]+\.yaml:\d+:\d+$/);
      if (p.from?.startsWith('hardware/')) expect(p.why).toMatch(/https?:\/\//);
    }
    expect(out.kernelCommandLine.map((p) => p.value)).toContain('rtc_cmos.use_acpi_alarm=1');
    // Fixed upstream before this kernel, or not yet broken in it: listed as skipped, not applied.
    const sg = out.hardware.quirks.find((q) => q.value === 'amdgpu.sg_display=0');
    expect(sg?.status).toBe('skipped');
    expect(out.kernelCommandLine.map((p) => p.value)).not.toContain('amdgpu.sg_display=0');
  });

  it('annotates every value', async () => {
    const out = await explain(['profiles/minimal.yaml']);
    const from = Object.values(out.annotations).map((a) => a.from);
    expect(from.length).toBeGreaterThan(30);
    for (const f of from) expect(f).toMatch(/^(default.*|(profiles|hardware)\/[\w.-]+\.yaml:\d+:\d+)$/);
  });

  it('lists auto-detected candidates without merging their quirks at build time', async () => {
    const r = await runCli(['explain', 'profiles/workstation.yaml']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'hardware (detected at install time among): framework-13-amd-7040, framework-13-intel-13th',
    );
    const cmdline = r.stdout.split('kernel command line:\n')[1]?.split('\n\n')[0] ?? '';
    expect(cmdline).toContain('quiet');
    expect(cmdline).not.toContain('rtc_cmos');
    expect(r.stdout).toMatch(/\[pending\] framework-13-amd-7040 params: rtc_cmos.use_acpi_alarm=1/);
  });

  it('refuses a __proto__ key instead of reading the users under it (issue 15)', async () => {
    const profile = join(mkdtempSync(join(tmpdir(), 'bf-proto-')), 'p.yaml');
    writeFileSync(profile, 'name: p\n__proto__:\n  users: [{name: mallory, sudo: true}]\n');
    const r = await runCli(['explain', profile]);
    expect(r.code).toBe(2);
    expect(r.stdout).not.toContain('mallory');
    expect(r.stderr).toContain(':2:1: BF_YAML_RESERVED_KEY: key "__proto__"');
  });
});
