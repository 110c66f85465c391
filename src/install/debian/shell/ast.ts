/**
 * The syntax tree of the POSIX shell subset that Debian maintainer scripts
 * use: simple commands, pipelines, && and ||, if/case/for/while/until,
 * functions, groups and subshells, redirections and here-documents.
 */

/** One piece of a word, as the lexer read it. `quoted` parts are neither split nor globbed. */
export type Part =
  | { readonly kind: 'literal'; readonly text: string; readonly quoted: boolean }
  | {
      readonly kind: 'param';
      /** A name, a digit, or one of @ * # ? $ ! - */
      readonly name: string;
      /** The operator of ${name<op>word}: ":-", "-", ":+", "+", ":=", "=", ":?", "?", "#", "##", "%", "%%", or "length". */
      readonly op?: string;
      readonly word?: readonly Part[];
      readonly quoted: boolean;
    }
  | { readonly kind: 'command'; readonly source: string; readonly quoted: boolean }
  | { readonly kind: 'arithmetic'; readonly source: string; readonly quoted: boolean };

export interface Word {
  readonly parts: readonly Part[];
  /** The word as written (quotes included), for messages and keyword checks. */
  readonly raw: string;
}

export interface Redirect {
  /** File descriptor written before the operator ("2>"), when there is one. */
  readonly fd?: number;
  readonly op: '<' | '>' | '>>' | '>|' | '<>' | '>&' | '<&' | '&>' | '<<' | '<<-';
  readonly target: Word;
  /** Here-document body (for << and <<-); expanded unless the delimiter was quoted. */
  readonly heredoc?: { readonly body: Word; readonly expand: boolean };
}

export interface Assignment {
  readonly name: string;
  readonly value: Word;
}

export interface SimpleCommand {
  readonly kind: 'simple';
  readonly assignments: readonly Assignment[];
  readonly words: readonly Word[];
  readonly redirects: readonly Redirect[];
  /** 1-based line where the command starts. */
  readonly line: number;
  /** The command's source text, continuation lines joined. */
  readonly source: string;
}

export interface Pipeline {
  readonly kind: 'pipeline';
  readonly negated: boolean;
  readonly commands: readonly Command[];
}

export interface AndOr {
  readonly kind: 'andor';
  readonly first: Node;
  readonly rest: readonly { readonly op: '&&' | '||'; readonly node: Node }[];
}

export interface If {
  readonly kind: 'if';
  readonly branches: readonly { readonly condition: List; readonly body: List }[];
  readonly otherwise?: List;
  readonly redirects: readonly Redirect[];
}

export interface Case {
  readonly kind: 'case';
  readonly subject: Word;
  readonly items: readonly { readonly patterns: readonly Word[]; readonly body: List }[];
  readonly redirects: readonly Redirect[];
}

export interface For {
  readonly kind: 'for';
  readonly variable: string;
  /** Undefined: `for x; do` (the positional parameters). */
  readonly words?: readonly Word[];
  readonly body: List;
  readonly redirects: readonly Redirect[];
}

export interface Loop {
  readonly kind: 'while' | 'until';
  readonly condition: List;
  readonly body: List;
  readonly redirects: readonly Redirect[];
}

export interface Group {
  readonly kind: 'group' | 'subshell';
  readonly body: List;
  readonly redirects: readonly Redirect[];
}

export interface FunctionDef {
  readonly kind: 'function';
  readonly name: string;
  readonly body: Command;
}

export type Command = SimpleCommand | If | Case | For | Loop | Group | FunctionDef;
export type Node = Pipeline | AndOr | Command;
export type List = readonly Node[];
