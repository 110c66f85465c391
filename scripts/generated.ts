// Writes generated files, or with --check only reports the stale ones (CI fails on a generated file out of date).
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

/** Writes each path whose text changed; with `check`, writes nothing and counts them. Returns the count of stale files. */
export function writeGenerated(files: ReadonlyMap<string, string>, check: boolean, regenerate: string): number {
  let stale = 0;
  for (const [path, text] of files) {
    let current = '';
    try {
      current = readFileSync(path, 'utf8');
    } catch {
      current = '';
    }
    if (current === text) continue;
    if (check) {
      console.error(`${path} is out of date: run ${regenerate}`);
      stale++;
    } else {
      writeFileSync(`${path}.tmp`, text);
      renameSync(`${path}.tmp`, path);
      console.log(`wrote ${path}`);
    }
  }
  return stale;
}
