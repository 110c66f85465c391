import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parse,
  parseDocument,
  Scalar,
  type Node as YamlNode,
} from 'yaml';
import { BootforgeError, type SourceLoc } from '../errors/index.js';

/**
 * A YAML value that remembers where it was written. Merging keeps these, so
 * every value of a resolved profile can say which file and line set it.
 *
 * `priority` comes from the tags `!default` (yields to any plain value) and
 * `!override` (wins over plain values), like NixOS's mkDefault/mkForce.
 */
export type Priority = 'default' | 'normal' | 'override';
export type ScalarValue = string | number | boolean | null;

interface Base {
  readonly loc: SourceLoc;
  readonly priority: Priority;
}
export interface LScalar extends Base {
  readonly kind: 'scalar';
  readonly value: ScalarValue;
  /** The text as written, e.g. `0644` for a value YAML read as the number 644. */
  readonly raw: string;
}
export interface LSeq extends Base {
  readonly kind: 'seq';
  readonly items: readonly LNode[];
}
export interface LEntry {
  readonly keyLoc: SourceLoc;
  readonly value: LNode;
}
export interface LMap extends Base {
  readonly kind: 'map';
  readonly entries: ReadonlyMap<string, LEntry>;
}
export type LNode = LScalar | LSeq | LMap;

const TAGS: ReadonlyMap<string, Priority> = new Map([
  ['!default', 'default'],
  ['!override', 'override'],
]);

/**
 * Keys that name internals of JavaScript objects rather than data: written into a plain object,
 * `__proto__` replaces its prototype and the others shadow what code reads from every object.
 * No profile or hardware field has such a name, so they are refused wherever they appear.
 */
export const RESERVED_KEYS: ReadonlySet<string> = new Set([
  ...Object.getOwnPropertyNames(Object.prototype),
  'prototype',
]);

/** An object keyed by user strings: without a prototype, no key can reach one. */
export function userRecord<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

export interface ParsedYaml {
  readonly root: LNode;
  readonly text: string;
}

/** Parses one YAML document; `displayPath` is what error messages call the file. */
export function parseLocated(text: string, displayPath: string): ParsedYaml {
  const lineCounter = new LineCounter();
  // Duplicate keys are found below, while converting: the library's uniqueKeys compares every key
  // with every earlier one (16,000 keys took 3 to 30 s), a Map does it in linear time.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false, merge: false });
  const locAt = (offset: number, end?: number): SourceLoc => {
    const { line, col } = lineCounter.linePos(offset);
    const base = { file: displayPath, line, column: col };
    if (end === undefined) return base;
    const endPos = lineCounter.linePos(end);
    return { ...base, length: endPos.line === line ? Math.max(1, endPos.col - col) : 1 };
  };
  const firstError = doc.errors[0];
  if (firstError) {
    const [start, end] = firstError.pos;
    throw new BootforgeError('BF_YAML_SYNTAX', yamlMessage(firstError.code, firstError.message), {
      loc: locAt(start, end),
    });
  }
  if (doc.contents === null) {
    return { root: { kind: 'map', entries: new Map(), loc: locAt(0), priority: 'normal' }, text };
  }

  const convert = (node: YamlNode | null, fallbackOffset: number): LNode => {
    if (node === null) {
      return { kind: 'scalar', value: null, raw: '', loc: locAt(fallbackOffset), priority: 'normal' };
    }
    const [start, valueEnd] = node.range ?? [fallbackOffset, fallbackOffset + 1];
    const loc = locAt(start, valueEnd);
    if (isAlias(node)) {
      throw new BootforgeError('BF_YAML_SYNTAX', 'YAML aliases (*name) are not supported in profiles', {
        loc,
        hint: 'write the value out; use extends to share settings between profiles',
      });
    }
    let priority: Priority = 'normal';
    const p = node.tag === undefined ? undefined : TAGS.get(node.tag);
    if (node.tag !== undefined) {
      if (p === undefined && !node.tag.startsWith('tag:yaml.org,2002:')) {
        throw new BootforgeError('BF_YAML_SYNTAX', `unknown tag ${node.tag}`, {
          loc,
          hint: 'bootforge knows two tags: !override (this value wins) and !default (any other value wins)',
        });
      }
      priority = p ?? 'normal';
    }
    if (isScalar(node)) {
      // The yaml library leaves a plain scalar with an unknown tag as a string: "!default false"
      // must still be the boolean false, so resolve its text as an untagged plain scalar would be.
      const v =
        node.tag !== undefined && p !== undefined && node.type === Scalar.PLAIN
          ? (parse(text.slice(start, valueEnd)) as unknown)
          : node.value;
      const value: ScalarValue =
        typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v === null ? v : JSON.stringify(v);
      return { kind: 'scalar', value, raw: text.slice(start, valueEnd), loc, priority };
    }
    if (isSeq(node)) {
      return { kind: 'seq', items: node.items.map((item) => convert(item as YamlNode | null, start)), loc, priority };
    }
    if (isMap(node)) {
      const entries = new Map<string, LEntry>();
      for (const pair of node.items) {
        const keyNode = pair.key as YamlNode | null;
        const keyRange = keyNode?.range ?? [start, start + 1];
        const keyLoc = locAt(keyRange[0], keyRange[1]);
        if (!isScalar(keyNode) || (typeof keyNode.value !== 'string' && typeof keyNode.value !== 'number')) {
          throw new BootforgeError('BF_YAML_SYNTAX', 'mapping keys must be plain names', { loc: keyLoc });
        }
        const key = String(keyNode.value);
        if (RESERVED_KEYS.has(key)) {
          throw new BootforgeError(
            'BF_YAML_RESERVED_KEY',
            `key ${JSON.stringify(key)} names an internal of JavaScript objects, not data`,
            { loc: keyLoc },
          );
        }
        if (entries.has(key)) {
          throw new BootforgeError(
            'BF_YAML_DUPLICATE_KEY',
            `key ${JSON.stringify(key)} appears twice in the same mapping`,
            {
              loc: keyLoc,
            },
          );
        }
        entries.set(key, { keyLoc, value: convert(pair.value as YamlNode | null, keyRange[1]) });
      }
      return { kind: 'map', entries, loc, priority };
    }
    throw new BootforgeError('BF_YAML_SYNTAX', 'unsupported YAML node', { loc });
  };
  return { root: convert(doc.contents, 0), text };
}

