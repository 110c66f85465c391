/**
 * A recursive-descent parser for the shell subset of ast.ts (POSIX grammar,
 * simplified: no arithmetic commands, no [[ ]], no select).
 */
import type {
  Assignment,
  Case,
  Command,
  For,
  FunctionDef,
  Group,
  If,
  List,
  Loop,
  Node,
  Redirect,
  SimpleCommand,
  Word,
} from './ast.js';
import { Lexer, ShellSyntaxError, type Token } from './lexer.js';

export { ShellSyntaxError } from './lexer.js';

const REDIRECT_OPS = new Set(['<', '>', '>>', '>|', '<>', '>&', '<&', '&>', '<<', '<<-']);
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parses a whole script. Throws ShellSyntaxError on what it cannot read. */
export function parseScript(source: string): List {
  return new Parser(source).script();
}

class Parser {
  readonly #lexer: Lexer;
  readonly #ahead: Token[] = [];
  #last: Token | undefined;

  constructor(readonly source: string) {
    this.#lexer = new Lexer(source);
  }

  script(): List {
    const list = this.#list(new Set());
    const t = this.#peek();
    if (t.type !== 'eof') throw new ShellSyntaxError(`unexpected ${describe(t)}`, t.line);
    return list;
  }

  #peek(n = 0): Token {
    while (this.#ahead.length <= n) this.#ahead.push(this.#lexer.next());
    return this.#ahead[n] as Token;
  }

