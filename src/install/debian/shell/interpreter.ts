/**
 * Runs a parsed shell script symbolically. Builtins, functions and control
 * flow are evaluated here; every other command goes to the host, which
 * decides what it means. Conditions are three-valued: when one cannot be told
 * (UNKNOWN), both ways are followed and what happens on them is marked
 * uncertain, so the host can tell "the script does this" from "the script
 * may do this".
 */
import type { Case, Command, For, FunctionDef, Group, If, List, Loop, Node, Redirect, SimpleCommand } from './ast.js';
import { expandFields, expandPattern, expandString, type ExpansionScope } from './expand.js';
import { parseScript } from './parser.js';
import { matchesPattern } from './pattern.js';
import { evaluateTest, type FileTest } from './test-expr.js';
import { isKnown, not, statusOf, UNKNOWN, type Status, type Value } from './value.js';

/** One command the host is asked to run. */
export interface Invocation {
  readonly name: string;
  readonly args: readonly Value[];
  /** Variables given to this command only (NAME=value cmd). */
  readonly env: ReadonlyMap<string, Value>;
  /** Here-document, input redirection or pipe; undefined when nothing was given. */
  readonly stdin: Value | undefined;
  /** False when the command runs only on some of the paths bootforge cannot tell apart. */
  readonly certain: boolean;
  readonly command: SimpleCommand;
  readonly cwd: Value;
  readonly umask: number;
  /** Inside $(...) or `...`: its output is used, it is not shown. */
  readonly captured: boolean;
}

export interface Outcome {
  readonly status: Status;
  /** What the command prints; UNKNOWN (the default) when the host cannot tell. */
  readonly stdout?: Value;
  /** Shell variables the command sets (debconf's db_get sets RET). */
  readonly assign?: ReadonlyMap<string, Value>;
}

export interface ShellHost {
  /** Any command that is not a builtin or a function of the script. */
  run(inv: Invocation): Outcome;
  /** Answers test -e, -f, -d, -L, -x, -s ... on the system being built. */
  readonly fileTest: FileTest;
  /** `command -v NAME` for a program: its path, or '' when there is none. */
  which(name: string): Value;
  /** A file's content, when the host has it (for `< file`). */
  readFile(path: string, cwd: Value): Value;
  /** Output redirected to a file (`> path`, `>> path`); the data is UNKNOWN when the command's output is. */
  writeFile(path: Value, data: Value, append: boolean, inv: Invocation): void;
}

export interface ShellOptions {
  readonly positional: readonly Value[];
  readonly variables?: Readonly<Record<string, string>>;
  readonly scriptName?: string;
}

/** Control flow (exit, return, break, continue) unwinds the evaluator as exceptions. */
class ExitSignal extends Error {
  constructor(readonly status: Status) {
    super('exit');
  }
}
class ReturnSignal extends Error {
  constructor(readonly status: Status) {
    super('return');
  }
}
class LoopSignal extends Error {
  constructor(
    readonly kind: 'break' | 'continue',
    readonly levels: number,
  ) {
    super(kind);
  }
}

interface Frame {
  positional: Value[];
  readonly locals: Map<string, Value | undefined>[];
  /** An uncertain `return` or `exit` happened: everything after it in this frame is uncertain. */
  tainted: boolean;
}

/** What a subshell or command substitution restores when it ends. */
interface Snapshot {
  readonly globals: Map<string, Value>;
  readonly cwd: Value;
  readonly umask: number;
  readonly positional: Value[];
}

interface Result {
  readonly status: Status;
  readonly out: Value;
}

const MAX_DEPTH = 64;
const MAX_ITERATIONS = 500;
const BUILTINS = new Set([
  ':',
  'true',
  'false',
  'exit',
  'return',
  'break',
  'continue',
  'set',
  'shift',
  'local',
  'export',
  'readonly',
  'unset',
  'umask',
  'cd',
  'echo',
  'printf',
  'test',
  '[',
  'read',
  'trap',
  'wait',
  'command',
  'type',
  'hash',
  'ulimit',
  'exec',
  'getopts',
]);

