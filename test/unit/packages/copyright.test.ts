import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { declaredLicenses, dep5Licenses, spdxId } from '../../../src/packages/copyright.js';

const DEP5 = `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: example
Source: https://example.org

Files: *
Copyright: 2001 Someone
License: GPL-2+

Files: lib/*
Copyright: 2002 Someone Else
License: Expat
 Permission is hereby granted, free of charge, ...
 .
 The above copyright notice ...

Files: contrib/*
Copyright: 2003 A Third
License: GPL-2+ with OpenSSL exception

Files: debian/*
Copyright: 2004 The Maintainer
License:   GPL-2+

License: GPL-2+
 This program is free software; ...
`;

describe('dep5Licenses', () => {
  it('collects the short names of the Files paragraphs, once each, sorted', () => {
    expect(dep5Licenses(DEP5)).toEqual(['Expat', 'GPL-2+', 'GPL-2+ with OpenSSL exception']);
    expect(dep5Licenses(DEP5.replace(/\n/g, '\r\n'))).toEqual(['Expat', 'GPL-2+', 'GPL-2+ with OpenSSL exception']);
  });

  it('reads nothing from a free-form copyright file', () => {
    const prose = 'This package was debianized by Someone.\n\nLicense: GPL-2\n\nFiles: *\nLicense: MIT\n';
    expect(dep5Licenses(prose)).toBeUndefined();
    expect(declaredLicenses(prose)).toBeUndefined();
    expect(declaredLicenses('')).toBeUndefined();
  });
});

describe('spdxId', () => {
  it.each([
    ['GPL-2', 'GPL-2.0-only'],
    ['GPL-2+', 'GPL-2.0-or-later'],
    ['LGPL-2.1+', 'LGPL-2.1-or-later'],
    ['lgpl-3', 'LGPL-3.0-only'],
    ['AGPL-3+', 'AGPL-3.0-or-later'],
    ['GFDL-1.3+', 'GFDL-1.3-or-later'],
    ['Expat', 'MIT'],
    ['BSD-3-clause', 'BSD-3-Clause'],
    ['Apache-2', 'Apache-2.0'],
    ['public-domain', undefined],
    ['GPL', undefined],
    ['GPL-2+ with OpenSSL exception', undefined],
    ['BSD-3-clause or GPL-2', undefined],
  ])('%s -> %s', (short, id) => expect(spdxId(short)).toBe(id));

  it('gives only ids of the SPDX license list (as CycloneDX 1.5 ships it)', () => {
    const dir = dirname(createRequire(import.meta.url).resolve('@cyclonedx/cyclonedx-library/package.json'));
    const ids = new Set(
      (JSON.parse(readFileSync(join(dir, 'res/schema/spdx.SNAPSHOT.schema.json'), 'utf8')) as { enum: string[] }).enum,
    );
    const names = [
      'Apache-1.0',
      'Apache-1.1',
      'Apache-2.0',
      'Apache-2',
      'Artistic-2.0',
      'BSD-2-clause',
      'BSD-4-clause',
    ];
    names.push('BSL-1.0', 'CC0-1.0', 'CC-BY-3.0', 'CC-BY-4.0', 'CC-BY-SA-3.0', 'CC-BY-SA-4.0', 'curl', 'ISC', 'MIT');
    names.push('MPL-1.1', 'MPL-2.0', 'OFL-1.1', 'OpenSSL', 'Python-2.0', 'Unlicense', 'X11', 'Zlib', 'ZPL-2.1');
    for (const v of ['1', '2', '3']) names.push(`GPL-${v}`, `GPL-${v}+`);
    for (const v of ['2', '2.1', '3']) names.push(`LGPL-${v}`, `LGPL-${v}+`);
    for (const v of ['1.1', '1.2', '1.3']) names.push(`GFDL-${v}`, `GFDL-${v}+`);
    names.push('AGPL-3', 'AGPL-3+');
    for (const n of names) expect(ids.has(spdxId(n) ?? `none for ${n}`), n).toBe(true);
  });
});

describe('declaredLicenses', () => {
  it('gives SPDX ids where they exist and names otherwise', () => {
    expect(declaredLicenses(DEP5)).toEqual([
      { id: 'MIT' },
      { id: 'GPL-2.0-or-later' },
      { name: 'GPL-2+ with OpenSSL exception' },
    ]);
  });
});