  #take(): Token {
    const t = this.#peek();
    this.#ahead.shift();
    this.#last = t;
    return t;
  }

  #skipNewlines(): void {
    while (this.#peek().type === 'newline') this.#take();
  }

  /** The reserved word a token is, if it is an unquoted literal one. */
  #keyword(t: Token): string | undefined {
    if (t.type !== 'word') return undefined;
    const [p, ...rest] = t.word.parts;
    return rest.length === 0 && p?.kind === 'literal' && !p.quoted ? p.text : undefined;
  }

  #isOp(t: Token, op: string): boolean {
    return t.type === 'op' && t.op === op && t.fd === undefined;
  }

  #expectKeyword(word: string): void {
    const t = this.#take();
    if (this.#keyword(t) !== word) throw new ShellSyntaxError(`expected "${word}", found ${describe(t)}`, t.line);
  }

  #expectOp(op: string): void {
    const t = this.#take();
    if (!this.#isOp(t, op)) throw new ShellSyntaxError(`expected "${op}", found ${describe(t)}`, t.line);
  }

  /** Commands up to (not including) a terminating keyword or operator in `end`. */
  #list(end: ReadonlySet<string>): List {
    const nodes: Node[] = [];
    this.#skipNewlines();
    for (;;) {
      const t = this.#peek();
      if (t.type === 'eof') break;
      const kw = this.#keyword(t);
      if (kw !== undefined && end.has(kw)) break;
      if (t.type === 'op' && end.has(t.op)) break;
      nodes.push(this.#andOr());
      const sep = this.#peek();
      if (sep.type === 'op' && (sep.op === ';' || sep.op === '&')) {
        this.#take();
        this.#skipNewlines();
      } else if (sep.type === 'newline') {
        this.#skipNewlines();
      } else break;
    }
    return nodes;
  }

  #andOr(): Node {
    const first = this.#pipeline();
    const rest: { op: '&&' | '||'; node: Node }[] = [];
    for (;;) {
      const t = this.#peek();
      if (!(t.type === 'op' && (t.op === '&&' || t.op === '||'))) break;
      this.#take();
      this.#skipNewlines();
      rest.push({ op: t.op, node: this.#pipeline() });
    }
    return rest.length === 0 ? first : { kind: 'andor', first, rest };
  }

  #pipeline(): Node {
    let negated = false;
    while (this.#keyword(this.#peek()) === '!') {
      this.#take();
      negated = !negated;
    }
    const commands: Command[] = [this.#command()];
    while (this.#isOp(this.#peek(), '|')) {
      this.#take();
      this.#skipNewlines();
      commands.push(this.#command());
    }
    const [only] = commands;
    return commands.length === 1 && !negated && only !== undefined ? only : { kind: 'pipeline', negated, commands };
  }

  #command(): Command {
    const t = this.#peek();
    switch (this.#keyword(t)) {
      case 'if':
        return this.#if();
      case 'case':
        return this.#case();
      case 'for':
        return this.#for();
      case 'while':
      case 'until':
        return this.#loop();
      case '{':
        return this.#group();
      case 'function':
        return this.#functionKeyword();
      default:
        break;
    }
    if (this.#isOp(t, '(')) return this.#subshell();
    const name = this.#keyword(t);
    if (name !== undefined && NAME.test(name) && this.#isOp(this.#peek(1), '(') && this.#isOp(this.#peek(2), ')')) {
      this.#take();
      this.#take();
      this.#take();
      this.#skipNewlines();
      return { kind: 'function', name, body: this.#command() } satisfies FunctionDef;
    }
    return this.#simple();
  }

  #functionKeyword(): FunctionDef {
    this.#take();
    const t = this.#take();
    const name = this.#keyword(t);
    if (name === undefined) throw new ShellSyntaxError(`expected a function name, found ${describe(t)}`, t.line);
    if (this.#isOp(this.#peek(), '(')) {
      this.#take();
      this.#expectOp(')');
    }
    this.#skipNewlines();
    return { kind: 'function', name, body: this.#command() };
  }

  #redirects(): Redirect[] {
    const out: Redirect[] = [];
    for (;;) {
      const t = this.#peek();
      if (t.type !== 'op' || !REDIRECT_OPS.has(t.op)) break;
      out.push(this.#redirect());
    }
    return out;
  }

  #redirect(): Redirect {
    const t = this.#take();
    if (t.type !== 'op') throw new ShellSyntaxError(`expected a redirection, found ${describe(t)}`, t.line);
    const target = this.#take();
    if (target.type !== 'word') {
      throw new ShellSyntaxError(`expected a file name after ${t.op}, found ${describe(target)}`, target.line);
    }
    const op = t.op as Redirect['op'];
    const fd = t.fd === undefined ? {} : { fd: t.fd };
    if (op !== '<<' && op !== '<<-') return { ...fd, op, target: target.word };
    const delimiter = target.word.parts.map((p) => (p.kind === 'literal' ? p.text : '')).join('');
    const expand = !/["'\\]/.test(target.word.raw);
    const pending = this.#lexer.heredoc(delimiter, op === '<<-', expand);
    // The body is read when the lexer passes the end of this line; the getter sees it then.
    return {
      ...fd,
      op,
      target: target.word,
      get heredoc() {
        return pending.body === undefined ? undefined : { body: pending.body, expand };
      },
    };
  }

  #simple(): SimpleCommand {
    const first = this.#peek();
    const assignments: Assignment[] = [];
    const words: Word[] = [];
    const redirects: Redirect[] = [];
    let end = first.start;
    for (;;) {
      const t = this.#peek();
      if (t.type === 'op' && REDIRECT_OPS.has(t.op)) {
        redirects.push(this.#redirect());
        end = this.#last?.end ?? end;
        continue;
      }
      if (t.type !== 'word') break;
      this.#take();
      end = t.end;
      const assignment = words.length === 0 ? assignmentOf(t.word) : undefined;
      if (assignment) assignments.push(assignment);
      else words.push(t.word);
    }
    if (assignments.length === 0 && words.length === 0 && redirects.length === 0) {
      throw new ShellSyntaxError(`unexpected ${describe(first)}`, first.line);
    }
    const source = this.source
      .slice(first.start, end)
      .replace(/[ \t]*\\\n[ \t]*/g, ' ')
      .trim();
    return { kind: 'simple', assignments, words, redirects, line: first.line, source };
  }

  #if(): If {
    this.#take();
    const branches: { condition: List; body: List }[] = [];
    let otherwise: List | undefined;
    for (;;) {
      const condition = this.#list(new Set(['then']));
      this.#expectKeyword('then');
      const body = this.#list(new Set(['elif', 'else', 'fi']));
      branches.push({ condition, body });
      const kw = this.#keyword(this.#take());
      if (kw === 'elif') continue;
      if (kw === 'else') {
        otherwise = this.#list(new Set(['fi']));
        this.#expectKeyword('fi');
      }
      break;
    }
    const redirects = this.#redirects();
    return otherwise === undefined
      ? { kind: 'if', branches, redirects }
      : { kind: 'if', branches, otherwise, redirects };
  }

  #case(): Case {
    this.#take();
    const subjectToken = this.#take();
    if (subjectToken.type !== 'word') throw new ShellSyntaxError('expected a word after "case"', subjectToken.line);
    this.#skipNewlines();
    this.#expectKeyword('in');
    this.#skipNewlines();
    const items: { patterns: Word[]; body: List }[] = [];
    while (this.#keyword(this.#peek()) !== 'esac') {
      if (this.#peek().type === 'eof') throw new ShellSyntaxError('"case" without "esac"', subjectToken.line);
      if (this.#isOp(this.#peek(), '(')) this.#take();
      const patterns: Word[] = [];
      for (;;) {
        const p = this.#take();
        if (p.type !== 'word') throw new ShellSyntaxError(`expected a case pattern, found ${describe(p)}`, p.line);
        patterns.push(p.word);
        if (this.#isOp(this.#peek(), '|')) {
          this.#take();
          continue;
        }
        break;
      }
      this.#expectOp(')');
      const body = this.#list(new Set([';;', 'esac']));
      items.push({ patterns, body });
      if (this.#isOp(this.#peek(), ';;')) this.#take();
      this.#skipNewlines();
    }
    this.#take();
    return { kind: 'case', subject: subjectToken.word, items, redirects: this.#redirects() };
  }

  #for(): For {
    this.#take();
    const nameToken = this.#take();
    const variable = this.#keyword(nameToken);
    if (variable === undefined || !NAME.test(variable)) {
      throw new ShellSyntaxError(`expected a variable name after "for"`, nameToken.line);
    }
    this.#skipNewlines();
    let words: Word[] | undefined;
    if (this.#keyword(this.#peek()) === 'in') {
      this.#take();
      words = [];
      for (;;) {
        const t = this.#peek();
        if (t.type !== 'word') break;
        this.#take();
        words.push(t.word);
      }
    }
    const sep = this.#peek();
    if (sep.type === 'op' && sep.op === ';') this.#take();
    this.#skipNewlines();
    this.#expectKeyword('do');
    const body = this.#list(new Set(['done']));
    this.#expectKeyword('done');
    const redirects = this.#redirects();
    return words === undefined
      ? { kind: 'for', variable, body, redirects }
      : { kind: 'for', variable, words, body, redirects };
  }

  #loop(): Loop {
    const kind = this.#keyword(this.#take()) === 'until' ? 'until' : 'while';
    const condition = this.#list(new Set(['do']));
    this.#expectKeyword('do');
    const body = this.#list(new Set(['done']));
    this.#expectKeyword('done');
    return { kind, condition, body, redirects: this.#redirects() };
  }

  #group(): Group {
    this.#take();
    const body = this.#list(new Set(['}']));
    this.#expectKeyword('}');
    return { kind: 'group', body, redirects: this.#redirects() };
  }

  #subshell(): Group {
    this.#take();
    const body = this.#list(new Set([')']));
    this.#expectOp(')');
    return { kind: 'subshell', body, redirects: this.#redirects() };
  }
}

/** NAME=value as the first words of a simple command (the name unquoted). */
function assignmentOf(word: Word): Assignment | undefined {
  const [first, ...rest] = word.parts;
  if (first?.kind !== 'literal' || first.quoted) return undefined;
  const m = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(first.text);
  if (m?.[1] === undefined) return undefined;
  const remainder = first.text.slice(m[0].length);
  const parts = remainder === '' ? rest : [{ ...first, text: remainder }, ...rest];
  return { name: m[1], value: { parts, raw: word.raw.slice(m[0].length) } };
}

function describe(t: Token): string {
  switch (t.type) {
    case 'word':
      return JSON.stringify(t.word.raw);
    case 'op':
      return `"${t.op}"`;
    case 'newline':
      return 'end of line';
    case 'eof':
      return 'end of script';
  }
}
