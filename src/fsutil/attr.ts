import { readFileSync } from 'node:fs';

/** A sysfs (or /proc) attribute without its trailing newline; undefined when missing, unreadable or empty. */
export function readAttr(file: string): string | undefined {
  try {
    const v = readFileSync(file, 'utf8').trim();
    return v === '' ? undefined : v;
  } catch {
    return undefined;
  }
}
