import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readInputText } from '../fsutil/read-input.js';

/** One `deb` source of the host's apt configuration. */
export interface AptSource {
  readonly uri: string;
  readonly suites: readonly string[];
  readonly components: readonly string[];
  /** A keyring path, or an armored key block written inline in a .sources file. */
  readonly signedBy?: string;
  /** File and line it was read from, for messages. */
  readonly from: string;
}

/**
 * Reads the host's apt sources: /etc/apt/sources.list and sources.list.d/*.list
 * (one-line format) and sources.list.d/*.sources (deb822). Only `deb` entries
 * that are not disabled count; deb-src and Enabled: no are skipped.
 */
export function readAptSources(aptDir = '/etc/apt'): AptSource[] {
  const out: AptSource[] = [];
  const files: string[] = [join(aptDir, 'sources.list')];
  try {
    const dir = join(aptDir, 'sources.list.d');
    for (const name of readdirSync(dir).sort()) files.push(join(dir, name));
  } catch {
    // No sources.list.d: only sources.list, if any.
  }
  for (const file of files) {
    if (!existsSync(file)) continue;
    const text = readInputText(file, { kind: 'apt source' });
    if (file.endsWith('.list')) out.push(...parseOneLineSources(text, file));
    else if (file.endsWith('.sources')) out.push(...parseDeb822Sources(text, file));
  }
  return out;
}

/** `deb [signed-by=/k.gpg arch=amd64] http://host/debian bookworm main contrib` */
export function parseOneLineSources(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line.startsWith('deb ') && !line.startsWith('deb\t')) return;
    let rest = line.slice(3).trim();
    let signedBy: string | undefined;
    if (rest.startsWith('[')) {
      const end = rest.indexOf(']');
      if (end < 0) return;
      for (const opt of rest.slice(1, end).trim().split(/\s+/)) {
        const [k, v] = opt.split('=');
        if (k === 'signed-by' && v !== undefined) signedBy = v.split(',')[0];
      }
      rest = rest.slice(end + 1).trim();
    }
    const [uri, suite, ...components] = rest.split(/\s+/);
    if (uri === undefined || suite === undefined) return;
    out.push({ uri, suites: [suite], components, ...(signedBy ? { signedBy } : {}), from: `${file}:${i + 1}` });
  });
  return out;
}

/** deb822 stanzas: Types, URIs, Suites, Components, Signed-By (a path or an inline key), Enabled. */
export function parseDeb822Sources(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  const lines = text.split('\n');
  let fields = new Map<string, string>();
  let start = 1;
  let last: string | undefined;
  const flush = (): void => {
    const types = (fields.get('types') ?? '').split(/\s+/);
    const enabled = (fields.get('enabled') ?? 'yes').toLowerCase() !== 'no';
    if (types.includes('deb') && enabled) {
      const words = (k: string) => (fields.get(k) ?? '').split(/\s+/).filter((w) => w !== '');
      const signedBy = fields.get('signed-by')?.trim();
      for (const uri of words('uris')) {
        out.push({
          uri,
          suites: words('suites'),
          components: words('components'),
          ...(signedBy ? { signedBy } : {}),
          from: `${file}:${start}`,
        });
      }
    }
    fields = new Map();
    last = undefined;
  };
  lines.forEach((raw, i) => {
    if (raw.startsWith('#')) return;
    if (raw.trim() === '') {
      if (fields.size > 0) flush();
      return;
    }
    if (/^\s/.test(raw) && last !== undefined) {
      // Continuation line; " ." stands for an empty line inside an inline key.
      const cont = raw.trim() === '.' ? '' : raw.trim();
      fields.set(last, `${fields.get(last) ?? ''}\n${cont}`);
      return;
    }
    const colon = raw.indexOf(':');
    if (colon < 0) return;
    if (fields.size === 0) start = i + 1;
    last = raw.slice(0, colon).trim().toLowerCase();
    fields.set(last, raw.slice(colon + 1).trim());
  });
  if (fields.size > 0) flush();
  return out;
}
