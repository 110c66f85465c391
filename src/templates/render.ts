/**
 * The template layer: renders the shell scripts that run inside initrds and the
 * config files bootforge writes, so that no value can become code.
 *
 * - Only files shipped under src/templates/{initrd,installer,generation}/ are
 *   compiled; a template never comes from a profile.
 * - A value reaches the output only through a helper: in shell templates
 *   (`*.sh.hbs`) `{{sh x}}` (one single-quoted word), `{{shlist xs}}` (one
 *   word per element), `{{int n}}` and `{{ident x}}`; in JSON templates
 *   (`*.json.hbs`) `{{json x}}`; in other config files `{{kv x}}` (one line).
 * - Every template is checked when it loads: its Handlebars AST (no bare
 *   `{{x}}`, no `{{{x}}}`, no partials, no unknown helpers) and, for shell, the
 *   place of each value in the script: never inside quotes, a comment, a here-
 *   document or `${...}`, never after `\` or `$`, never as a command name.
 *   A template that breaks a rule fails to load with BF_TEMPLATE and its line.
 * - Rendering is strict: a key the template names but the context lacks is a
 *   BF_TEMPLATE error naming the template and the key.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { BootforgeError } from '../errors/index.js';
import type { TemplateContexts } from './contexts.js';

/** The folders of src/templates/, by where their output runs. */
export const TEMPLATE_GROUPS = ['initrd', 'installer', 'generation'] as const;

/** How a template's output is read, from its name: `*.sh.hbs`, `*.json.hbs`, anything else. */
export type TemplateKind = 'shell' | 'json' | 'text';

type Ast = hbs.AST.Program;
type Node = hbs.AST.Node;
type Position = hbs.AST.SourceLocation;

// ---------------------------------------------------------------------------
// Value helpers: pure functions, exported for code that builds shell text itself.

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LONE_SURROGATE = /\p{Cs}/u;

/** A short, safe description of a refused value for error messages. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') {
    const shown = JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
    return `the string ${shown}`;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return `${typeof value} ${String(value)}`;
  return typeof value === 'object' ? 'an object' : typeof value;
}

function scalarText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'bigint') return String(value);
  throw new BootforgeError('BF_TEMPLATE', `expects a string or a number, got ${describe(value)}`);
}

/**
 * One POSIX shell word holding exactly `value`: single quotes, each `'` as
 * `'\''`. Newlines stay data inside the quotes. Numbers are quoted too.
 * Refuses NUL (no C string can hold it) and lone UTF-16 surrogates (they
 * cannot be written as UTF-8, so the script would not hold the value).
 */
export function shQuote(value: unknown): string {
  const text = scalarText(value);
  if (text.includes('\0'))
    throw new BootforgeError('BF_TEMPLATE', 'refuses a value with a NUL byte: no shell word can hold one');
  if (LONE_SURROGATE.test(text))
    throw new BootforgeError('BF_TEMPLATE', 'refuses a string that is not valid Unicode (a lone surrogate)');
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** Each element as one shell word (see shQuote), joined by spaces; `[]` gives the empty string. */
export function shQuoteList(values: unknown): string {
  if (!Array.isArray(values)) throw new BootforgeError('BF_TEMPLATE', `expects an array, got ${describe(values)}`);
  return values
    .map((v: unknown, i) => {
      try {
        return shQuote(v);
      } catch (e) {
        throw new BootforgeError('BF_TEMPLATE', `element ${i}: ${(e as Error).message}`, { cause: e });
      }
    })
    .join(' ');
}

/** An integer as decimal digits (with `-` if negative); anything else is refused. */
export function intText(value: unknown): string {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value === 0 ? 0 : value);
  if (typeof value === 'bigint') return String(value);
  throw new BootforgeError('BF_TEMPLATE', `expects an integer, got ${describe(value)}`);
}

/** A name for a shell variable or function: `[A-Za-z_][A-Za-z0-9_]*`. */
export function identText(value: unknown): string {
  if (typeof value === 'string' && NAME.test(value)) return value;
  throw new BootforgeError(
    'BF_TEMPLATE',
    `expects a name of letters, digits and "_" (not starting with a digit), got ${describe(value)}`,
  );
}

/** A value for the right side of a `key=value` line: refuses line breaks, which would start a new line. */
export function kvText(value: unknown): string {
  const text = typeof value === 'boolean' ? String(value) : scalarText(value);
  if (/[\n\r\0]/.test(text))
    throw new BootforgeError('BF_TEMPLATE', 'refuses a value with a line break or NUL: it would start a new line');
  return text;
}

/** JSON text of a value (one line); refuses what JSON cannot represent. */
export function jsonText(value: unknown): string {
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined) throw new BootforgeError('BF_TEMPLATE', `cannot write ${describe(value)} as JSON`);
  return text;
}

