/**
 * Splits shell source into words and operators the way POSIX sh does:
 * quoting, backslash-newline continuation, comments, parameter expansion,
 * command substitution ($(...) and backquotes) and here-documents.
 */
import type { Part, Word } from './ast.js';

export type Token =
  | { readonly type: 'word'; readonly word: Word; readonly line: number; readonly start: number; readonly end: number }
  | {
      readonly type: 'op';
      readonly op: string;
      readonly fd?: number;
      readonly line: number;
      readonly start: number;
      readonly end: number;
    }
  | { readonly type: 'newline'; readonly line: number; readonly start: number; readonly end: number }
  | { readonly type: 'eof'; readonly line: number; readonly start: number; readonly end: number };

/** A here-document waiting for its body; the lexer fills `body` after the next newline. */
export interface PendingHeredoc {
  readonly delimiter: string;
  readonly stripTabs: boolean;
  readonly expand: boolean;
  body?: Word;
}

export class ShellSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'ShellSyntaxError';
  }
}

const OPERATORS = [
  '<<-',
  '&&',
  '||',
  ';;',
  '<<',
  '>>',
  '>&',
  '<&',
  '<>',
  '>|',
  '&>',
  ';',
  '&',
  '|',
  '(',
  ')',
  '<',
  '>',
];
const OPERATOR_START = new Set(';&|()<>');
const SPECIAL_PARAMS = new Set(['@', '*', '#', '?', '$', '!', '-', '0']);

export class Lexer {
  #pos = 0;
  #line = 1;
  readonly #pending: PendingHeredoc[] = [];

  constructor(readonly source: string) {}

  get position(): number {
    return this.#pos;
  }

  /** Registers a here-document; its body is read after the next newline. */
  heredoc(delimiter: string, stripTabs: boolean, expand: boolean): PendingHeredoc {
    const h: PendingHeredoc = { delimiter, stripTabs, expand };
    this.#pending.push(h);
    return h;
  }

