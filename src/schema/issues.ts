import type { z } from 'zod';
import { BootforgeError, type ErrorCode } from '../errors/index.js';
import { nodeAt, type LNode } from '../yaml/located.js';
import { show } from './rule.js';
import { didYouMean } from './suggest.js';

type Issue = z.core.$ZodIssue;
type Path = readonly PropertyKey[];

/** Keys that people reach for to set a password in clear; they get a precise refusal, not "unknown key". */
const CLEARTEXT_KEYS = new Set(['password', 'plainPassword', 'initialPassword', 'passwd']);

export function displayPath(path: Path): string {
  let out = '';
  for (const step of path) out += typeof step === 'number' ? `[${step}]` : out ? `.${String(step)}` : String(step);
  return out || 'the document';
}

/** Keys an object schema allows at a path (for "did you mean"). */
function allowedKeys(schema: z.ZodType, path: Path): string[] {
  let s: z.core.$ZodType | undefined = schema;
  const unwrap = (t: z.core.$ZodType | undefined): z.core.$ZodType | undefined => {
    let cur = t;
    for (;;) {
      const def: Record<string, unknown> | undefined = cur?._zod.def as unknown as Record<string, unknown> | undefined;
      if (!def) return cur;
      if (def.type === 'optional' || def.type === 'default' || def.type === 'nullable' || def.type === 'prefault') {
        cur = def.innerType as z.core.$ZodType;
      } else if (def.type === 'pipe') cur = def.in as z.core.$ZodType;
      else return cur;
    }
  };
  const keysOf = (t: z.core.$ZodType | undefined): string[] => {
    const u = unwrap(t);
    const def = u?._zod.def as unknown as Record<string, unknown> | undefined;
    if (def?.type === 'object') return Object.keys(def.shape as object);
    if (def?.type === 'union') return (def.options as z.core.$ZodType[]).flatMap(keysOf);
    return [];
  };
  for (const step of path) {
    const u = unwrap(s);
    const def = u?._zod.def as unknown as Record<string, unknown> | undefined;
    if (def?.type === 'object' && typeof step === 'string') s = (def.shape as Record<string, z.core.$ZodType>)[step];
    else if (def?.type === 'array') s = def.element as z.core.$ZodType;
    else if (def?.type === 'union') {
      const options = def.options as z.core.$ZodType[];
      s = options.find((o) => keysOf(o).length > 0 || (unwrap(o)?._zod.def as unknown as { type: string }).type === 'array');
      if (s && typeof step === 'number') s = (unwrap(s)?._zod.def as unknown as { element?: z.core.$ZodType }).element ?? s;
      else if (s && typeof step === 'string') s = (unwrap(s)?._zod.def as unknown as { shape?: Record<string, z.core.$ZodType> }).shape?.[step];
    } else return [];
  }
  return keysOf(s);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${show(value)}`;
  return `the ${typeof value} ${JSON.stringify(value) ?? typeof value}`;
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
};

/** A union's branches each report issues; keep those of the branch whose type fits the value. */
function unionIssues(issue: Extract<Issue, { code: 'invalid_union' }>, value: unknown): Issue[] | string {
  const fits = issue.errors.filter(
    (branch) => !branch.some((i) => i.path.length === 0 && (i.code === 'invalid_type' || (i.code === 'invalid_value' && i.values.length === 1))),
  );
  const chosen = fits[0];
  if (chosen) return chosen.map((i) => ({ ...i, path: [...issue.path, ...i.path] }));
  const expected = issue.errors.map((branch) => {
    const root = branch.find((i) => i.path.length === 0);
    if (root?.code === 'invalid_type') return EXPECTED[root.expected] ?? root.expected;
    if (root?.code === 'invalid_value') return root.values.map((v) => show(v)).join(' or ');
    return 'another form';
  });
  return `${displayPath(issue.path)} must be ${[...new Set(expected)].join(', or ')}, not ${typeName(value)}`;
}

/** The bound a too_small or too_big issue states, in words ("be greater than 0", "have at most 9 item(s)"). */
function boundText(issue: Extract<Issue, { code: 'too_small' | 'too_big' }>, side: 'least' | 'most'): string {
  const bound = String('minimum' in issue ? issue.minimum : issue.maximum);
  if (issue.origin === 'array') return `have at ${side} ${bound} item(s)`;
  if (issue.origin === 'string') return side === 'least' && bound === '1' ? 'not be empty' : `have at ${side} ${bound} characters`;
  if (issue.origin === 'int' && side === 'most') return 'be a whole number within the safe integer range';
  if (issue.inclusive === false) return `be ${side === 'least' ? 'greater' : 'less'} than ${bound}`;
  return `be at ${side} ${bound}`;
}

function valueAt(plain: unknown, path: Path): unknown {
  let v = plain;
  for (const step of path) v = v === null || typeof v !== 'object' ? undefined : (v as Record<PropertyKey, unknown>)[step];
  return v;
}

/**
 * Turns zod's issues into bootforge errors that point into the user's files.
 * `root` is the located tree the plain value was made from.
 */
export function issuesToErrors(issues: readonly Issue[], root: LNode, schema: z.ZodType, plain: unknown): BootforgeError[] {
  const out: BootforgeError[] = [];
  const at = (path: Path, code: ErrorCode, message: string, extra: { hint?: string; key?: string; redact?: boolean } = {}) => {
    const found = nodeAt(root, extra.key === undefined ? path : [...path, extra.key]);
    const loc = extra.key !== undefined ? (found.keyLoc ?? found.nearest.loc) : (found.node ?? found.nearest).loc;
    const hint = extra.hint;
    out.push(new BootforgeError(code, message, { loc: extra.redact ? { ...loc, redact: true } : loc, ...(hint ? { hint } : {}) }));
  };
  const visit = (issue: Issue): void => {
    const where = displayPath(issue.path);
    const value = valueAt(plain, issue.path);
    switch (issue.code) {
      case 'custom': {
        const params = (issue.params ?? {}) as { bf?: ErrorCode; redact?: boolean };
        at(issue.path, params.bf ?? 'BF_INVALID_VALUE', `${where}: ${issue.message}`, { redact: params.redact === true });
        return;
      }
      case 'unrecognized_keys':
        for (const key of issue.keys) {
          const keyPath = displayPath([...issue.path, key]);
          if (CLEARTEXT_KEYS.has(key)) {
            at(issue.path, 'BF_PLAINTEXT_PASSWORD', `${keyPath}: clear-text passwords are not accepted`, { key, redact: true });
            continue;
          }
          const suggestion = didYouMean(key, allowedKeys(schema, issue.path));
          at(issue.path, 'BF_UNKNOWN_KEY', `unknown key ${show(key)} in ${where}`, {
            key,
            ...(suggestion ? { hint: `did you mean ${show(suggestion)}?` } : {}),
          });
        }
        return;
      case 'invalid_type': {
        if (value === undefined) {
          const last = issue.path[issue.path.length - 1];
          at(
            issue.path.slice(0, -1),
            'BF_REQUIRED',
            `missing required key ${show(String(last))} in ${displayPath(issue.path.slice(0, -1))}`,
            { hint: `add ${String(last)}: with a value` },
          );
          return;
        }
        if (typeof value === 'number' && !Number.isFinite(value)) {
          // YAML reads 1e400 as Infinity, which JSON would print as null.
          const raw = nodeAt(root, issue.path).node;
          at(issue.path, 'BF_INVALID_VALUE', `${where}: the number ${raw?.kind === 'scalar' ? raw.raw : String(value)} is out of range`);
          return;
        }
        const expected = EXPECTED[issue.expected] ?? issue.expected;
        if (issue.path[issue.path.length - 1] === 'mode' && typeof value === 'number') {
          const raw = nodeAt(root, issue.path).node;
          const written = raw?.kind === 'scalar' ? raw.raw : String(value);
          at(issue.path, 'BF_MODE', `${where}: mode ${written} must be a quoted octal string such as "0644", not a number`);
          return;
        }
        const listHint =
          issue.expected === 'array' && typeof value !== 'object'
            ? { hint: `write a list: [${JSON.stringify(value)}], or one item per line starting with "- "` }
            : {};
        at(issue.path, 'BF_TYPE', `${where} must be ${expected}, not ${typeName(value)}`, listHint);
        return;
      }
      case 'invalid_value': {
        const allowed = issue.values.map((v) => String(v));
        const suggestion = typeof value === 'string' ? didYouMean(value, allowed) : undefined;
        at(issue.path, 'BF_ENUM', `${where} must be one of ${allowed.join(', ')}, not ${typeName(value)}`, {
          ...(suggestion ? { hint: `did you mean ${show(suggestion)}?` } : {}),
        });
        return;
      }
      case 'invalid_union': {
        const resolved = unionIssues(issue, value);
        if (typeof resolved === 'string') at(issue.path, 'BF_TYPE', resolved);
        else resolved.forEach(visit);
        return;
      }
      case 'too_small':
        at(issue.path, 'BF_INVALID_VALUE', `${where} must ${boundText(issue, 'least')}`);
        return;
      case 'too_big':
        at(issue.path, 'BF_INVALID_VALUE', `${where} must ${boundText(issue, 'most')}`);
        return;
      default:
        at(issue.path, 'BF_INVALID_VALUE', `${where}: ${issue.message}`);
    }
  };
  issues.forEach(visit);
  return out.sort((a, b) => (a.loc?.line ?? 0) - (b.loc?.line ?? 0) || (a.loc?.column ?? 0) - (b.loc?.column ?? 0));
}
