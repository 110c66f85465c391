import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const INVALID_DIR = 'test/fixtures/invalid';

export interface InvalidFixture {
  readonly name: string;
  readonly argv: string[];
  readonly expectedPath: string;
}

/** Each folder of test/fixtures/invalid: its CLI arguments (file `args`, default: validate profile.yaml) and expected stderr. */
export function invalidFixtures(): InvalidFixture[] {
  return readdirSync(INVALID_DIR)
    .sort()
    .map((name) => {
      const dir = join(INVALID_DIR, name);
      const argsFile = join(dir, 'args');
      const argv = existsSync(argsFile)
        ? readFileSync(argsFile, 'utf8')
            .split('\n')
            .filter((l) => l !== '')
        : ['validate', join(dir, 'profile.yaml')];
      return { name, argv, expectedPath: join(dir, 'expected.txt') };
    });
}
