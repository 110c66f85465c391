import { describe, expect, it } from 'vitest';
import type { HardwareDescription } from '../../../src/hardware/catalog.js';
import { globMatches, matchAll, normalizeDmi, ruleScore } from '../../../src/hardware/match.js';
import { HardwareSchema } from '../../../src/hardware/schema.js';
import { parseLocated } from '../../../src/yaml/located.js';

function description(id: string, match: unknown[]): HardwareDescription {
  const data = HardwareSchema.parse({ id, description: id, match });
  return { id, file: `${id}.yaml`, tree: parseLocated('{}', `${id}.yaml`).root, data, sources: new Map() };
}

describe('DMI matching', () => {
  it.each([
    ['LENOVO', 'Lenovo'],
    ['Dell Inc.', 'Dell Inc'],
    ['Dell Inc.', 'dell'],
    ['Hewlett-Packard', 'HP'],
    ['Framework', 'Framework Computer Inc.'],
    ['  ASUSTeK COMPUTER INC. ', 'asustek'],
  ])('vendor %j matches pattern %j', (value, pattern) => {
    expect(globMatches('sys_vendor', pattern, value)).toBe(true);
  });

  it('does not fold spelling of product names beyond case and spaces', () => {
    expect(normalizeDmi('product_name', '  Laptop 13  (AMD Ryzen 7040Series) ')).toBe(
      'laptop 13 (amd ryzen 7040series)',
    );
    expect(globMatches('product_name', 'Laptop 13 (AMD*', 'Laptop 13 (AMD Ryzen 7040Series)')).toBe(true);
    expect(globMatches('product_name', 'Laptop 13 (AMD*', 'Laptop 16 (AMD Ryzen 7040 Series)')).toBe(false);
  });

  it('treats glob metacharacters only as globs', () => {
    expect(globMatches('product_name', 'XPS 13 9320', 'XPS 13 9320')).toBe(true);
    expect(globMatches('product_name', 'a.c', 'abc')).toBe(false);
    expect(globMatches('product_name', '21H[MN]*', '21HM0012US')).toBe(false); // [] is literal, not a class
  });

  it('needs every field of a rule and scores by the number of fields', () => {
    const dmi = { sys_vendor: 'LENOVO', product_name: '21HMCTO1WW', product_version: 'ThinkPad X1 Carbon Gen 11' };
    expect(ruleScore({ sys_vendor: 'Lenovo', product_version: 'ThinkPad X1 Carbon Gen 11' }, dmi)).toBe(2);
    expect(ruleScore({ sys_vendor: 'Lenovo', product_name: ['21HM*', '21HN*'] }, dmi)).toBe(2);
    expect(ruleScore({ sys_vendor: 'Lenovo', board_name: '21HM*' }, dmi)).toBe(0);
  });

  it('ranks the more specific description first', () => {
    const dmi = { sys_vendor: 'Framework', product_name: 'Laptop 13 (AMD Ryzen 7040Series)', board_name: 'FRANMDCP07' };
    const vendorOnly = description('framework-any', [{ sys_vendor: 'Framework' }]);
    const model = description('framework-13-amd', [
      { sys_vendor: 'Framework', product_name: 'Laptop 13 (AMD Ryzen 7040*' },
    ]);
    const other = description('dell', [{ sys_vendor: 'Dell Inc.' }]);
    expect(matchAll([vendorOnly, other, model], dmi).map((m) => [m.description.id, m.score])).toEqual([
      ['framework-13-amd', 2],
      ['framework-any', 1],
    ]);
  });
});