// The yaml library's wording for the errors people make most, said plainly.
const YAML_MESSAGES: Record<string, string> = {
  MISSING_CHAR: 'a quoted string or a flow collection is not closed',
  BAD_INDENT: 'the indentation does not line up with the keys above',
  TAB_AS_INDENT: 'tabs cannot indent YAML; use spaces',
  MULTILINE_IMPLICIT_KEY: 'a key cannot span several lines (a missing ":" or quote above?)',
  BLOCK_AS_IMPLICIT_KEY: 'a nested block cannot be a key (is a ":" missing or misplaced?)',
};

function yamlMessage(code: string, message: string): string {
  const known = YAML_MESSAGES[code];
  if (known !== undefined) return known;
  const first = message.split('\n')[0] ?? message;
  const trimmed = first.replace(/ at line \d+, column \d+:?$/, '');
  return trimmed.charAt(0).toLowerCase() + trimmed.slice(1);
}

/** The plain JavaScript value of a located tree (what the schema validates). */
export function toPlain(node: LNode): unknown {
  switch (node.kind) {
    case 'scalar':
      return node.value;
    case 'seq':
      return node.items.map(toPlain);
    case 'map': {
      const out = userRecord<unknown>();
      for (const [k, e] of node.entries) out[k] = toPlain(e.value);
      return out;
    }
  }
}

/** The node at a path of keys and indexes, and the location of its key when it has one. */
export function nodeAt(
  root: LNode,
  path: readonly PropertyKey[],
): { node?: LNode; keyLoc?: SourceLoc; nearest: LNode } {
  let node: LNode = root;
  let keyLoc: SourceLoc | undefined;
  for (const step of path) {
    if (node.kind === 'map' && typeof step === 'string') {
      const e = node.entries.get(step);
      if (!e) return { nearest: node };
      keyLoc = e.keyLoc;
      node = e.value;
    } else if (node.kind === 'seq' && typeof step === 'number') {
      const item = node.items[step];
      if (!item) return { nearest: node };
      keyLoc = undefined;
      node = item;
    } else {
      return { nearest: node };
    }
  }
  return keyLoc === undefined ? { node, nearest: node } : { node, keyLoc, nearest: node };
}