const VALUE_HELPERS: Readonly<Record<string, (value: unknown) => string>> = {
  sh: shQuote,
  shlist: shQuoteList,
  int: intText,
  ident: identText,
  kv: kvText,
  json: jsonText,
};

/** Which value helpers each kind of template may use. */
const ALLOWED: Readonly<Record<TemplateKind, readonly string[]>> = {
  shell: ['sh', 'shlist', 'int', 'ident'],
  json: ['json', 'int'],
  text: ['kv', 'int', 'ident', 'json'],
};

/** Block helpers any template may use (Handlebars' own, wrapped to refuse missing values). */
const BLOCKS = ['if', 'unless', 'each', 'with'];

const USE_INSTEAD: Readonly<Record<TemplateKind, string>> = {
  shell: 'use {{sh x}} (one quoted word), {{shlist xs}}, {{int n}} or {{ident name}}',
  json: 'use {{json x}}',
  text: 'use {{kv x}} (one line), {{int n}}, {{ident x}} or {{json x}}',
};

// ---------------------------------------------------------------------------
// Where a value may stand: a lexer per kind follows the template text between
// mustaches and says whether the next value lands in a safe place.

/** A rule a mustache breaks; `null` means the place is fine. */
type Verdict = string | null;

/** What the character after a mustache must be (e.g. a blank after {{shlist}}). */
interface Follow {
  readonly test: (next: string | undefined) => boolean;
  readonly problem: string;
}

class LexFailure extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

interface Lexer {
  clone(): Lexer;
  /** Feeds template text that starts on `line`; throws LexFailure on text no template may hold. */
  content(text: string, line: number): void;
  /** Checks a value helper at the current place and moves past the value. */
  value(helper: string): { verdict: Verdict; follow?: Follow };
  /** Joins the states at the end of the branches of a block; a problem if they cannot be joined. */
  join(others: readonly Lexer[]): Verdict;
  /** A problem if the template ends in the middle of something (a quote, a here-document). */
  end(): Verdict;
}

class TextLexer implements Lexer {
  clone(): Lexer {
    return new TextLexer();
  }
  content(): void {}
  value(): { verdict: Verdict } {
    return { verdict: null };
  }
  join(): Verdict {
    return null;
  }
  end(): Verdict {
    return null;
  }
}

/** Tracks JSON strings: a value inside "..." would not be JSON-quoted. */
class JsonLexer implements Lexer {
  private inString = false;
  private escape = false;

  clone(): Lexer {
    return Object.assign(new JsonLexer(), this);
  }
  content(text: string): void {
    for (const c of text) {
      if (this.escape) this.escape = false;
      else if (this.inString && c === '\\') this.escape = true;
      else if (c === '"') this.inString = !this.inString;
    }
  }
  value(): { verdict: Verdict } {
    return { verdict: this.inString ? 'inside a JSON string: {{json x}} writes the quotes itself' : null };
  }
  join(others: readonly Lexer[]): Verdict {
    const same = others.every((o) => o instanceof JsonLexer && o.inString === this.inString);
    return same ? null : 'the branches end in different places (inside and outside a JSON string)';
  }
  end(): Verdict {
    return this.inString ? 'ends inside a JSON string' : null;
  }
}

/** A context of the shell grammar that holds words: the script, `$(...)`, `${...}`; or a "..." string. */
interface Frame {
  readonly kind: 'script' | 'subst' | 'brace' | 'dq';
  /** The text of the word being read (quotes kept, so `'if'` is no keyword); null between words. */
  word: string | null;
  /** The next word starts a simple command (assignments and keywords keep it so). */
  cmd: boolean;
  /** The next word is the target of a redirection. */
  redirect: boolean;
  /** The simple command being read runs its arguments as code (`trap`, `chroot`, `sh`...). */
  runner: string | null;
  /** Open `(` of subshells inside this frame. */
  parens: number;
}

/** A word whose text differs between the branches of a block. */
const UNKNOWN_WORD = '\u0000';
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;
/** Reserved words after which the next word is again a command. */
const KEYWORDS = new Set(['!', '{', '}', 'if', 'then', 'else', 'elif', 'fi', 'do', 'done', 'while', 'until', 'esac']);
const SEPARATORS = /^[ \t\n;&|)<>]$/;
/**
 * Commands that run (some of) their arguments as code, or choose a program by
 * them: a quoted value is data to the shell, but these would run it anyway.
 * A value for one of them goes through a variable, which makes the choice visible.
 */
const RUNNERS = new Set(
  '. source trap exec command env nohup setsid nice timeout chroot xargs su sh ash dash bash busybox unshare nsenter flock watch time'.split(
    ' ',
  ),
);

