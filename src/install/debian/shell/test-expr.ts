/** test(1) / [ expressions, three-valued: a file test the host cannot answer, or an unknown operand, is UNKNOWN. */
import { UNKNOWN, type Unknown, type Value } from './value.js';

export type FileTest = (op: string, path: string) => boolean | Unknown;

const UNARY = new Set([
  '-e',
  '-f',
  '-d',
  '-L',
  '-h',
  '-x',
  '-r',
  '-w',
  '-s',
  '-b',
  '-c',
  '-p',
  '-S',
  '-g',
  '-u',
  '-k',
  '-O',
  '-G',
  '-N',
  '-t',
  '-n',
  '-z',
]);
const BINARY = new Set(['=', '==', '!=', '<', '>', '-eq', '-ne', '-lt', '-le', '-gt', '-ge', '-nt', '-ot', '-ef']);

type B = boolean | Unknown;

const and = (a: B, b: () => B): B => (a === false ? false : a === UNKNOWN ? (b() === false ? false : UNKNOWN) : b());
const or = (a: B, b: () => B): B => (a === true ? true : a === UNKNOWN ? (b() === true ? true : UNKNOWN) : b());
const neg = (a: B): B => (a === UNKNOWN ? UNKNOWN : !a);

export function evaluateTest(args: readonly Value[], fileTest: FileTest): B {
  const n = args.length;
  const is = (i: number, s: string) => args[i] === s;
  if (n === 0) return false;
  if (n === 1) return nonEmpty(args[0]);
  if (n === 2) {
    if (is(0, '!')) return neg(nonEmpty(args[1]));
    if (typeof args[0] === 'string' && UNARY.has(args[0])) return unary(args[0], args[1], fileTest);
  }
  if (n === 3) {
    if (typeof args[1] === 'string' && BINARY.has(args[1])) return binary(args[0], args[1], args[2]);
    if (is(0, '!')) return neg(evaluateTest(args.slice(1), fileTest));
    if (is(0, '(') && is(2, ')')) return nonEmpty(args[1]);
  }
  if (n === 4) {
    if (is(0, '!')) return neg(evaluateTest(args.slice(1), fileTest));
    if (is(0, '(') && is(3, ')')) return evaluateTest(args.slice(1, 3), fileTest);
  }
  return new Grammar(args, fileTest).run();
}

class Grammar {
  #i = 0;
  constructor(
    private readonly args: readonly Value[],
    private readonly fileTest: FileTest,
  ) {}

  run(): B {
    const v = this.#or();
    return this.#i === this.args.length ? v : UNKNOWN;
  }

  #peek(k = 0): Value | undefined {
    return this.args[this.#i + k];
  }

  #or(): B {
    let v = this.#and();
    while (this.#peek() === '-o') {
      this.#i++;
      const right = this.#and();
      v = or(v, () => right);
    }
    return v;
  }

  #and(): B {
    let v = this.#not();
    while (this.#peek() === '-a') {
      this.#i++;
      const right = this.#not();
      v = and(v, () => right);
    }
    return v;
  }

  #not(): B {
    if (this.#peek() === '!') {
      this.#i++;
      return neg(this.#not());
    }
    return this.#primary();
  }

  #primary(): B {
    const a = this.#peek();
    if (a === '(') {
      this.#i++;
      const v = this.#or();
      if (this.#peek() === ')') this.#i++;
      return v;
    }
    const op = this.#peek(1);
    if (typeof op === 'string' && BINARY.has(op) && this.#peek(2) !== undefined) {
      const b = this.#peek(2);
      this.#i += 3;
      return binary(a, op, b);
    }
    if (typeof a === 'string' && UNARY.has(a) && this.#peek(1) !== undefined) {
      this.#i += 2;
      return unary(a, op, this.fileTest);
    }
    this.#i++;
    return nonEmpty(a);
  }
}

function nonEmpty(v: Value | undefined): B {
  return v === UNKNOWN ? UNKNOWN : v !== undefined && v !== '';
}

function unary(op: string, v: Value | undefined, fileTest: FileTest): B {
  if (v === UNKNOWN || v === undefined) return UNKNOWN;
  if (op === '-n') return v !== '';
  if (op === '-z') return v === '';
  if (op === '-t') return false;
  return fileTest(op, v);
}

function binary(a: Value | undefined, op: string, b: Value | undefined): B {
  if (a === UNKNOWN || b === UNKNOWN || a === undefined || b === undefined) return UNKNOWN;
  switch (op) {
    case '=':
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '<':
      return a < b;
    case '>':
      return a > b;
    case '-nt':
    case '-ot':
    case '-ef':
      return UNKNOWN;
    default: {
      if (!/^-?\d+$/.test(a.trim()) || !/^-?\d+$/.test(b.trim())) return UNKNOWN;
      const x = Number(a);
      const y = Number(b);
      return op === '-eq'
        ? x === y
        : op === '-ne'
          ? x !== y
          : op === '-lt'
            ? x < y
            : op === '-le'
              ? x <= y
              : op === '-gt'
                ? x > y
                : x >= y;
    }
  }
}