export class Shell implements ExpansionScope {
  readonly #host: ShellHost;
  readonly #globals = new Map<string, Value>();
  readonly #functions = new Map<string, FunctionDef>();
  readonly #frames: Frame[] = [];
  readonly #stdin: { lines: string[] | undefined }[] = [];
  #certain = true;
  #exitTainted = false;
  #captured = 0;
  #cwd: Value = '/';
  #oldCwd: Value = '/';
  #umask = 0o022;
  #lastStatus: Status = 0;

  constructor(host: ShellHost, options: ShellOptions) {
    this.#host = host;
    for (const [k, v] of Object.entries(options.variables ?? {})) this.#globals.set(k, v);
    this.#globals.set('0', options.scriptName ?? 'sh');
    this.#frames.push({ positional: [...options.positional], locals: [], tainted: false });
  }

  /** Runs a whole script; returns its exit status. */
  runScript(source: string): Status {
    return this.runList(parseScript(source));
  }

  runList(list: List): Status {
    try {
      return this.#list(list).status;
    } catch (e) {
      if (e instanceof ExitSignal) return e.status;
      if (e instanceof ReturnSignal || e instanceof LoopSignal) return 0;
      throw e;
    }
  }

  // ---------------------------------------------------------------- scope

  get certain(): boolean {
    return this.#certain && !this.#exitTainted && !this.#frame.tainted;
  }

