/**
 * The licenses a Debian package declares in /usr/share/doc/<pkg>/copyright, read
 * only when the file is machine-readable (DEP-5,
 * https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/). A free-form
 * copyright file gives no licenses: guessing from prose would put wrong ones in an SBOM.
 */
import { field, parseStanzas } from './deb822.js';

/** A declared license: an SPDX id when the short name maps to one, else the name as written. */
export type DeclaredLicense = { readonly id: string } | { readonly name: string };

/**
 * The distinct `License:` short names of the Files paragraphs, sorted; undefined when
 * the file has no `Format:` header (not machine-readable).
 */
export function dep5Licenses(text: string): string[] | undefined {
  const [header, ...rest] = parseStanzas(text.replace(/\r\n/g, '\n'));
  if (header === undefined || field(header, 'Format') === undefined) return undefined;
  const names = new Set<string>();
  for (const stanza of rest) {
    if (field(stanza, 'Files') === undefined) continue;
    // The first line is the short name; the lines after it, when present, are the license text.
    const short = (field(stanza, 'License') ?? '').split('\n')[0]?.trim().replace(/\s+/g, ' ');
    if (short) names.add(short);
  }
  return [...names].sort();
}

// DEP-5 short names (its "License specification" table) whose SPDX id is one name for one license.
const SPDX_OF: Readonly<Record<string, string>> = {
  'apache-1.0': 'Apache-1.0',
  'apache-1.1': 'Apache-1.1',
  'apache-2.0': 'Apache-2.0',
  // Debian's own files often write Apache 2.0 so.
  'apache-2': 'Apache-2.0',
  'artistic-2.0': 'Artistic-2.0',
  'bsd-2-clause': 'BSD-2-Clause',
  'bsd-3-clause': 'BSD-3-Clause',
  'bsd-4-clause': 'BSD-4-Clause',
  'bsl-1.0': 'BSL-1.0',
  'cc0-1.0': 'CC0-1.0',
  'cc-by-3.0': 'CC-BY-3.0',
  'cc-by-4.0': 'CC-BY-4.0',
  'cc-by-sa-3.0': 'CC-BY-SA-3.0',
  'cc-by-sa-4.0': 'CC-BY-SA-4.0',
  curl: 'curl',
  expat: 'MIT',
  isc: 'ISC',
  mit: 'MIT',
  'mpl-1.1': 'MPL-1.1',
  'mpl-2.0': 'MPL-2.0',
  'ofl-1.1': 'OFL-1.1',
  openssl: 'OpenSSL',
  'python-2.0': 'Python-2.0',
  unlicense: 'Unlicense',
  x11: 'X11',
  zlib: 'Zlib',
  'zpl-2.1': 'ZPL-2.1',
};

// GNU licenses: DEP-5 writes "GPL-2" / "GPL-2+", SPDX "GPL-2.0-only" / "GPL-2.0-or-later".
const GNU = /^(a?gpl|lgpl|gfdl)-(\d+(?:\.\d+)?)(\+?)$/i;

/** The SPDX id of a DEP-5 short name, or undefined when it has none (exceptions, alternatives, unknown). */
export function spdxId(short: string): string | undefined {
  const gnu = GNU.exec(short);
  if (gnu) {
    const [, family = '', version = '', plus] = gnu;
    const full = version.includes('.') ? version : `${version}.0`;
    return `${family.toUpperCase()}-${full}-${plus ? 'or-later' : 'only'}`;
  }
  return SPDX_OF[short.toLowerCase()];
}

/** The licenses of a copyright file, or undefined when it declares none machine-readably. */
export function declaredLicenses(text: string): DeclaredLicense[] | undefined {
  const names = dep5Licenses(text);
  if (names === undefined || names.length === 0) return undefined;
  const seen = new Set<string>();
  const out: DeclaredLicense[] = [];
  for (const name of names) {
    const id = spdxId(name);
    const key = id ?? `name:${name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(id !== undefined ? { id } : { name });
  }
  return out;
}
