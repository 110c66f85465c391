/**
 * The installer's progress watcher (initrd/lib-progress.sh.hbs), run under busybox sh with
 * only busybox's applets on PATH: a reader holds a file open at a known position, as dd
 * holds the payload partition, and the watcher reports it from /proc/<pid>/fdinfo.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { toolPath } from '../../../src/exec/run.js';
import { parseInstallerLine } from '../../../src/qemu/installer-events.js';
import { renderTemplate } from '../../../src/templates/render.js';
import { hostTool, initrdPath } from '../../helpers/fake-sysfs.js';

const work = mkdtempSync(join(tmpdir(), 'bootforge-progress-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const busyboxName = toolPath('busybox');
const BUSYBOX = busyboxName.includes('/') ? busyboxName : hostTool(busyboxName);
const HAVE = BUSYBOX !== null && spawnSync(BUSYBOX, ['sh', '-c', 'true']).status === 0;
const MiB = 1024 ** 2;

// The "partition": a 4 KiB header, then an 8 MiB payload.
const device = join(work, 'payload.part');
writeFileSync(device, '');
truncateSync(device, 4096 + 8 * MiB);

let counter = 0;
let path: string | undefined;
/**
 * Runs `script` after the library, with a log that prints like /init's (with the time since
 * the start, in hundredths of a second) and a 1 s interval. Times out if anything it started
 * still holds its output open.
 */
function run(script: string): { status: number | null; lines: string[]; stderr: string } {
  if (BUSYBOX === null) throw new Error('no busybox');
  const file = join(work, `script${++counter}.sh`);
  const prelude = [
    'bf_t0=$(cut -d" " -f1 /proc/uptime | tr -d .)',
    'log() { printf "%s bootforge: %s\\n" "$(($(cut -d" " -f1 /proc/uptime | tr -d .) - bf_t0))" "$*"; }',
    renderTemplate('initrd/lib-progress.sh.hbs', {}),
    'BF_PROGRESS_EVERY=1',
    `DEV='${device}'`,
  ].join('\n');
  writeFileSync(file, `${prelude}\n${script}\n`);
  const r = spawnSync(BUSYBOX, ['sh', file], {
    env: { PATH: (path ??= initrdPath(join(work, 'bin'), BUSYBOX, [])), LC_ALL: 'C' },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: r.status, lines: r.stdout.split('\n').filter((l) => l !== ''), stderr: r.stderr };
}

// A reader 3 MiB into the payload for N seconds: the sleep inherits the file and its position.
const reader = (seconds: number) =>
  `{ dd bs=4096 count=1 of=/dev/null 2>/dev/null; dd bs=1048576 count=3 of=/dev/null 2>/dev/null; sleep ${seconds}; } <"$DEV" &`;

describe.skipIf(!HAVE)('the progress watcher', () => {
  it('prints how far the reader is, about once a second here, and nothing once stopped', () => {
    const r = run(
      [
        reader(4),
        'bf_progress_start "[7/9] unpacking the system" "$DEV" 4096 8388608',
        'sleep 2.5',
        'sh -c "exit 7"',
        'bf_status=$?',
        'bf_progress_stop',
        'log "stopped $bf_status"',
        // Had anything survived the stop, it would print here (and hold stdout open).
        'sleep 2',
        'log end',
        'wait',
      ].join('\n'),
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const text = r.lines.map((l) => l.replace(/^\d+ /, ''));
    expect(text.slice(-2)).toEqual(['bootforge: stopped 7', 'bootforge: end']);
    const progress = text.slice(0, -2);
    expect(progress.length).toBeGreaterThanOrEqual(1);
    // At about 1 s and 2 s; the stop at 2.5 s returns at once (the reader would go on until 4 s).
    expect(progress.length).toBeLessThanOrEqual(2);
    expect(Number(r.lines.at(-2)?.split(' ')[0])).toBeLessThan(350);
    for (const line of progress) expect(line).toBe('bootforge: [7/9] unpacking the system: 37% (3/8 MiB)');
    // None before the first interval: a step shorter than that prints nothing.
    expect(Number(r.lines[0]?.split(' ')[0])).toBeGreaterThanOrEqual(90);
    expect(parseInstallerLine(progress[0] ?? '')).toEqual({
      kind: 'progress',
      step: 7,
      steps: 9,
      message: 'unpacking the system',
      done: 3 * MiB,
      total: 8 * MiB,
    });
  });

  it('prints nothing for a step shorter than the interval', () => {
    const r = run(
      [
        reader(0.3),
        'bf_reader=$!',
        'bf_progress_start "[3/9] verifying the payload" "$DEV" 4096 8388608',
        'wait "$bf_reader"',
        'bf_progress_stop',
        'log done',
      ].join('\n'),
    );
    expect(r.stderr).toBe('');
    expect(r.lines.map((l) => l.replace(/^\d+ /, ''))).toEqual(['bootforge: done']);
  });

  it('ends by itself when the reader is gone, and a stop after that is harmless', () => {
    const r = run(
      [
        reader(1.5),
        'bf_progress_start "[7/9] unpacking the system" "$DEV" 4096 8388608',
        'bf_watcher=$BF_PROGRESS_PID',
        'sleep 4',
        '[ -d /proc/$bf_watcher ] && log "watcher still running"',
        'bf_progress_stop',
        'log done',
      ].join('\n'),
    );
    expect(r.stderr).toBe('');
    const text = r.lines.map((l) => l.replace(/^\d+ /, ''));
    expect(text.at(-1)).toBe('bootforge: done');
    expect(text).not.toContain('bootforge: watcher still running');
    expect(text.length).toBeLessThanOrEqual(2);
  });

  it('waits for a reader that starts late, and clamps to the payload', () => {
    // Reads past the payload's end (9 MiB from the start of the partition): shown as all of it.
    const r = run(
      [
        '{ sleep 1.2; { dd bs=1048576 count=9 of=/dev/null 2>/dev/null; sleep 2; } <"$DEV"; } &',
        'bf_progress_start "[3/9] verifying the payload" "$DEV" 4096 8388608',
        'sleep 2.6',
        'bf_progress_stop',
        'wait',
      ].join('\n'),
    );
    expect(r.stderr).toBe('');
    expect(r.lines.map((l) => l.replace(/^\d+ /, ''))).toEqual([
      'bootforge: [3/9] verifying the payload: 100% (8/8 MiB)',
    ]);
  });
});