  next(): Token {
    const src = this.source;
    for (;;) {
      const c = src[this.#pos];
      if (c === ' ' || c === '\t' || c === '\r') {
        this.#pos++;
      } else if (c === '\\' && src[this.#pos + 1] === '\n') {
        this.#pos += 2;
        this.#line++;
      } else if (c === '#') {
        while (this.#pos < src.length && src[this.#pos] !== '\n') this.#pos++;
      } else break;
    }
    const start = this.#pos;
    const line = this.#line;
    if (this.#pos >= src.length) return { type: 'eof', line, start, end: start };
    const c = src[this.#pos] ?? '';
    if (c === '\n') {
      this.#pos++;
      this.#line++;
      this.#readHeredocs();
      return { type: 'newline', line, start, end: start + 1 };
    }
    if (OPERATOR_START.has(c)) {
      const op = OPERATORS.find((o) => src.startsWith(o, this.#pos)) ?? c;
      this.#pos += op.length;
      return { type: 'op', op, line, start, end: this.#pos };
    }
    // An IO number: digits directly before < or >.
    const io = /^(\d+)(?=[<>])/.exec(src.slice(this.#pos, this.#pos + 12));
    if (io?.[1] !== undefined) {
      this.#pos += io[1].length;
      const op = OPERATORS.find((o) => src.startsWith(o, this.#pos)) ?? '>';
      this.#pos += op.length;
      return { type: 'op', op, fd: Number(io[1]), line, start, end: this.#pos };
    }
    const parts = this.#readParts((ch) => ch === ' ' || ch === '\t' || ch === '\n' || OPERATOR_START.has(ch));
    return { type: 'word', word: { parts, raw: src.slice(start, this.#pos) }, line, start, end: this.#pos };
  }

  /** Reads word parts until `stop` says so at an unquoted character (or the end). */
  #readParts(stop: (ch: string) => boolean): Part[] {
    const src = this.source;
    const parts: Part[] = [];
    let text = '';
    let textQuoted = false;
    const flush = () => {
      if (text !== '') parts.push({ kind: 'literal', text, quoted: textQuoted });
      text = '';
    };
    const addText = (s: string, quoted: boolean) => {
      if (text !== '' && textQuoted !== quoted) flush();
      textQuoted = quoted;
      text += s;
    };
    while (this.#pos < src.length) {
      const c = src[this.#pos] ?? '';
      if (c === '\\') {
        const n = src[this.#pos + 1];
        if (n === '\n') {
          this.#pos += 2;
          this.#line++;
          continue;
        }
        if (n === undefined) {
          this.#pos++;
          addText('\\', false);
          continue;
        }
        addText(n, true);
        this.#pos += 2;
        continue;
      }
      if (stop(c)) break;
      if (c === "'") {
        const close = src.indexOf("'", this.#pos + 1);
        if (close < 0) throw new ShellSyntaxError('unterminated single quote', this.#line);
        const body = src.slice(this.#pos + 1, close);
        this.#line += countNewlines(body);
        addText(body, true);
        this.#pos = close + 1;
        continue;
      }
      if (c === '"') {
        this.#pos++;
        flush();
        this.#readDoubleQuoted(parts);
        continue;
      }
      if (c === '$') {
        const part = this.#readDollar(false);
        if (part === undefined) {
          addText('$', false);
          this.#pos++;
        } else {
          flush();
          parts.push(part);
        }
        continue;
      }
      if (c === '`') {
        flush();
        parts.push({ kind: 'command', source: this.#readBackquote(), quoted: false });
        continue;
      }
      if (c === '\n') this.#line++;
      addText(c, false);
      this.#pos++;
    }
    flush();
    return parts;
  }

  /** The inside of "...", after the opening quote; consumes the closing one. */
  #readDoubleQuoted(parts: Part[]): void {
    const src = this.source;
    let text = '';
    const flush = () => {
      if (text !== '') parts.push({ kind: 'literal', text, quoted: true });
      text = '';
    };
    const startLine = this.#line;
    for (;;) {
      if (this.#pos >= src.length) throw new ShellSyntaxError('unterminated double quote', startLine);
      const c = src[this.#pos] ?? '';
      if (c === '"') {
        this.#pos++;
        break;
      }
      if (c === '\\') {
        const n = src[this.#pos + 1] ?? '';
        if (n === '\n') {
          this.#pos += 2;
          this.#line++;
          continue;
        }
        if ('$`"\\'.includes(n) && n !== '') {
          text += n;
          this.#pos += 2;
          continue;
        }
        text += '\\';
        this.#pos++;
        continue;
      }
      if (c === '$') {
        const part = this.#readDollar(true);
        if (part === undefined) {
          text += '$';
          this.#pos++;
        } else {
          flush();
          parts.push(part);
        }
        continue;
      }
      if (c === '`') {
        flush();
        parts.push({ kind: 'command', source: this.#readBackquote(), quoted: true });
        continue;
      }
      if (c === '\n') this.#line++;
      text += c;
      this.#pos++;
    }
    flush();
    // "" is an empty word, not no word.
    if (parts.length === 0) parts.push({ kind: 'literal', text: '', quoted: true });
  }

  /** A $-expansion at the current position; undefined when the "$" is a plain character. */
  #readDollar(quoted: boolean): Part | undefined {
    const src = this.source;
    const n = src[this.#pos + 1] ?? '';
    if (n === '(' && src[this.#pos + 2] === '(') {
      this.#pos += 3;
      const source = this.#readBalanced('(', ')', 2);
      return { kind: 'arithmetic', source: source.slice(0, -1), quoted };
    }
    if (n === '(') {
      this.#pos += 2;
      return { kind: 'command', source: this.#readBalanced('(', ')', 1), quoted };
    }
    if (n === '{') {
      this.#pos += 2;
      return this.#readBraceParam(quoted);
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(this.#pos + 1, this.#pos + 200))?.[0];
    if (name !== undefined) {
      this.#pos += 1 + name.length;
      return { kind: 'param', name, quoted };
    }
    if (/[0-9]/.test(n) || SPECIAL_PARAMS.has(n)) {
      this.#pos += 2;
      return { kind: 'param', name: n, quoted };
    }
    return undefined;
  }

  /** ${...} after "${". */
  #readBraceParam(quoted: boolean): Part {
    const src = this.source;
    const rest = src.slice(this.#pos, this.#pos + 200);
    const length = /^#([A-Za-z_][A-Za-z0-9_]*|[0-9]+|[@*#?$!-])\}/.exec(rest);
    if (length?.[1] !== undefined) {
      this.#pos += length[0].length;
      return { kind: 'param', name: length[1], op: 'length', quoted };
    }
    const name = /^([A-Za-z_][A-Za-z0-9_]*|[0-9]+|[@*#?$!-])/.exec(rest)?.[1];
    if (name === undefined) throw new ShellSyntaxError(`bad substitution \${${rest.slice(0, 20)}`, this.#line);
    this.#pos += name.length;
    if (src[this.#pos] === '}') {
      this.#pos++;
      return { kind: 'param', name, quoted };
    }
    const op = [':-', ':=', ':+', ':?', '##', '%%', '-', '=', '+', '?', '#', '%'].find((o) =>
      src.startsWith(o, this.#pos),
    );
    if (op === undefined) throw new ShellSyntaxError(`bad substitution \${${name}${src[this.#pos] ?? ''}`, this.#line);
    this.#pos += op.length;
    const word = this.#readParts((ch) => ch === '}');
    if (src[this.#pos] !== '}') throw new ShellSyntaxError(`unterminated \${${name}${op}`, this.#line);
    this.#pos++;
    return { kind: 'param', name, op, word, quoted };
  }

  /**
   * The text up to the parenthesis that closes `depth` open ones (consumed, not
   * returned), skipping quoted text and nested substitutions.
   */
  #readBalanced(open: string, close: string, depth: number): string {
    const src = this.source;
    const start = this.#pos;
    const startLine = this.#line;
    let level = depth;
    while (this.#pos < src.length) {
      const c = src[this.#pos] ?? '';
      if (c === '\\') {
        if (src[this.#pos + 1] === '\n') this.#line++;
        this.#pos += 2;
        continue;
      }
      if (c === "'") {
        const end = src.indexOf("'", this.#pos + 1);
        if (end < 0) break;
        this.#line += countNewlines(src.slice(this.#pos, end));
        this.#pos = end + 1;
        continue;
      }
      if (c === '"') {
        this.#pos++;
        this.#readDoubleQuoted([]);
        continue;
      }
      if (c === '\n') this.#line++;
      if (c === open) level++;
      if (c === close) {
        level--;
        if (level === 0) {
          this.#pos++;
          return src.slice(start, this.#pos - 1);
        }
      }
      this.#pos++;
    }
    throw new ShellSyntaxError(`unterminated ${open === '(' ? '$(' : open}`, startLine);
  }

  #readBackquote(): string {
    const src = this.source;
    const startLine = this.#line;
    this.#pos++;
    let out = '';
    while (this.#pos < src.length) {
      const c = src[this.#pos] ?? '';
      if (c === '\\' && '$`\\'.includes(src[this.#pos + 1] ?? 'x')) {
        out += src[this.#pos + 1] ?? '';
        this.#pos += 2;
        continue;
      }
      if (c === '`') {
        this.#pos++;
        return out;
      }
      if (c === '\n') this.#line++;
      out += c;
      this.#pos++;
    }
    throw new ShellSyntaxError('unterminated backquote', startLine);
  }

  /** Reads the bodies of the pending here-documents, starting at the current position (a line start). */
  #readHeredocs(): void {
    const src = this.source;
    while (this.#pending.length > 0) {
      const h = this.#pending.shift();
      if (h === undefined) break;
      const lines: string[] = [];
      for (;;) {
        if (this.#pos >= src.length)
          throw new ShellSyntaxError(`here-document ${h.delimiter} is not closed`, this.#line);
        const nl = src.indexOf('\n', this.#pos);
        const end = nl < 0 ? src.length : nl;
        let text = src.slice(this.#pos, end);
        this.#pos = nl < 0 ? src.length : nl + 1;
        this.#line++;
        if (h.stripTabs) text = text.replace(/^\t+/, '');
        if (text === h.delimiter) break;
        lines.push(text);
      }
      const raw = lines.map((l) => `${l}\n`).join('');
      h.body = h.expand ? heredocWord(raw) : { parts: [{ kind: 'literal', text: raw, quoted: true }], raw };
    }
  }
}

/** A here-document body with expansions: like the inside of double quotes, but " is an ordinary character. */
function heredocWord(raw: string): Word {
  // Read it as "<body>": keep backslashes that would not escape in a here-document, and protect every ".
  const escaped = raw.replace(/\\(?=[^$`\\\n])/g, '\\\\').replace(/"/g, '\\"');
  const token = new Lexer(`"${escaped}"`).next();
  return { parts: token.type === 'word' ? token.word.parts : [], raw };
}

function countNewlines(s: string): number {
  let n = 0;
  for (const ch of s) if (ch === '\n') n++;
  return n;
}
