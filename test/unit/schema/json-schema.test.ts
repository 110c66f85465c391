import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { jsonSchemas, renderSchema } from '../../../src/pipeline/schemas.js';

const schemas = jsonSchemas();
const ajv = new Ajv2020({ allErrors: true, strict: false });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
const profile = ajv.compile(schemas['profile.schema.json'] as object);
const hardware = ajv.compile(schemas['hardware.schema.json'] as object);
const yamlFile = (path: string): unknown => parse(readFileSync(path, 'utf8'), { customTags: tagsAsPlain });

// Editors see !default and !override as custom tags; the schema describes the value under them.
const tagsAsPlain = ['!default', '!override'].flatMap((tag) =>
  (['scalar', 'seq', 'map'] as const).map((nodeClass) => ({
    tag,
    collection: nodeClass === 'scalar' ? undefined : nodeClass,
    // A tagged plain scalar reads as the untagged one would ("!default false" is a boolean).
    resolve: (v: unknown) => (typeof v === 'string' ? (parse(v) as unknown) : v),
    identify: () => false,
  })),
) as never;

describe('published JSON Schemas', () => {
  it('are the ones the source generates (run npm run schema after changing a schema)', () => {
    for (const [name, schema] of Object.entries(schemas)) {
      expect(readFileSync(`schema/${name}`, 'utf8'), name).toBe(renderSchema(schema));
    }
  });

  it.each(readdirSync('profiles').filter((f) => f.endsWith('.yaml')))('accept profiles/%s', (f) => {
    expect(profile(yamlFile(`profiles/${f}`)), JSON.stringify(profile.errors)).toBe(true);
  });

  it.each(readdirSync('hardware').filter((f) => f.endsWith('.yaml')))('accept hardware/%s', (f) => {
    expect(hardware(yamlFile(`hardware/${f}`)), JSON.stringify(hardware.errors)).toBe(true);
  });

  it.each([
    ['an unknown key', { name: 'x', sytem: {} }],
    ['a bad hostname pattern', { name: 'x', system: { hostname: 'a_b' } }],
    ['a number where a mode string belongs', { name: 'x', files: [{ path: '/a', content: '', mode: 644 }] }],
    ['an unknown enum value', { name: 'x', installer: { after: 'halt' } }],
    ['a bad size', { name: 'x', disk: { layout: { esp: { size: '1 lot' } } } }],
    ['a missing name', { system: {} }],
  ])('reject a profile with %s', (_what, value) => {
    expect(profile(value)).toBe(false);
  });
});
