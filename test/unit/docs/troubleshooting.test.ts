import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderTroubleshooting } from '../../../scripts/docs/troubleshooting.js';
import { CATALOGUE } from '../../../src/errors/index.js';

const page = readFileSync('docs/troubleshooting.md', 'utf8');
const codes = Object.keys(CATALOGUE);

describe('docs/troubleshooting.md', () => {
  it('has a section for every code of the catalogue, in catalogue order', () => {
    const headings = [...page.matchAll(/^### (BF_[A-Z_]+)$/gm)].map((m) => m[1]);
    expect([...headings].sort()).toEqual([...codes].sort());
    expect(headings.filter((c) => CATALOGUE[c as keyof typeof CATALOGUE].kind === 'input')).toEqual(
      codes.filter((c) => CATALOGUE[c as keyof typeof CATALOGUE].kind === 'input'),
    );
  });

  it('is what scripts/write-docs.ts renders now (run npx tsx scripts/write-docs.ts)', () => {
    expect(page).toBe(renderTroubleshooting());
  });

  it('explains every code and shows a typical message for it', () => {
    const sections = page.split(/^### /m).slice(1);
    const missing = sections.flatMap((s) =>
      [...s.matchAll(/_No (explanation|typical message) yet/g)].map((m) => `${s.split('\n')[0]}: ${m[1]}`),
    );
    expect(missing).toEqual([]);
  });
});