function frame(kind: Frame['kind']): Frame {
  return { kind, word: null, cmd: kind !== 'brace' && kind !== 'dq', redirect: false, runner: null, parens: 0 };
}

/**
 * A small lexer for POSIX sh, enough to know where a template puts each
 * value. It is conservative: where it is unsure (an unusual construct), the
 * template is refused rather than a value let through to a place it could
 * escape from.
 */
class ShellLexer implements Lexer {
  private frames: Frame[] = [frame('script')];
  private sq = false;
  private escape = false;
  private dollar = false;
  private comment = false;
  private prev = '';
  /** Here-documents announced on the current line; their bodies start after its newline. */
  private pending: { delim: string; strip: boolean }[] = [];
  /** The here-document body being read. */
  private body: { delim: string; strip: boolean; line: string } | null = null;
  /** Reading the delimiter word after `<<`. */
  private delim: { strip: boolean; text: string; started: boolean; fresh: boolean } | null = null;
  private line = 1;

  clone(): Lexer {
    const copy = new ShellLexer();
    copy.frames = this.frames.map((f) => ({ ...f }));
    copy.pending = this.pending.map((p) => ({ ...p }));
    copy.body = this.body && { ...this.body };
    copy.delim = this.delim && { ...this.delim };
    Object.assign(copy, {
      sq: this.sq,
      escape: this.escape,
      dollar: this.dollar,
      comment: this.comment,
      prev: this.prev,
    });
    return copy;
  }

  private get top(): Frame {
    const f = this.frames.at(-1);
    if (!f) throw new Error('shell lexer: no frame');
    return f;
  }

  private fail(message: string): never {
    throw new LexFailure(message, this.line);
  }

  content(text: string, line: number): void {
    this.line = line;
    for (const c of text) {
      this.step(c);
      if (c === '\n') this.line++;
    }
  }

  private startWord(f: Frame, text: string): void {
    f.word = (f.word ?? '') + text;
  }

  private endWord(f: Frame): void {
    const w = f.word;
    if (w === null) return;
    f.word = null;
    if (f.redirect) {
      f.redirect = false;
      return;
    }
    if (!f.cmd || w === UNKNOWN_WORD || ASSIGNMENT.test(w) || KEYWORDS.has(w)) return;
    if (w === 'eval') this.fail('eval is not allowed in shell templates: it turns data back into code');
    f.cmd = false;
    if (RUNNERS.has(w)) f.runner = w;
  }

  /** The next announced here-document's body starts (or none does). */
  private startBody(): void {
    const next = this.pending.shift();
    this.body = next ? { ...next, line: '' } : null;
  }

