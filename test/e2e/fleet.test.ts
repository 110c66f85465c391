import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hardwareVariants, type HardwareVariant } from '../../src/install/hardware.js';
import { silentReporter } from '../../src/log/events.js';
import { build, type BuildResult } from '../../src/pipeline/build.js';
import { openPackageSource, repoSettingsOf } from '../../src/pipeline/packages.js';
import { resolve, resolveForKernel } from '../../src/pipeline/resolve.js';
import type { ResolvedProfile } from '../../src/profile/resolve.js';
import { bootTest } from '../../src/qemu/boot-test.js';
import type { TestShell } from '../../src/qemu/test-shell.js';

// One fleet image (hardware: auto) installed on QEMU machines that fake laptops through
// SMBIOS: each installed system carries its own model's quirks (kernel parameters, /etc
// files, firmware), an unknown model the generic description's, and each host name its serial.
const work = mkdtempSync(join(tmpdir(), 'bf-e2e-fleet-'));
const PROFILE = 'test/fixtures/profiles/fleet/fleet.yaml';
let profile: ResolvedProfile;
let built: BuildResult;
let variants: HardwareVariant[];

beforeAll(async () => {
  const first = resolve({ profile: PROFILE }).resolved;
  const source = openPackageSource(repoSettingsOf(first), {}, silentReporter);
  profile = await resolveForKernel({ profile: PROFILE }, first, source);
  variants = hardwareVariants(profile);
  built = await build({ profile, source, out: join(work, 'fleet') });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface FakeLaptop {
  readonly name: string;
  readonly system: Record<string, string>;
  readonly expect: string;
}

const LAPTOPS: readonly FakeLaptop[] = [
  {
    name: 'Framework 13 AMD',
    system: { manufacturer: 'Framework', product: 'Laptop 13 (AMD Ryzen 7040Series)', serial: 'FRANDACP01' },
    expect: 'framework-13-amd-7040',
  },
  {
    name: 'ThinkPad X1 Carbon Gen 11',
    system: {
      manufacturer: 'LENOVO',
      product: '21HMCTO1WW',
      version: 'ThinkPad X1 Carbon Gen 11',
      serial: 'PF4X1C11',
    },
    expect: 'thinkpad-x1-carbon-gen11',
  },
  {
    name: 'an unknown model',
    system: { manufacturer: 'Acme Corp.', product: 'Roadrunner 9000', serial: 'ACME-42' },
    expect: 'generic-x86_64',
  },
];

async function checkQuirks(shell: TestShell, laptop: FakeLaptop): Promise<void> {
  const mine = variants.find((v) => v.id === laptop.expect);
  if (!mine) throw new Error(`no variant ${laptop.expect}`);
  expect(await shell.succeed('cat /bootforge/state/machine.conf')).toContain(`\nHARDWARE=${laptop.expect}\n`);
  const cmdline = await shell.succeed('cat /proc/cmdline');
  for (const p of mine.params) expect(cmdline).toContain(p);
  for (const other of variants.filter((v) => v.id !== mine.id)) {
    const own = (q: string) => mine.params.includes(q) || profile.data.kernel.params.includes(q);
    for (const p of other.params.filter((q) => !own(q))) expect(cmdline).not.toContain(p);
  }
  const modprobe = [
    ...mine.blacklist.map((m) => `blacklist ${m}`),
    ...mine.modprobe.map((m) => `options ${m.module} ${m.options}`),
  ];
  if (modprobe.length > 0) {
    expect(await shell.succeed('cat /etc/modprobe.d/bootforge-hardware.conf')).toContain(modprobe.join('\n'));
  } else {
    await shell.succeed('test ! -e /etc/modprobe.d/bootforge-hardware.conf');
  }
  for (const f of mine.files) expect(await shell.succeed(`cat ${f.path}`)).toBe(f.content);
  for (const other of variants.filter((v) => v.id !== mine.id)) {
    for (const f of other.files.filter((x) => !mine.files.some((y) => y.path === x.path))) {
      await shell.succeed(`test ! -e ${f.path}`);
    }
  }
  // The model's firmware is installed (the image carries every candidate's).
  for (const q of profile.hardware.quirks.filter((x) => x.hardware === mine.id && x.kind === 'firmware')) {
    const glob = (q.data as { files: string[] }).files[0] ?? '**';
    await shell.succeed(`ls -d /usr/lib/firmware/${glob === '**' ? '*' : glob} >/dev/null`);
  }
}

describe('a fleet image', () => {
  it('detects each faked laptop at install time and applies its own quirks', async () => {
    expect(variants.map((v) => v.id)).toEqual(expect.arrayContaining(LAPTOPS.map((l) => l.expect)));
    const installOne = async (laptop: FakeLaptop) => {
      const result = await bootTest({
        image: built.image,
        profile,
        workDir: join(work, laptop.expect),
        accel: 'tcg',
        smbios: { system: laptop.system },
        script: (shell) => checkQuirks(shell, laptop),
      });
      expect(result.hostname).toBe(`fleet-${laptop.system.serial?.toLowerCase()}`);
      return result;
    };
    // Two machines at a time: a CI runner has two cores.
    const [a, b] = await Promise.all([installOne(LAPTOPS[0] as FakeLaptop), installOne(LAPTOPS[1] as FakeLaptop)]);
    const c = await installOne(LAPTOPS[2] as FakeLaptop);
    // Same image, same generation on every machine.
    expect(new Set([a.generation.id, b.generation.id, c.generation.id]).size).toBe(1);
  });
});