  get #frame(): Frame {
    return this.#frames[this.#frames.length - 1] as Frame;
  }

  lookup(name: string): Value | undefined {
    if (/^[1-9]$/.test(name)) return this.#frame.positional[Number(name) - 1];
    if (name === '?') return this.#lastStatus === UNKNOWN ? UNKNOWN : String(this.#lastStatus);
    if (name === '$') return '4242';
    if (name === '!') return UNKNOWN;
    if (name === '-') return '';
    const locals = this.#frame.locals;
    for (let i = locals.length - 1; i >= 0; i--) {
      const scope = locals[i];
      if (scope?.has(name)) return scope.get(name);
    }
    return this.#globals.get(name);
  }

  positional(): readonly Value[] {
    return this.#frame.positional;
  }

  /** Sets a variable; on an uncertain path a changed value becomes UNKNOWN. */
  assign(name: string, value: Value | undefined): void {
    const next = this.certain || this.lookup(name) === value ? value : UNKNOWN;
    const locals = this.#frame.locals;
    for (let i = locals.length - 1; i >= 0; i--) {
      const scope = locals[i];
      if (scope?.has(name)) {
        scope.set(name, next);
        return;
      }
    }
    if (next === undefined) this.#globals.delete(name);
    else this.#globals.set(name, next);
  }

  substitute(source: string): Value {
    let list: List;
    try {
      list = parseScript(source);
    } catch {
      return UNKNOWN;
    }
    const saved = this.#snapshot();
    this.#captured++;
    try {
      const r = this.#list(list);
      this.#lastStatus = r.status;
      return r.out === UNKNOWN ? UNKNOWN : r.out.replace(/\n+$/, '');
    } catch (e) {
      if (e instanceof ExitSignal || e instanceof ReturnSignal || e instanceof LoopSignal) return UNKNOWN;
      throw e;
    } finally {
      this.#captured--;
      this.#restore(saved);
    }
  }

  #snapshot(): Snapshot {
    return {
      globals: new Map(this.#globals),
      cwd: this.#cwd,
      umask: this.#umask,
      positional: [...this.#frame.positional],
    };
  }

  #restore(s: Snapshot): void {
    this.#globals.clear();
    for (const [k, v] of s.globals) this.#globals.set(k, v);
    this.#cwd = s.cwd;
    this.#umask = s.umask;
    this.#frame.positional = s.positional;
  }

  #uncertainly<T>(fn: () => T): T {
    const saved = this.#certain;
    this.#certain = false;
    try {
      return fn();
    } finally {
      this.#certain = saved;
    }
  }

  // ---------------------------------------------------------------- control flow

  #list(list: List): Result {
    let status: Status = 0;
    let out: Value = '';
    for (const node of list) {
      const r = this.#node(node);
      status = r.status;
      this.#lastStatus = status;
      out = concat(out, r.out);
    }
    return { status, out };
  }

  #node(node: Node): Result {
    switch (node.kind) {
      case 'pipeline': {
        let stdin: Value | undefined;
        let last: Result = { status: 0, out: '' };
        node.commands.forEach((c, i) => {
          last = this.#command(c, stdin);
          if (i < node.commands.length - 1) stdin = last.out;
        });
        const status = node.commands.length > 1 && last.status !== 0 ? UNKNOWN : last.status;
        return { status: node.negated ? not(status) : status, out: last.out };
      }
      case 'andor': {
        let r = this.#node(node.first);
        let out = r.out;
        let uncertainFromHere = false;
        for (const { op, node: next } of node.rest) {
          const run = op === '&&' ? r.status === 0 : r.status !== 0 && r.status !== UNKNOWN;
          if (r.status === UNKNOWN || uncertainFromHere) {
            uncertainFromHere = true;
            const prev = r.status;
            const nr = this.#uncertainly(() => this.#node(next));
            r = { status: prev === nr.status ? prev : UNKNOWN, out: UNKNOWN };
            out = UNKNOWN;
            continue;
          }
          if (run) {
            r = this.#node(next);
            out = concat(out, r.out);
          }
        }
        return { status: r.status, out };
      }
      default:
        return this.#command(node, undefined);
    }
  }

  #command(c: Command, stdin: Value | undefined): Result {
    if (this.#frames.length > MAX_DEPTH) return { status: UNKNOWN, out: UNKNOWN };
    switch (c.kind) {
      case 'simple':
        return this.#simple(c, stdin);
      case 'if':
        return this.#if(c);
      case 'case':
        return this.#case(c);
      case 'for':
        return this.#for(c);
      case 'while':
      case 'until':
        return this.#loop(c);
      case 'group':
      case 'subshell':
        return this.#group(c);
      case 'function':
        this.#functions.set(c.name, c);
        return { status: 0, out: '' };
    }
  }

  #if(c: If): Result {
    let doubt = false;
    let out: Value = '';
    for (const branch of c.branches) {
      const cond = doubt ? this.#uncertainly(() => this.#list(branch.condition)) : this.#list(branch.condition);
      if (cond.status === 1 || (typeof cond.status === 'number' && cond.status !== 0)) continue;
      if (cond.status === 0 && !doubt) {
        const r = this.#list(branch.body);
        return { status: r.status, out: concat(out, r.out) };
      }
      doubt = true;
      this.#uncertainly(() => this.#list(branch.body));
      out = UNKNOWN;
    }
    if (c.otherwise !== undefined) {
      const otherwise = c.otherwise;
      const r = doubt ? this.#uncertainly(() => this.#list(otherwise)) : this.#list(otherwise);
      return { status: doubt ? UNKNOWN : r.status, out: doubt ? UNKNOWN : r.out };
    }
    return { status: doubt ? UNKNOWN : 0, out };
  }

  #case(c: Case): Result {
    const subject = expandString(c.subject, this);
    let doubt = subject === UNKNOWN;
    for (const item of c.items) {
      let match: boolean | typeof UNKNOWN = false;
      for (const p of item.patterns) {
        const pattern = expandPattern(p, this);
        if (subject === UNKNOWN || pattern === UNKNOWN) match = UNKNOWN;
        else if (matchesPattern(subject, pattern)) {
          match = true;
          break;
        }
      }
      if (match === false) continue;
      if (match === true && !doubt) return this.#list(item.body);
      this.#uncertainly(() => this.#list(item.body));
      doubt = true;
    }
    return { status: doubt ? UNKNOWN : 0, out: doubt ? UNKNOWN : '' };
  }

  #for(c: For): Result {
    const words: Value[] =
      c.words === undefined ? [...this.#frame.positional] : c.words.flatMap((w) => expandFields(w, this));
    if (words.some((w) => w === UNKNOWN) || words.length > MAX_ITERATIONS) {
      return this.#uncertainly(() => {
        this.assign(c.variable, UNKNOWN);
        this.#loopBody(c.body);
        return { status: UNKNOWN, out: UNKNOWN };
      });
    }
    let r: Result = { status: 0, out: '' };
    let out: Value = '';
    for (const w of words) {
      this.assign(c.variable, w);
      const step = this.#loopBody(c.body);
      r = step.result;
      out = concat(out, r.out);
      if (step.stop) break;
    }
    return { status: r.status, out };
  }

  /** One pass through a loop body; `stop` when it broke out (or might have). */
  #loopBody(body: List): { result: Result; stop: boolean } {
    try {
      return { result: this.#list(body), stop: false };
    } catch (e) {
      if (!(e instanceof LoopSignal)) throw e;
      if (e.levels > 1) throw new LoopSignal(e.kind, e.levels - 1);
      return { result: { status: 0, out: '' }, stop: e.kind === 'break' };
    }
  }

  #loop(c: Loop): Result {
    const input = this.#inputOf(c.redirects);
    if (input !== undefined) this.#stdin.push({ lines: input === UNKNOWN ? undefined : splitLines(input) });
    try {
      let out: Value = '';
      for (let i = 0; ; i++) {
        if (i >= MAX_ITERATIONS) return { status: UNKNOWN, out: UNKNOWN };
        const cond = this.#list(c.condition);
        const go = c.kind === 'while' ? cond.status : not(cond.status);
        if (go !== 0 && go !== UNKNOWN) return { status: 0, out };
        if (go === UNKNOWN) {
          this.#uncertainly(() => this.#loopBody(c.body));
          return { status: UNKNOWN, out: UNKNOWN };
        }
        const wasCertain = this.certain;
        const step = this.#loopBody(c.body);
        out = concat(out, step.result.out);
        if (step.stop) return { status: 0, out };
        // A loop that may have ended on an uncertain path is not followed further.
        if (wasCertain && !this.certain) return { status: UNKNOWN, out: UNKNOWN };
      }
    } finally {
      if (input !== undefined) this.#stdin.pop();
    }
  }

  #group(c: Group): Result {
    const input = this.#inputOf(c.redirects);
    if (input !== undefined) this.#stdin.push({ lines: input === UNKNOWN ? undefined : splitLines(input) });
    try {
      if (c.kind === 'group') return this.#list(c.body);
      const saved = this.#snapshot();
      try {
        return this.#list(c.body);
      } catch (e) {
        if (e instanceof ExitSignal) return { status: e.status, out: UNKNOWN };
        throw e;
      } finally {
        this.#restore(saved);
      }
    } finally {
      if (input !== undefined) this.#stdin.pop();
    }
  }

  /** The input a compound command's redirections give: a here-document or `< file`. */
  #inputOf(redirects: readonly Redirect[]): Value | undefined {
    let input: Value | undefined;
    for (const r of redirects) {
      if (r.fd !== undefined && r.fd !== 0) continue;
      if (r.op === '<<' || r.op === '<<-') {
        const h = r.heredoc;
        input = h === undefined ? UNKNOWN : h.expand ? expandString(h.body, this) : expandString(h.body.parts, this);
      } else if (r.op === '<') {
        const path = expandString(r.target, this);
        input = path === UNKNOWN ? UNKNOWN : this.#host.readFile(path, this.#cwd);
      }
    }
    return input;
  }

  // ---------------------------------------------------------------- simple commands

  #simple(c: SimpleCommand, pipeIn: Value | undefined): Result {
    const argv = c.words.flatMap((w) => expandFields(w, this));
    const env = new Map<string, Value>();
    // Assignments take effect one after the other: a=1 b=$a gives b=1.
    for (const a of c.assignments) {
      const value = expandString(a.value, this);
      env.set(a.name, value);
      if (argv.length === 0) this.assign(a.name, value);
    }
    const stdin = this.#inputOf(c.redirects) ?? pipeIn;
    const output = this.#outputOf(c.redirects);

    if (argv.length === 0) {
      if (output.kind === 'file')
        this.#host.writeFile(output.path, '', output.append, this.#invocation(c, ':', [], env, stdin));
      const status =
        c.words.length > 0 || c.assignments.some((a) => a.value.parts.some((p) => p.kind === 'command'))
          ? this.#lastStatus
          : 0;
      return { status, out: '' };
    }
    const [name, ...args] = argv;
    let outcome: Outcome;
    if (name === UNKNOWN || name === undefined) {
      this.#host.run(this.#invocation(c, '', argv, env, stdin));
      outcome = { status: UNKNOWN, stdout: UNKNOWN };
    } else {
      const fn = this.#functions.get(name);
      if (fn !== undefined) outcome = this.#call(fn, args, env);
      else if (BUILTINS.has(name)) outcome = this.#builtin(c, name, args, env, stdin);
      else outcome = this.#host.run(this.#invocation(c, name, args, env, stdin));
    }
    for (const [k, v] of outcome.assign ?? []) this.assign(k, v);
    const stdout = outcome.stdout ?? UNKNOWN;
    if (output.kind === 'file') {
      this.#host.writeFile(output.path, stdout, output.append, this.#invocation(c, name ?? '', args, env, stdin));
      return { status: outcome.status, out: '' };
    }
    return { status: outcome.status, out: output.kind === 'discard' ? '' : stdout };
  }

  #invocation(
    command: SimpleCommand,
    name: Value,
    args: readonly Value[],
    env: ReadonlyMap<string, Value>,
    stdin: Value | undefined,
  ): Invocation {
    return {
      name: name === UNKNOWN ? '' : name,
      args,
      env,
      stdin,
      certain: this.certain,
      command,
      cwd: this.#cwd,
      umask: this.#umask,
      captured: this.#captured > 0,
    };
  }

  /** Where standard output goes: to the caller, nowhere, or a file. */
  #outputOf(
    redirects: readonly Redirect[],
  ): { kind: 'stdout' } | { kind: 'discard' } | { kind: 'file'; path: Value; append: boolean } {
    let out: { kind: 'stdout' } | { kind: 'discard' } | { kind: 'file'; path: Value; append: boolean } = {
      kind: 'stdout',
    };
    for (const r of redirects) {
      const fd = r.fd ?? (r.op.startsWith('<') ? 0 : 1);
      if (r.op === '&>') {
        const path = expandString(r.target, this);
        out = path === '/dev/null' ? { kind: 'discard' } : { kind: 'file', path, append: false };
        continue;
      }
      if (fd !== 1 || r.op.startsWith('<')) continue;
      if (r.op === '>&') {
        out = { kind: 'discard' };
        continue;
      }
      const path = expandString(r.target, this);
      if (path === '/dev/null') out = { kind: 'discard' };
      else out = { kind: 'file', path, append: r.op === '>>' };
    }
    return out;
  }

  #call(fn: FunctionDef, args: readonly Value[], env: ReadonlyMap<string, Value>): Outcome {
    for (const [k, v] of env) this.assign(k, v);
    this.#frames.push({ positional: [...args], locals: [], tainted: false });
    try {
      const r = this.#command(fn.body, undefined);
      return { status: r.status, stdout: r.out };
    } catch (e) {
      if (e instanceof ReturnSignal) return { status: e.status, stdout: UNKNOWN };
      throw e;
    } finally {
      // An uncertain return inside the function leaves the caller's certainty as it was.
      this.#frames.pop();
    }
  }

  // ---------------------------------------------------------------- builtins

  #builtin(
    c: SimpleCommand,
    name: string,
    args: readonly Value[],
    env: ReadonlyMap<string, Value>,
    stdin: Value | undefined,
  ): Outcome {
    const ok: Outcome = { status: 0, stdout: '' };
    switch (name) {
      case ':':
      case 'true':
      case 'trap':
      case 'wait':
      case 'hash':
      case 'ulimit':
        return ok;
      case 'false':
        return { status: 1, stdout: '' };
      case 'exit':
      case 'return': {
        const status = exitStatus(args[0], this.#lastStatus);
        if (!this.certain) {
          // An install that happened did not fail: a path that exits non-zero was not taken.
          if (name === 'exit' && status !== 0) return { status, stdout: '' };
          if (name === 'exit') this.#exitTainted = true;
          else this.#frame.tainted = true;
          return { status, stdout: '' };
        }
        throw name === 'exit' ? new ExitSignal(status) : new ReturnSignal(status);
      }
      case 'break':
      case 'continue': {
        if (!this.certain) {
          this.#frame.tainted = true;
          return ok;
        }
        const n = args[0] === undefined ? 1 : Number(args[0]);
        throw new LoopSignal(name, Number.isInteger(n) && n > 0 ? n : 1);
      }
      case 'set': {
        const dd = args.indexOf('--');
        if (dd >= 0) this.#frame.positional = args.slice(dd + 1);
        else if (args.length > 0 && !args.every((a) => typeof a === 'string' && /^[-+][a-z]+$/.test(a))) {
          this.#frame.positional = [...args];
        }
        return ok;
      }
      case 'shift': {
        const n = args[0] === undefined ? 1 : Number(args[0]);
        this.#frame.positional = this.#frame.positional.slice(Number.isFinite(n) ? n : 1);
        return ok;
      }
      case 'local':
      case 'export':
      case 'readonly':
        for (const a of args) {
          if (a === UNKNOWN) continue;
          const eq = a.indexOf('=');
          const varName = eq < 0 ? a : a.slice(0, eq);
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(varName)) continue;
          if (name === 'local' && this.#frames.length > 1) {
            const locals = this.#frame.locals;
            if (locals.length === 0) locals.push(new Map());
            const scope = locals[locals.length - 1];
            if (scope !== undefined && !scope.has(varName)) scope.set(varName, undefined);
          }
          if (eq >= 0) this.assign(varName, a.slice(eq + 1));
        }
        return ok;
      case 'unset':
        for (const a of args) if (isKnown(a) && !a.startsWith('-')) this.assign(a, undefined);
        return ok;
      case 'umask': {
        const m = args[0];
        if (m === undefined) return { status: 0, stdout: `${this.#umask.toString(8).padStart(4, '0')}\n` };
        if (m !== UNKNOWN && /^[0-7]{1,4}$/.test(m)) this.#umask = parseInt(m, 8);
        return ok;
      }
      case 'cd': {
        const target = args[0] ?? '/root';
        const next = target === '-' ? this.#oldCwd : target === UNKNOWN ? UNKNOWN : resolveCwd(this.#cwd, target);
        this.#oldCwd = this.#cwd;
        this.#cwd = next;
        return { status: next === UNKNOWN ? UNKNOWN : this.#host.fileTest('-d', next) === false ? 1 : 0, stdout: '' };
      }
      case 'echo':
        return { status: 0, stdout: echo(args) };
      case 'printf':
        return { status: 0, stdout: printf(args) };
      case 'test':
      case '[': {
        const list = name === '[' && args[args.length - 1] === ']' ? args.slice(0, -1) : args;
        return { status: statusOf(evaluateTest(list, this.#host.fileTest)), stdout: '' };
      }
      case 'read':
        return this.#read(args, stdin);
      case 'getopts':
        return { status: UNKNOWN, stdout: '' };
      case 'command':
      case 'type': {
        const [first, ...rest] = args;
        if (first === '-v' || first === '-V' || name === 'type') {
          const target = name === 'type' ? first : rest[0];
          const found = this.#which(target);
          return {
            status: found === UNKNOWN ? UNKNOWN : found === '' ? 1 : 0,
            stdout: found === UNKNOWN ? UNKNOWN : found === '' ? '' : `${found}\n`,
          };
        }
        if (first === undefined || first === UNKNOWN) return { status: UNKNOWN, stdout: UNKNOWN };
        const fn = BUILTINS.has(first)
          ? this.#builtin(c, first, rest, env, stdin)
          : this.#host.run(this.#invocation(c, first, rest, env, stdin));
        return fn;
      }
      case 'exec': {
        const [first, ...rest] = args;
        if (first === undefined) return ok;
        if (first === UNKNOWN) return { status: UNKNOWN, stdout: UNKNOWN };
        const r = this.#host.run(this.#invocation(c, first, rest, env, stdin));
        if (this.certain) throw new ExitSignal(r.status);
        this.#exitTainted = true;
        return r;
      }
      default:
        return { status: UNKNOWN, stdout: UNKNOWN };
    }
  }

  #which(name: Value | undefined): Value {
    if (name === undefined) return '';
    if (name === UNKNOWN) return UNKNOWN;
    if (this.#functions.has(name) || BUILTINS.has(name)) return name;
    return this.#host.which(name);
  }

  #read(args: readonly Value[], stdin: Value | undefined): Outcome {
    const names = args.filter((a): a is string => isKnown(a) && !a.startsWith('-'));
    const buffer = this.#stdin[this.#stdin.length - 1];
    let line: string | undefined;
    let known = true;
    if (stdin !== undefined) {
      if (stdin === UNKNOWN) known = false;
      else line = splitLines(stdin)[0];
    } else if (buffer?.lines !== undefined) {
      line = buffer.lines.shift();
    } else known = false;
    if (!known) {
      for (const n of names) this.assign(n, UNKNOWN);
      return { status: UNKNOWN, stdout: '' };
    }
    if (line === undefined) return { status: 1, stdout: '' };
    const fields = line.trim().split(/[ \t]+/);
    names.forEach((n, i) => {
      const value = i === names.length - 1 ? fields.slice(i).join(' ') : (fields[i] ?? '');
      this.assign(n, value);
    });
    return { status: 0, stdout: '' };
  }
}

function concat(a: Value, b: Value): Value {
  return a === UNKNOWN || b === UNKNOWN ? UNKNOWN : a + b;
}

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function exitStatus(arg: Value | undefined, last: Status): Status {
  if (arg === undefined) return last;
  if (arg === UNKNOWN) return UNKNOWN;
  const n = Number(arg);
  return Number.isInteger(n) ? n & 0xff : 2;
}

function resolveCwd(cwd: Value, target: string): Value {
  if (target.startsWith('/')) return normalise(target);
  if (cwd === UNKNOWN) return UNKNOWN;
  return normalise(`${cwd}/${target}`);
}

export function normalise(path: string): string {
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}

/** dash's echo: -n, and backslash escapes always on. */
function echo(args: readonly Value[]): Value {
  let list = args;
  let newline = true;
  if (list[0] === '-n') {
    newline = false;
    list = list.slice(1);
  }
  if (list.some((a) => a === UNKNOWN)) return UNKNOWN;
  let text = (list as string[]).join(' ');
  const cut = text.indexOf('\\c');
  if (cut >= 0) {
    text = text.slice(0, cut);
    newline = false;
  }
  return unescape(text) + (newline ? '\n' : '');
}

/** printf with %s, %d, %b and %% conversions; anything fancier is unknown. */
function printf(args: readonly Value[]): Value {
  if (args.some((a) => a === UNKNOWN)) return UNKNOWN;
  const [format = '', ...rest] = args as string[];
  let out = '';
  let i = 0;
  do {
    let bad = false;
    const chunk = format.replace(/%([%sdb])|%[^%sdb]/g, (m, conv: string | undefined) => {
      if (conv === undefined) {
        bad = true;
        return m;
      }
      if (conv === '%') return '%';
      const arg = rest[i++] ?? '';
      return conv === 'd' ? String(parseInt(arg, 10) || 0) : conv === 'b' ? unescape(arg) : arg;
    });
    if (bad) return UNKNOWN;
    out += unescape(chunk);
  } while (i < rest.length && /%[sdb]/.test(format));
  return out;
}

function unescape(text: string): string {
  return text.replace(/\\(0[0-7]{0,3}|[abfnrtv\\])/g, (_m, e: string) => {
    if (e.startsWith('0')) return String.fromCharCode(parseInt(e, 8) || 0);
    return { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' }[e] ?? e;
  });
}
