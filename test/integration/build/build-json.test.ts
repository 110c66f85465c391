import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// bootforge build --json: the result on stdout, and on stderr nothing but JSON lines
// (one event each), with progress kept to two events a second per task plus the last.
const work = mkdtempSync(join(tmpdir(), 'bf-build-json-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Event {
  time: string;
  type: string;
  id?: string;
  done?: number;
  total?: number;
}

describe('bootforge build --json', () => {
  it(
    'writes only JSON events on stderr and the result on stdout',
    () => {
      const out = join(work, 'minimal');
      const r = spawnSync(
        join(process.cwd(), 'bin/bootforge'),
        ['build', 'profiles/minimal.yaml', '--out', out, '--json'],
        {
          encoding: 'utf8',
          env: { ...process.env, NO_COLOR: '1' },
        },
      );
      expect(r.status, r.stderr).toBe(0);
      const result = JSON.parse(r.stdout) as { image: string; sha256: string };
      expect(result.image).toBe(join(out, 'installer.img'));
      expect(result.sha256).toMatch(/^[0-9a-f]{64}$/);

      expect(r.stderr.endsWith('\n')).toBe(true);
      const events = r.stderr
        .slice(0, -1)
        .split('\n')
        .map((line) => JSON.parse(line) as Event);
      for (const e of events) {
        expect(Number.isNaN(Date.parse(e.time)), JSON.stringify(e)).toBe(false);
        expect(['step', 'warning', 'download', 'downloaded', 'progress']).toContain(e.type);
      }
      expect(events.filter((e) => e.type === 'step').length).toBeGreaterThan(5);

      // The long tasks report; each run of a task (an id may be used again after its
      // run ended) ends with done === total, and its events before that are throttled.
      const progress = events.filter((e) => e.type === 'progress');
      const ids = new Set(progress.map((e) => e.id));
      for (const id of ['unpack', 'initrd:installer', 'initrd:generation', 'payload', 'image'])
        expect(ids).toContain(id);
      const isFinal = (e: Event) => (e.total ?? 0) > 0 && e.done === e.total;
      for (const id of ids) {
        const runs: Event[][] = [[]];
        for (const e of progress.filter((p) => p.id === id)) {
          runs.at(-1)?.push(e);
          if (isFinal(e)) runs.push([]);
        }
        expect(runs.pop(), `${id} ended`).toEqual([]);
        for (const run of runs) {
          expect(run.filter(isFinal), id).toHaveLength(1);
          const times = run.slice(0, -1).map((e) => Date.parse(e.time));
          for (let i = 1; i < times.length; i++)
            expect((times[i] ?? 0) - (times[i - 1] ?? 0), id).toBeGreaterThanOrEqual(500);
        }
      }
    },
    10 * 60_000,
  );
});
