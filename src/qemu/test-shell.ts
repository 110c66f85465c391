import { createHash } from 'node:crypto';
import { BootforgeError } from '../errors/index.js';
import type { SerialConsole } from './console.js';

/**
 * The driver side of the test shell (src/templates/generation/test-shell.sh.hbs),
 * which an installed bootforge system runs on its serial console when the VM's
 * SMBIOS OEM strings hold `io.bootforge.test-shell=1`.
 *
 * The driver sends `bf-new`, the command in base64 as `bf-c <piece>` lines, and
 * `bf-run <n>`; the shell answers `bootforge-test: begin <n>`, the output (stdout
 * and stderr) in base64 lines, and `bootforge-test: end <n> <status> <bytes> <md5>`.
 * Only base64 lines between begin and end count, and the size and md5 must match:
 * the tty's echo and its CR/LF translation are dropped, kernel messages (`[ 1.234] ...`)
 * are cut out even from the middle of a line, and a reply garbled otherwise (by a
 * program writing to the console) is asked for again (`bf-again <n>`).
 */

export interface CommandResult {
  /** The exit status of `sh -c <command>` in the guest. */
  readonly status: number;
  /** stdout and stderr together, decoded as UTF-8. */
  readonly output: string;
  /** The same output as bytes. */
  readonly bytes: Buffer;
}

export interface TestShellOptions {
  /** Limit of a command when the call gives none (default 120 s). */
  readonly commandTimeoutMs?: number;
  /** How often a garbled reply is asked for again before giving up (default 3). */
  readonly retries?: number;
  /** After a timeout (and ^C), how long to wait for the command's reply (default 10 s). */
  readonly interruptGraceMs?: number;
  /** A reply that began and then stayed silent this long without a valid end is asked for again (default 3 s). */
  readonly quietMs?: number;
  /** waitReady asks for the ready line again (`bf-ping`) after this long without it (default 20 s). */
  readonly pingAfterMs?: number;
  /** Base64 characters per line sent (default 512; a tty line holds less than 4096 bytes). */
  readonly chunk?: number;
}

const READY = /bootforge-test: ready\r*\n/;
const BASE64_LINE = /^[A-Za-z0-9+/]+={0,2}$/;
/**
 * A kernel message as the console prints it: `[    1.234567] text` and its line end. The
 * kernel writes it whole, between two characters of whatever the tty was sending, so cutting
 * it out gives back the shell's text (base64 and the markers never hold a `[`).
 */
const KERNEL_MESSAGE = /\[ *\d+\.\d+\][^\n]*\n/g;

function withoutKernelMessages(text: string): string {
  return text.replace(KERNEL_MESSAGE, '');
}
const OUTPUT_SHOWN = 2000;

/** Text of `s` for a message: at most `max` characters, the end kept. */
function tail(s: string, max = OUTPUT_SHOWN): string {
  return s.length > max ? `...${s.slice(-max)}` : s;
}

/** The failure of a waitFor because QEMU (or the process) closed the console, not a timeout. */
function isClosed(e: unknown): boolean {
  return e instanceof BootforgeError && e.message.startsWith('the guest stopped');
}

/** A failure of the test shell or of a command in it; `output` is the command's, when it ran. */
export class TestShellError extends BootforgeError {
  constructor(
    message: string,
    hint: string,
    readonly output?: string,
  ) {
    super('BF_BOOT_TEST', message, { hint });
  }
}

export class TestShell {
  private counter = 0;
  /** A command that timed out and may still be running: the next one waits for it first. */
  private pending: { n: number; command: string; regex: RegExp } | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly options: Required<TestShellOptions>;

  constructor(
    readonly console: SerialConsole,
    options: TestShellOptions = {},
  ) {
    this.options = {
      commandTimeoutMs: options.commandTimeoutMs ?? 120_000,
      retries: options.retries ?? 3,
      interruptGraceMs: options.interruptGraceMs ?? 10_000,
      quietMs: options.quietMs ?? 3_000,
      pingAfterMs: options.pingAfterMs ?? 20_000,
      chunk: Math.max(4, Math.floor((options.chunk ?? 512) / 4) * 4),
    };
  }

  /** A command timed out and did not stop on ^C: the shell may not answer the next one. */
  get busy(): boolean {
    return this.pending !== undefined;
  }

