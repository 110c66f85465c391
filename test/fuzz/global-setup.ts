/**
 * Collects what each fuzz worker ran and prints one line per parser and a total,
 * so CI's log says how many cases the tier ran.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

interface Entry {
  readonly parser: string;
  readonly runs: number;
  /** The worker's peak resident memory when the property ended, in bytes. */
  readonly peakRss: number;
}

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'bootforge-fuzz-'));
  project.provide('fuzzStatsDir', dir);
  const started = Date.now();
  return () => {
    const entries = readdirSync(dir).flatMap((f) =>
      readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Entry),
    );
    rmSync(dir, { recursive: true, force: true });
    // One line per parser and the total, for CI's log (eslint allows no console.log).
    process.stdout.write(`${summary(entries, (Date.now() - started) / 1000)}\n`);
  };
}

function summary(entries: readonly Entry[], seconds: number): string {
  const perParser = new Map<string, number>();
  for (const e of entries) perParser.set(e.parser, (perParser.get(e.parser) ?? 0) + e.runs);
  const total = [...perParser.values()].reduce((a, b) => a + b, 0);
  const lines = [...perParser].sort(([a], [b]) => a.localeCompare(b)).map(([p, n]) => `fuzz: ${p}: ${fmt(n)} cases`);
  const peak = Math.max(0, ...entries.map((e) => e.peakRss));
  lines.push(
    `fuzz: ${fmt(total)} cases in ${Math.round(seconds)} s across ${perParser.size} parsers; ` +
      `peak worker memory ${Math.round(peak / 2 ** 20)} MiB`,
  );
  return lines.join('\n');
}

const fmt = (n: number): string => n.toLocaleString('en-US');
