/**
 * Word expansion: parameters (with the ${x:-y} family), command substitution
 * through a callback, field splitting on blanks. No globbing: a pattern stays
 * as written, which is what every maintainer script here means.
 */
import type { Part, Word } from './ast.js';
import { removeAffix } from './pattern.js';
import { UNKNOWN, type Value } from './value.js';

export interface ExpansionScope {
  /** A variable or special parameter; undefined when unset. */
  lookup(name: string): Value | undefined;
  /** The positional parameters ($1 ...), for "$@" and $*. */
  positional(): readonly Value[];
  assign(name: string, value: Value): void;
  /** The output of $(...) or `...`, trailing newlines removed. */
  substitute(source: string): Value;
}

/** A word as fields (the arguments it becomes). An unknown part makes the whole word one UNKNOWN field. */
export function expandFields(word: Word, scope: ExpansionScope): Value[] {
  const fields: string[] = [];
  let current = '';
  let has = false;
  const push = () => {
    if (has || current !== '') fields.push(current);
    current = '';
    has = false;
  };
  for (const part of word.parts) {
    if (part.kind === 'literal') {
      current += part.text;
      if (part.quoted || part.text !== '') has = true;
      continue;
    }
    if (part.kind === 'param' && (part.name === '@' || part.name === '*') && part.op === undefined) {
      const params = scope.positional();
      if (params.some((p) => p === UNKNOWN)) return [UNKNOWN];
      const list = params as string[];
      if (part.quoted && part.name === '@') {
        list.forEach((p, i) => {
          if (i > 0) push();
          current += p;
          has = true;
        });
        continue;
      }
      const joined = list.join(' ');
      if (part.quoted) {
        current += joined;
        has = true;
      } else splitInto(joined);
      continue;
    }
    const value = expandPart(part, scope);
    if (value === UNKNOWN) return [UNKNOWN];
    if (part.quoted) {
      current += value;
      has = true;
    } else splitInto(value);
  }
  push();
  return fields;

  function splitInto(value: string): void {
    const pieces = value.split(/[ \t\n]+/);
    pieces.forEach((piece, i) => {
      if (i > 0) push();
      if (piece !== '') {
        current += piece;
        has = true;
      }
    });
  }
}

/** A word as one string, without field splitting (assignments, redirection targets, case subjects). */
export function expandString(word: Word | readonly Part[], scope: ExpansionScope): Value {
  const parts = 'parts' in word ? word.parts : word;
  let out = '';
  for (const part of parts) {
    if (part.kind === 'literal') {
      out += part.text;
      continue;
    }
    const value =
      part.kind === 'param' && (part.name === '@' || part.name === '*') && part.op === undefined
        ? joinPositional(scope)
        : expandPart(part, scope);
    if (value === UNKNOWN) return UNKNOWN;
    out += value;
  }
  return out;
}

/** A case pattern: quoted parts match literally. */
export function expandPattern(word: Word, scope: ExpansionScope): Value {
  let out = '';
  for (const part of word.parts) {
    const value = part.kind === 'literal' ? part.text : expandPart(part, scope);
    if (value === UNKNOWN) return UNKNOWN;
    out += part.quoted ? value.replace(/[*?[\\]/g, '\\$&') : value;
  }
  return out;
}

function joinPositional(scope: ExpansionScope): Value {
  const params = scope.positional();
  return params.some((p) => p === UNKNOWN) ? UNKNOWN : (params as string[]).join(' ');
}

function expandPart(part: Part, scope: ExpansionScope): Value {
  switch (part.kind) {
    case 'literal':
      return part.text;
    case 'command':
      return scope.substitute(part.source);
    case 'arithmetic':
      return arithmetic(part.source, scope);
    case 'param':
      return parameter(part, scope);
  }
}

function parameter(part: Extract<Part, { kind: 'param' }>, scope: ExpansionScope): Value {
  const value = part.name === '#' ? String(scope.positional().length) : scope.lookup(part.name);
  const word = (): Value => (part.word === undefined ? '' : expandString(part.word, scope));
  switch (part.op) {
    case undefined:
      return value ?? '';
    case 'length':
      return value === UNKNOWN ? UNKNOWN : String((value ?? '').length);
    case ':-':
      if (value === UNKNOWN) return UNKNOWN;
      return value === undefined || value === '' ? word() : value;
    case '-':
      return value === undefined ? word() : value;
    case ':+':
      if (value === UNKNOWN) return UNKNOWN;
      return value === undefined || value === '' ? '' : word();
    case '+':
      return value === undefined ? '' : word();
    case ':=':
    case '=': {
      if (value === UNKNOWN) return UNKNOWN;
      if (value === undefined || (part.op === ':=' && value === '')) {
        const w = word();
        scope.assign(part.name, w);
        return w;
      }
      return value;
    }
    case ':?':
    case '?':
      return value ?? UNKNOWN;
    case '#':
    case '##':
    case '%':
    case '%%': {
      const pattern = part.word === undefined ? '' : expandString(part.word, scope);
      if (value === UNKNOWN || pattern === UNKNOWN) return UNKNOWN;
      return removeAffix(value ?? '', pattern, part.op);
    }
    default:
      return UNKNOWN;
  }
}

/** $((...)) with integers, variables, + - * / % and parentheses; anything else is unknown. */
function arithmetic(source: string, scope: ExpansionScope): Value {
  const tokens: string[] = [];
  for (const m of source.matchAll(/\s*(\d+|\$?\{?[A-Za-z_][A-Za-z0-9_]*\}?|[-+*/%()])\s*|(\S)/g)) {
    if (m[2] !== undefined) return UNKNOWN;
    const t = m[1] ?? '';
    if (/^\$?\{?[A-Za-z_]/.test(t)) {
      const v = scope.lookup(t.replace(/[${}]/g, ''));
      if (v === UNKNOWN || (v !== undefined && v !== '' && !/^\s*-?\d+\s*$/.test(v))) return UNKNOWN;
      tokens.push(v === undefined || v === '' ? '0' : v.trim());
    } else tokens.push(t);
  }
  let i = 0;
  const atom = (): number => {
    const t = tokens[i++];
    if (t === '(') {
      const v = sum();
      i++;
      return v;
    }
    if (t === '-') return -atom();
    if (t === '+') return atom();
    const n = Number(t);
    if (t === undefined || !Number.isFinite(n)) throw new Error('not a number');
    return n;
  };
  const product = (): number => {
    let v = atom();
    for (;;) {
      const op = tokens[i];
      if (op !== '*' && op !== '/' && op !== '%') return v;
      i++;
      const r = atom();
      if (op !== '*' && r === 0) throw new Error('division by zero');
      v = op === '*' ? v * r : op === '/' ? Math.trunc(v / r) : v % r;
    }
  };
  const sum = (): number => {
    let v = product();
    for (;;) {
      const op = tokens[i];
      if (op !== '+' && op !== '-') return v;
      i++;
      v = op === '+' ? v + product() : v - product();
    }
  };
  try {
    const v = tokens.length === 0 ? 0 : sum();
    return i === tokens.length ? String(v) : UNKNOWN;
  } catch {
    return UNKNOWN;
  }
}
