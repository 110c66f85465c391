import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exampleBlock } from '../../helpers/markdown.js';

// docs/library.md shows regions of the QEMU test that imports bootforge as a package; the two stay identical.
const TEST = 'test/e2e/boot-test.test.ts';
const source = readFileSync(TEST, 'utf8');
const guide = readFileSync('docs/library.md', 'utf8');

/** The lines between `// #region <name>` and `// #endregion <name>`, without their common indentation. */
function region(text: string, name: string): string | undefined {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === `// #region ${name}`);
  const end = lines.findIndex((l) => l.trim() === `// #endregion ${name}`);
  if (start < 0 || end <= start) return undefined;
  const body = lines.slice(start + 1, end);
  const indent = Math.min(...body.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)?.[0].length ?? 0));
  return body.map((l) => l.slice(indent)).join('\n') + '\n';
}

describe('docs/library.md', () => {
  it.each(['library-example', 'library-example-test'])('shows region %s of the QEMU test as it is', (name) => {
    const code = region(source, name);
    expect(code).toBeDefined();
    expect(exampleBlock(guide, `${TEST}#${name}`)).toBe(code);
  });

  it('is about a test that imports the library by its package name', () => {
    expect(source).toMatch(/^} from 'bootforge';$/m);
    expect(JSON.parse(readFileSync('package.json', 'utf8'))).toMatchObject({
      name: 'bootforge',
      exports: { '.': './src/index.ts' },
    });
  });
});