  private step(c: string): void {
    const prev = this.prev;
    this.prev = c;
    if (this.body) {
      const body = this.body;
      if (c !== '\n') {
        body.line += c;
        return;
      }
      const line = body.strip ? body.line.replace(/^\t+/, '') : body.line;
      if (line === body.delim) this.startBody();
      else body.line = '';
      return;
    }
    if (this.comment) {
      if (c !== '\n') return;
      this.comment = false;
    }
    if (this.sq) {
      if (c === "'") this.sq = false;
      return;
    }
    const f = this.top;
    if (this.escape) {
      this.escape = false;
      // Backslash-newline joins lines; any other escaped character is part of a word.
      if (c !== '\n' && f.kind !== 'dq') this.startWord(f, `\\${c}`);
      return;
    }
    if (this.delim) {
      const d = this.delim;
      if (d.fresh && c === '-') {
        d.strip = true;
        d.fresh = false;
        return;
      }
      d.fresh = false;
      const ends = SEPARATORS.test(c) || c === '(';
      if (!d.started && (c === ' ' || c === '\t')) return;
      if (!d.started && ends) this.fail('"<<" needs a delimiter word (here-strings "<<<" are not POSIX)');
      if (!ends) {
        d.started = true;
        if (!`'"\\`.includes(c)) d.text += c;
        return;
      }
      this.pending.push({ delim: d.text, strip: d.strip });
      this.delim = null;
    }
    if (f.kind === 'dq') {
      if (this.dollar) {
        this.dollar = false;
        if (c === '(' || c === '{') {
          this.frames.push(frame(c === '(' ? 'subst' : 'brace'));
          return;
        }
      }
      if (c === '\\') this.escape = true;
      else if (c === '"') this.frames.pop();
      else if (c === '$') this.dollar = true;
      else if (c === '`') this.fail('backquotes are not allowed in shell templates: use $(...)');
      return;
    }
    if (this.dollar) {
      this.dollar = false;
      if (c === '(' || c === '{') {
        this.frames.push(frame(c === '(' ? 'subst' : 'brace'));
        return;
      }
      if (c === "'") this.fail("$'...' is not POSIX sh (busybox reads it as C-style escapes, dash does not)");
    }
    // dash, busybox and bash disagree on quotes inside ${...}, and inside "${...}" most of all.
    if (f.kind === 'brace' && `'"\\`.includes(c))
      this.fail('no quotes or backslashes inside ${...}: shells disagree on them');
    switch (c) {
      case "'":
        this.startWord(f, c);
        this.sq = true;
        return;
      case '"':
        this.startWord(f, c);
        this.frames.push(frame('dq'));
        return;
      case '\\':
        this.escape = true;
        return;
      case '$':
        this.startWord(f, c);
        this.dollar = true;
        return;
      case '`':
        this.fail('backquotes are not allowed in shell templates: use $(...)');
        break;
      case '#':
        if (f.word === UNKNOWN_WORD) this.fail('a # right after a block: a comment in one branch, a word in another');
        if (f.word === null && f.kind !== 'brace') this.comment = true;
        else this.startWord(f, c);
        return;
      case ' ':
      case '\t':
        this.endWord(f);
        return;
      case '\n':
        this.endWord(f);
        f.cmd = true;
        f.redirect = false;
        f.runner = null;
        this.startBody();
        return;
      case '&':
      case '|':
      case ';':
        if (c !== ';' && (prev === '>' || prev === '<')) return; // >&2, <&0, >|: still the redirection operator
        this.endWord(f);
        f.cmd = true;
        f.redirect = false;
        f.runner = null;
        return;
      case '(':
        this.endWord(f);
        f.parens++;
        f.cmd = true;
        f.runner = null;
        return;
      case ')':
        this.endWord(f);
        if (f.parens > 0) f.parens--;
        else if (f.kind === 'subst') {
          this.frames.pop();
          return;
        }
        f.cmd = true; // after a subshell, or a case pattern
        f.runner = null;
        return;
      case '}':
        if (f.kind === 'brace') {
          this.frames.pop();
          return;
        }
        this.startWord(f, c);
        return;
      case '<':
      case '>':
        if (c === '<' && prev === '<' && f.redirect) {
          f.redirect = false;
          this.delim = { strip: false, text: '', started: false, fresh: true };
          return;
        }
        // `2>`: the digits are part of the operator, not a word.
        if (f.word !== null && /^[0-9]+$/.test(f.word)) f.word = null;
        else this.endWord(f);
        f.redirect = true;
        return;
      default:
        this.startWord(f, c);
    }
  }

  value(helper: string): { verdict: Verdict; follow?: Follow } {
    const verdict = this.place(helper);
    if (verdict !== null) return { verdict };
    const f = this.top;
    let follow: Follow | undefined;
    if (helper === 'shlist') {
      follow = {
        test: (next) => next === undefined || SEPARATORS.test(next),
        problem: 'must be followed by a blank or an operator: its last word would be glued to the text after it',
      };
    } else if (helper === 'ident' && this.code() && !this.dollar && f.word === null && f.cmd && !f.redirect) {
      follow = {
        test: (next) => next === '=',
        problem: 'in command position, {{ident x}} must start an assignment (x=...): the value would be run',
      };
    }
    // Move past the value with text of the same shape: a quoted word, digits, a name.
    for (const c of helper === 'int' ? '0' : helper === 'ident' ? 'a' : "''") this.step(c);
    return { verdict: null, ...(follow ? { follow } : {}) };
  }

  /** In a word-holding context, outside quotes and comments. */
  private code(): boolean {
    return !this.sq && !this.comment && !this.body && this.top.kind !== 'dq';
  }

  private place(helper: string): Verdict {
    if (this.body) return 'inside a here-document: pass the value as an argument, or set a variable before it';
    if (this.delim) return 'as a here-document delimiter';
    if (this.escape) return 'right after a backslash, which would take the opening quote as a literal character';
    if (helper === 'int') return null; // digits are inert everywhere else
    const f = this.top;
    if (helper === 'ident') {
      if (!this.code() || f.redirect) return null;
      if (f.cmd && f.word !== null && !this.dollar && !ASSIGNMENT.test(f.word))
        return 'inside a command name: the value would choose the program to run';
      return null;
    }
    if (this.comment) return 'inside a comment: a newline in the value would end the comment and run the rest';
    if (this.sq) return "inside '...': the value's own quotes would end the string";
    if (f.kind === 'dq') return 'inside "...": $(...) and `...` in the value would run; put {{sh x}} outside quotes';
    if (f.kind === 'brace') return 'inside ${...}: assign the value to a variable first';
    if (this.dollar) return "right after $, where busybox would read $'...' as C-style escapes";
    if (helper === 'shlist') {
      if (f.word !== null) return 'glued to other text: {{shlist xs}} must stand as its own words';
      if (f.redirect) return 'as a redirection target, which takes one word: use {{sh x}}';
    }
    if (f.redirect) return null;
    if (f.runner !== null) return `in the arguments of ${f.runner}, which may run them: pass "$variable" instead`;
    if (f.cmd && f.word === null) return 'in command position: the value would be run as a command';
    if (f.cmd && (f.word === UNKNOWN_WORD || !ASSIGNMENT.test(f.word ?? '')))
      return 'inside a command name: the value would choose the program to run';
    return null;
  }