  /** Waits for `bootforge-test: ready`, asking again now and then in case the line got garbled. */
  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      try {
        await this.console.waitFor(READY, Math.max(1, Math.min(left, this.options.pingAfterMs)), 'the test shell');
        return;
      } catch (e) {
        if (isClosed(e) || Date.now() >= deadline) {
          throw this.error(
            `the test shell did not start within ${Math.round(timeoutMs / 1000)} s${isClosed(e) ? ' (the guest stopped)' : ''}`,
          );
        }
        this.console.send('bf-ping\n');
      }
    }
  }

  /** Waits for text on the console after what was already matched (a kernel message, a banner). */
  async waitForConsoleText(pattern: string | RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    try {
      return await this.console.waitFor(pattern, timeoutMs);
    } catch (e) {
      throw this.error(e instanceof Error ? e.message : String(e));
    }
  }

  /** Runs a command; its status and output, whatever the status. */
  execute(command: string, timeoutMs?: number): Promise<CommandResult> {
    const run = this.queue.then(() => this.run(command, timeoutMs ?? this.options.commandTimeoutMs));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Runs a command that must exit 0; its output. */
  async succeed(command: string, timeoutMs?: number): Promise<string> {
    const r = await this.execute(command, timeoutMs);
    if (r.status !== 0) {
      throw this.error(`command failed with exit status ${r.status}: ${command}`, r.output);
    }
    return r.output;
  }

  /** Runs a command that must exit non-zero; its output. */
  async fail(command: string, timeoutMs?: number): Promise<string> {
    const r = await this.execute(command, timeoutMs);
    if (r.status === 0) {
      throw this.error(`command succeeded but should have failed: ${command}`, r.output);
    }
    return r.output;
  }

  /** Sends a command without waiting for its reply (e.g. poweroff); the shell may never answer. */
  start(command: string): Promise<void> {
    const sent = this.queue.then(() => this.send(++this.counter, command));
    this.queue = sent.catch(() => undefined);
    return sent;
  }

  private error(message: string, output?: string): TestShellError {
    const lines = this.console.output.replace(/\r/g, '').split('\n').slice(-15).join('\n');
    const parts = [
      ...(output !== undefined ? [`output:\n${tail(output)}`] : []),
      ...(this.console.logPath ? [`serial log: ${this.console.logPath}`] : []),
      `last lines of the console:\n${lines}`,
    ];
    return new TestShellError(message, parts.join('\n'), output);
  }

  private send(n: number, command: string): void {
    if (command.includes('\0')) throw this.error('a command cannot hold a NUL byte');
    const b64 = Buffer.from(command, 'utf8').toString('base64');
    let text = 'bf-new\n';
    for (let i = 0; i < b64.length; i += this.options.chunk) text += `bf-c ${b64.slice(i, i + this.options.chunk)}\n`;
    this.console.send(`${text}bf-run ${n}\n`);
  }

  private replyRegex(n: number): RegExp {
    return new RegExp(
      `(?:bootforge-test: begin ${n}\\r*\\n([\\s\\S]*?))?bootforge-test: (?:end ${n} (\\d+) (\\d+) ([0-9a-f]{32})|unknown ${n})\\r*\\n`,
    );
  }

  private async run(command: string, timeoutMs: number): Promise<CommandResult> {
    if (this.pending) await this.settlePending(timeoutMs);
    const n = ++this.counter;
    const regex = this.replyRegex(n);
    const begin = new RegExp(`bootforge-test: begin ${n}\\r*\\n`);
    const start = this.console.output.length;
    const deadline = Date.now() + timeoutMs;
    this.send(n, command);
    let asked = 0;
    let resent = false;
    let seen = this.console.output.length;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return this.timedOut(n, command, regex, timeoutMs);
      let m: RegExpExecArray;
      try {
        m = await this.console.waitFor(regex, Math.min(left, this.options.quietMs), `the reply to command ${n}`);
      } catch (e) {
        if (isClosed(e)) throw this.error(`the guest stopped while running: ${command}`);
        // A kernel message inside the begin or end line: the reply is whole without it.
        const recovered = this.recover(n, start);
        if (recovered) return recovered;
        // A reply began, then nothing came for a while, and no valid end: its end got garbled.
        const out = this.console.output;
        if (out.length === seen && begin.test(out.slice(start))) {
          if (++asked > this.options.retries) throw this.garbled(n, command);
          this.console.send(`bf-again ${n}\n`);
        }
        seen = out.length;
        continue;
      }
      const reply = this.decode(n, m);
      if (reply === 'unknown') {
        // The shell never saw bf-run <n>: the command got lost on the way in; send it once more.
        if (resent) throw this.error(`the test shell did not receive the command twice: ${command}`);
        resent = true;
        this.send(n, command);
        continue;
      }
      if (reply) return reply;
      const recovered = this.recover(n, start);
      if (recovered) return recovered;
      if (++asked > this.options.retries) throw this.garbled(n, command);
      this.console.send(`bf-again ${n}\n`);
    }
  }

  private garbled(n: number, command: string): BootforgeError {
    return this.error(
      `the reply to command ${n} arrived garbled ${this.options.retries + 1} times (size or md5 mismatch): ${command}`,
    );
  }

  /** A whole reply to command n in the console text since `start`, once kernel messages are cut out. */
  private recover(n: number, start: number): CommandResult | undefined {
    const text = withoutKernelMessages(this.console.output.slice(start));
    const matches = [...text.matchAll(new RegExp(this.replyRegex(n).source, 'g'))].reverse();
    for (const m of matches) {
      const reply = this.decode(n, m);
      if (reply && reply !== 'unknown') return reply;
    }
    return undefined;
  }

  /** The result in a match of replyRegex; null when garbled; 'unknown' when the shell never ran it. */
  private decode(n: number, m: RegExpExecArray | RegExpMatchArray): CommandResult | null | 'unknown' {
    const [, body, status, size, md5] = m;
    if (status === undefined || size === undefined || md5 === undefined) return 'unknown';
    // The begin line was garbled (nothing to read the output from).
    if (body === undefined) return null;
    // A first reply that lost its end is followed by the one asked for again: read the last.
    const marker = `bootforge-test: begin ${n}`;
    const last = body.lastIndexOf(marker);
    const text = withoutKernelMessages(last < 0 ? body : body.slice(body.indexOf('\n', last) + 1));
    const b64 = text
      .split('\n')
      .map((l) => l.replace(/\r+$/, ''))
      .filter((l) => BASE64_LINE.test(l))
      .join('');
    const bytes = Buffer.from(b64, 'base64');
    if (bytes.length !== Number(size) || createHash('md5').update(bytes).digest('hex') !== md5) return null;
    return { status: Number(status), output: bytes.toString('utf8'), bytes };
  }

  /** After a timeout: ^C (the tty turns it into SIGINT), then the reply if it comes soon. */
  private async timedOut(n: number, command: string, regex: RegExp, timeoutMs: number): Promise<never> {
    const limit = `${Math.round(timeoutMs / 100) / 10} s`;
    this.console.send('\x03\n');
    this.console.send(`bf-again ${n}\n`);
    let m: RegExpExecArray;
    try {
      m = await this.console.waitFor(regex, this.options.interruptGraceMs, `the reply to command ${n}`);
    } catch (e) {
      if (isClosed(e)) throw this.error(`the guest stopped while running: ${command}`);
      this.pending = { n, command, regex };
      throw this.error(`command timed out after ${limit} and did not stop on ^C: ${command}`);
    }
    const reply = this.decode(n, m);
    if (reply === 'unknown') throw this.error(`command timed out after ${limit}: the test shell never received it`);
    const status = reply ? ` (exit status ${reply.status})` : '';
    throw this.error(`command timed out after ${limit} and was interrupted${status}: ${command}`, reply?.output);
  }

  /** Waits for the reply to a command that timed out before, so that the shell is free again. */
  private async settlePending(timeoutMs: number): Promise<void> {
    const p = this.pending;
    if (!p) return;
    try {
      await this.console.waitFor(p.regex, timeoutMs, `the reply to command ${p.n}`);
    } catch (e) {
      throw this.error(
        isClosed(e)
          ? `the guest stopped while running: ${p.command}`
          : `the test shell is still busy with a command that timed out: ${p.command}`,
      );
    }
    this.pending = undefined;
  }
}
