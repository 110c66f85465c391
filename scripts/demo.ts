// The README's main job, for now: build the demo installer and prove in QEMU (OVMF, TCG)
// that it boots through systemd-boot into the installer initrd. Issue 6 turns this into
// `bootforge test`, which also installs and boots the installed system.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlainReporter } from '../src/log/reporters.js';
import { build } from '../src/pipeline/build.js';
import { openPackageSource, repoSettingsOf } from '../src/pipeline/packages.js';
import { resolve } from '../src/pipeline/resolve.js';
import { freshUefiVars, startMachine } from '../src/qemu/machine.js';

const profilePath = process.argv[2] ?? 'profiles/minimal.yaml';
const t0 = performance.now();
const secs = () => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
const { resolved } = resolve({ profile: profilePath });
const source = openPackageSource(repoSettingsOf(resolved), {}, new PlainReporter((t) => void process.stderr.write(t)));
const result = await build({ profile: resolved, source });
console.log(`built ${result.image} (${(result.size / 2 ** 20).toFixed(0)} MiB) at ${secs()}`);

const dir = mkdtempSync(join(tmpdir(), 'bootforge-demo-'));
const vm = startMachine({
  accel: 'tcg',
  memoryMiB: 1024,
  uefi: { varsPath: freshUefiVars(dir) },
  disks: [{ path: result.image, interface: 'usb', readonly: true }],
  serialLog: join(dir, 'serial.log'),
});
try {
  await vm.console.waitFor(`Install ${resolved.name}`, 180_000, 'the systemd-boot menu');
  console.log(`systemd-boot menu on the serial console at ${secs()}`);
  await vm.console.waitFor(
    `bootforge: initrd ${resolved.name}-installer (installer) starting`,
    240_000,
    'the installer banner',
  );
  console.log(
    `installer initrd running at ${secs()}: the image boots from a USB stick under UEFI (serial log: ${join(dir, 'serial.log')})`,
  );
} finally {
  vm.kill();
}