  /** The state without words and command flags, which branches may differ in (see join). */
  private shape(): string {
    return JSON.stringify({
      frames: this.frames.map((f) => [f.kind, f.redirect, f.parens]),
      flags: [this.sq, this.escape, this.dollar, this.comment],
      pending: this.pending,
      body: this.body,
      delim: this.delim,
    });
  }

  join(others: readonly Lexer[]): Verdict {
    for (const o of others) {
      if (!(o instanceof ShellLexer) || o.shape() !== this.shape())
        return 'its branches leave the script in different states (an open quote, $(, ${, redirection or here-document)';
      this.frames.forEach((f, i) => {
        const g = o.frames[i];
        if (!g) return;
        if (g.word !== f.word) f.word = UNKNOWN_WORD;
        f.cmd ||= g.cmd;
        f.runner ??= g.runner;
      });
      if (o.prev !== this.prev) this.prev = '';
    }
    return null;
  }

  end(): Verdict {
    if (this.sq) return "ends inside '...'";
    if (this.escape) return 'ends with a backslash';
    if (this.delim) return 'ends after "<<"';
    if (this.frames.length > 1) return `ends inside ${this.top.kind === 'dq' ? '"..."' : '$(...) or ${...}'}`;
    const body = this.body;
    if (body && (body.strip ? body.line.replace(/^\t+/, '') : body.line) === body.delim && this.pending.length === 0)
      return null;
    if (body || this.pending.length > 0) return 'ends inside a here-document';
    return null;
  }
}

function lexerFor(kind: TemplateKind): Lexer {
  return kind === 'shell' ? new ShellLexer() : kind === 'json' ? new JsonLexer() : new TextLexer();
}

// ---------------------------------------------------------------------------
// The load-time check of a template's AST.

/** A mustache or block, for runtime messages: its text and its parameters as written. */
interface Site {
  readonly text: string;
  readonly params: readonly string[];
}

/** A path read from the root context, checked before rendering so a missing key is named exactly. */
interface RootPath {
  readonly parts: readonly string[];
  readonly line: number;
}

const siteKey = (line: number, column: number): string => `${line}:${column}`;

class TemplateCheck {
  readonly sites = new Map<string, Site>();
  readonly rootPaths: RootPath[] = [];
  private readonly lines: readonly string[];

  constructor(
    readonly name: string,
    readonly file: string,
    readonly kind: TemplateKind,
    source: string,
  ) {
    this.lines = source.split('\n');
  }

  fail(message: string, line: number, column = 0): never {
    throw new BootforgeError('BF_TEMPLATE', `${this.name}:${line}: ${message}`, {
      loc: { file: this.file, line, column: column + 1 },
    });
  }

  private text(loc: Position): string {
    const { start, end } = loc;
    const first = this.lines[start.line - 1] ?? '';
    return start.line === end.line ? first.slice(start.column, end.column) : `${first.slice(start.column)}...`;
  }

  private record(node: hbs.AST.MustacheStatement | hbs.AST.BlockStatement, scoped: boolean, blockParams: Set<string>) {
    const params = node.params.map((p) => this.paramText(p));
    const { line, column } = node.loc.start;
    this.sites.set(siteKey(line, column), { text: this.text(node.loc), params });
    for (const p of node.params) {
      if (p.type !== 'PathExpression') continue;
      const path = p as hbs.AST.PathExpression;
      const [head] = path.parts;
      if (scoped || path.data || path.depth > 0 || head === undefined || blockParams.has(head)) continue;
      this.rootPaths.push({ parts: path.parts, line });
    }
  }

  private paramText(p: hbs.AST.Expression): string {
    if (p.type === 'PathExpression') return (p as hbs.AST.PathExpression).original;
    if (p.type === 'StringLiteral') return JSON.stringify((p as hbs.AST.StringLiteral).value);
    if (p.type === 'NumberLiteral') return String((p as hbs.AST.NumberLiteral).value);
    return p.type;
  }

  private checkParams(
    node: hbs.AST.MustacheStatement | hbs.AST.BlockStatement,
    helper: string,
    allowed: readonly string[],
  ): void {
    const { line, column } = node.loc.start;
    if (node.hash && node.hash.pairs.length > 0) this.fail(`{{${helper}}} takes no key=value options`, line, column);
    if (node.params.length !== 1) this.fail(`{{${helper}}} takes exactly one value`, line, column);
    for (const p of node.params) {
      if (!allowed.includes(p.type))
        this.fail(
          `{{${helper}}} takes a path${allowed.length > 1 ? ' or a literal' : ''}, not a ${p.type}`,
          line,
          column,
        );
    }
  }

