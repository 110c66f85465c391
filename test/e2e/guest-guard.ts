// The QEMU tier's guard (vitest globalSetup): every guest a test starts is gone when the tier ends.
// vitest kills only its workers, so a guest a test forgot is re-parented to init and keeps burning
// a core; this finds any QEMU that was not running before the tier, ends it and fails the run.
import { readdirSync, readFileSync } from 'node:fs';

function qemuProcesses(): Map<number, string> {
  const found = new Map<number, string>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (!readFileSync(`/proc/${name}/comm`, 'utf8').startsWith('qemu-system')) continue;
      found.set(Number(name), readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ').trim());
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

let before = new Set<number>();

export function setup(): void {
  before = new Set(qemuProcesses().keys());
}

export function teardown(): void {
  const leaked = [...qemuProcesses()].filter(([pid]) => !before.has(pid));
  if (leaked.length === 0) return;
  for (const [pid] of leaked) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  console.error(
    `QEMU guests outlived their tests (now killed):\n${leaked.map(([pid, cmd]) => `  ${pid}: ${cmd.slice(0, 300)}`).join('\n')}`,
  );
  // A thrown teardown error does not change vitest's exit status; this does.
  process.exitCode = 1;
}