  /** Checks a mustache's own form: a known value helper of this kind, escaped, one plain parameter. */
  private mustache(m: hbs.AST.MustacheStatement, scoped: boolean, blockParams: Set<string>): string {
    const { line, column } = m.loc.start;
    const shown = this.text(m.loc);
    if (!m.escaped)
      this.fail(`${shown}: {{{...}}} and {{&...}} are not allowed: ${USE_INSTEAD[this.kind]}`, line, column);
    const path = m.path as hbs.AST.PathExpression;
    const helper = path.type === 'PathExpression' && path.parts.length === 1 && !path.data ? path.original : undefined;
    if (helper === undefined || !ALLOWED[this.kind].includes(helper)) {
      if (m.params.length === 0)
        this.fail(`${shown} would output a value as it is: ${USE_INSTEAD[this.kind]}`, line, column);
      if (helper !== undefined && Object.hasOwn(VALUE_HELPERS, helper))
        this.fail(`${shown}: {{${helper}}} is not for ${this.kind} templates: ${USE_INSTEAD[this.kind]}`, line, column);
      this.fail(`${shown}: unknown helper: ${USE_INSTEAD[this.kind]}`, line, column);
    }
    this.checkParams(m, helper, ['PathExpression', 'StringLiteral', 'NumberLiteral']);
    this.record(m, scoped, blockParams);
    return helper;
  }

  /**
   * Checks a block and walks its branches. A branch may be skipped and an
   * {{#each}} body may run any number of times, so every way through must
   * leave the script in a compatible state; the result joins them.
   */
  private block(b: hbs.AST.BlockStatement, start: Lexer, scoped: boolean, blockParams: Set<string>): Lexer {
    const { line, column } = b.loc.start;
    const helper = b.path.type === 'PathExpression' && b.path.parts.length === 1 ? b.path.original : '';
    if (!BLOCKS.includes(helper)) {
      const allowed = BLOCKS.map((h) => `{{#${h}}}`).join(', ');
      this.fail(`${this.text(b.loc)}: blocks other than ${allowed} are not allowed`, line, column);
    }
    this.checkParams(b, helper, ['PathExpression']);
    this.record(b, scoped, blockParams);
    const inner = new Set([...blockParams, ...(b.program.blockParams ?? [])]);
    const innerScoped = scoped || helper === 'each' || helper === 'with';
    const join = (states: Lexer[]): Lexer => {
      const [first, ...rest] = states;
      if (!first) throw new BootforgeError('BF_INTERNAL', 'join of no states');
      const joined = first.clone();
      const verdict = joined.join(rest);
      if (verdict !== null) this.fail(`${this.text(b.loc)}: ${verdict}`, line, column);
      return joined;
    };
    const afterElse = b.inverse ? this.walk(b.inverse, start.clone(), scoped, blockParams, false) : start.clone();
    let afterBody = this.walk(b.program, start.clone(), innerScoped, inner, false);
    if (helper === 'each') {
      // A second pass from the joined state checks the body where a previous iteration left off.
      const loop = join([start, afterBody]);
      afterBody = join([loop, this.walk(b.program, loop.clone(), innerScoped, inner, false)]);
    }
    return join([afterBody, afterElse]);
  }

  /** Walks a program from `state`; returns the state at its end (`state` itself is advanced). */
  walk(program: Ast, state: Lexer, scoped: boolean, blockParams: Set<string>, root: boolean): Lexer {
    let lexer = state;
    const body = program.body;
    for (let i = 0; i < body.length; i++) {
      const node = body[i] as Node;
      const { line, column } = node.loc.start;
      switch (node.type) {
        case 'ContentStatement': {
          const content = node as hbs.AST.ContentStatement;
          // Standalone {{#if}} lines are cut from `value`; count the lines cut before it.
          const original = (content as unknown as { original: string }).original;
          const skipped = original.slice(0, Math.max(0, original.indexOf(content.value)));
          try {
            lexer.content(content.value, line + (skipped.match(/\n/g)?.length ?? 0));
          } catch (e) {
            if (e instanceof LexFailure) this.fail(e.message, e.line);
            throw e;
          }
          break;
        }
        case 'CommentStatement':
          break;
        case 'MustacheStatement': {
          const m = node as hbs.AST.MustacheStatement;
          const { verdict, follow } = lexer.value(this.mustache(m, scoped, blockParams));
          if (verdict !== null) this.fail(`${this.text(m.loc)} ${verdict}`, line, column);
          if (follow) {
            const next = body[i + 1];
            let ok: boolean;
            if (next?.type === 'ContentStatement' && (next as hbs.AST.ContentStatement).value !== '')
              ok = follow.test((next as hbs.AST.ContentStatement).value[0]);
            else ok = next === undefined && root && follow.test(undefined);
            if (!ok) this.fail(`${this.text(m.loc)} ${follow.problem}`, line, column);
          }
          break;
        }
        case 'BlockStatement':
          lexer = this.block(node as hbs.AST.BlockStatement, lexer, scoped, blockParams);
          break;
        case 'PartialStatement':
        case 'PartialBlockStatement':
          this.fail('partials are not allowed: each template is checked as one file', line, column);
          break;
        default:
          this.fail(`${node.type} is not allowed in templates`, line, column);
      }
    }
    if (root) {
      const verdict = lexer.end();
      if (verdict !== null) this.fail(`the template ${verdict}`, this.lines.length);
    }
    return lexer;
  }
}

// ---------------------------------------------------------------------------
// Rendering.

/** A helper refused a value; render() adds the template, line and mustache. */
class HelperFailure extends Error {
  constructor(
    message: string,
    readonly loc: Position | undefined,
    /** Which parameter was undefined, when that is the problem. */
    readonly missing?: number,
  ) {
    super(message);
  }
}

interface HelperOptions {
  readonly loc?: Position;
  readonly name?: string;
}

type HelperFn = (this: unknown, ...args: unknown[]) => unknown;

/** Splits Handlebars' trailing options argument from the values. */
function splitArgs(args: unknown[]): { values: unknown[]; options: HelperOptions } {
  const options = (args.at(-1) ?? {}) as HelperOptions;
  return { values: args.slice(0, -1), options };
}

function checkDefined(values: readonly unknown[], options: HelperOptions): void {
  const missing = values.findIndex((v) => v === undefined);
  if (missing >= 0) throw new HelperFailure('missing value', options.loc, missing);
}

function valueHelper(name: string, fn: (value: unknown) => string): HelperFn {
  return function (...args: unknown[]): string {
    const { values, options } = splitArgs(args);
    if (values.length !== 1) throw new HelperFailure(`{{${name}}} takes exactly one value`, options.loc);
    checkDefined(values, options);
    try {
      return fn(values[0]);
    } catch (e) {
      throw new HelperFailure(`{{${name}}} ${(e as Error).message}`, options.loc);
    }
  };
}

/** Wraps a built-in block helper so that an undefined value is an error, not "false". */
function strictBlock(original: HelperFn): HelperFn {
  return function (this: unknown, ...args: unknown[]): unknown {
    const { values, options } = splitArgs(args);
    checkDefined(values, options);
    return original.apply(this, args);
  };
}

interface LoadedTemplate {
  readonly name: string;
  readonly file: string;
  readonly kind: TemplateKind;
  readonly check: TemplateCheck;
  readonly run: Handlebars.TemplateDelegate;
}

function kindOf(name: string): TemplateKind {
  return name.endsWith('.sh.hbs') ? 'shell' : name.endsWith('.json.hbs') ? 'json' : 'text';
}

function hbsFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? hbsFiles(p) : n.endsWith('.hbs') ? [p] : [];
    });
}

/**
 * The templates of one folder, checked and compiled once, in their own
 * Handlebars environment (helpers registered here cannot leak elsewhere).
 * bootforge itself renders only its own folder (renderTemplate); tests load
 * folders of test templates. Never point this at a folder a profile names.
 */
export class TemplateSet {
  private readonly env = Handlebars.create();
  private readonly templates = new Map<string, LoadedTemplate>();

  private constructor(readonly root: string) {
    const helpers = this.env.helpers as unknown as Record<string, HelperFn>;
    for (const block of BLOCKS) {
      const original = helpers[block];
      if (!original) throw new BootforgeError('BF_INTERNAL', `Handlebars has no {{#${block}}} helper`);
      this.env.registerHelper(block, strictBlock(original));
    }
    for (const [name, fn] of Object.entries(VALUE_HELPERS)) this.env.registerHelper(name, valueHelper(name, fn));
  }

  /** Loads every `*.hbs` under `<root>/{initrd,installer,generation}/`; throws BF_TEMPLATE on the first bad one. */
  static load(root: string): TemplateSet {
    const set = new TemplateSet(root);
    for (const group of TEMPLATE_GROUPS) {
      const dir = join(root, group);
      let isDir = false;
      try {
        isDir = statSync(dir).isDirectory();
      } catch {
        continue;
      }
      if (!isDir) continue;
      for (const file of hbsFiles(dir)) set.add(relative(root, file).split(sep).join('/'), file);
    }
    return set;
  }

  private add(name: string, file: string): void {
    const kind = kindOf(name);
    let source: string;
    try {
      source = readFileSync(file, 'utf8');
    } catch (e) {
      throw new BootforgeError('BF_IO', `cannot read template ${file}: ${(e as Error).message}`, { cause: e });
    }
    const check: TemplateCheck = new TemplateCheck(name, file, kind, source);
    if (kind !== 'shell' && source.startsWith('#!'))
      check.fail('a script must be named *.sh.hbs, so that its values are checked as shell words', 1);
    let ast: Ast;
    try {
      ast = this.env.parse(source, { srcName: name });
    } catch (e) {
      const lines = (e as Error).message.split('\n');
      const line = Number(/line (\d+)/.exec(lines[0] ?? '')?.[1] ?? 1);
      const what = lines.length > 1 ? `${lines[0]} ${lines.at(-1)}` : lines[0];
      const hint = what?.includes('CLOSE_UNESCAPED') ? ' (write "}} }": "}}}" closes a {{{...}}})' : '';
      check.fail(`not valid Handlebars: ${what}${hint}`, line);
    }
    check.walk(ast, lexerFor(kind), false, new Set(), true);
    const knownHelpers = Object.fromEntries([...BLOCKS, ...ALLOWED[kind]].map((h) => [h, true]));
    const run = this.env.compile(ast, { strict: true, noEscape: true, knownHelpers, knownHelpersOnly: true });
    this.templates.set(name, { name, file, kind, check, run });
  }

  /** Names of the templates, e.g. `initrd/init.sh.hbs`, sorted. */
  list(): string[] {
    return [...this.templates.keys()].sort();
  }

  render(name: string, context: object): string {
    const t = this.templates.get(name);
    if (!t) {
      throw new BootforgeError('BF_TEMPLATE', `no template named ${name} in ${this.root}`, {
        hint: `templates: ${this.list().join(', ') || '(none)'}`,
      });
    }
    checkRootPaths(t, context);
    try {
      return t.run(context);
    } catch (e) {
      if (e instanceof BootforgeError) throw e;
      if (e instanceof HelperFailure) {
        const site = e.loc && t.check.sites.get(siteKey(e.loc.start.line, e.loc.start.column));
        const line = e.loc?.start.line ?? 1;
        const where = site ? `${site.text}: ` : '';
        const param = e.missing === undefined ? undefined : site?.params[e.missing];
        const message =
          e.missing === undefined
            ? `${where}${e.message}`
            : `${where}"${param ?? 'a value'}" is missing from the context`;
        throw new BootforgeError('BF_TEMPLATE', `${name}:${line}: ${message}`, {
          loc: { file: t.file, line, column: (e.loc?.start.column ?? 0) + 1 },
        });
      }
      throw new BootforgeError('BF_TEMPLATE', `${name}: ${(e as Error).message}`, { cause: e });
    }
  }
}

/**
 * Every path the template reads from the root context must exist, even in a
 * branch not taken; walking it here names the first missing key exactly
 * (`a.b` when `a` has no `b`). A null or a non-object on the way ends the walk:
 * that is an explicit "none" and the template's own {{#if}} handles it.
 */
function checkRootPaths(t: LoadedTemplate, context: object): void {
  for (const path of t.check.rootPaths) {
    let value: unknown = context;
    for (let i = 0; i < path.parts.length; i++) {
      if (value === null || typeof value !== 'object') break;
      const key = path.parts[i] ?? '';
      value = Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
      if (value === undefined) {
        const missing = path.parts.slice(0, i + 1).join('.');
        throw new BootforgeError('BF_TEMPLATE', `${t.name}:${path.line}: "${missing}" is missing from the context`, {
          loc: { file: t.file, line: path.line, column: 1 },
        });
      }
    }
  }
}

// ---------------------------------------------------------------------------
// bootforge's own templates, next to this module (found the same way from source through tsx).

const TEMPLATE_ROOT = fileURLToPath(new URL('./', import.meta.url));
let builtins: TemplateSet | undefined;

function builtinSet(): TemplateSet {
  builtins ??= TemplateSet.load(TEMPLATE_ROOT);
  return builtins;
}

/** The context a built-in template expects, or `object` for a name only known at runtime. */
export type ContextOf<N extends string> = N extends keyof TemplateContexts ? TemplateContexts[N] : object;

/**
 * Renders one of bootforge's own templates, e.g. `renderTemplate('initrd/init.sh.hbs', ctx)`.
 * All templates are loaded and checked on the first call.
 */
export function renderTemplate<N extends string>(name: N, context: ContextOf<N>): string {
  return builtinSet().render(name, context);
}

/** Names of bootforge's own templates, sorted. */
export function listTemplates(): string[] {
  return builtinSet().list();
}
