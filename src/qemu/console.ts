import { createWriteStream, type WriteStream } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { BootforgeError } from '../errors/index.js';

/**
 * A guest's serial console: everything it prints is kept (and logged to a
 * file), and tests wait for text with an explicit timeout, like NixOS's
 * wait_for_console_text.
 */
export class SerialConsole {
  private text = '';
  /** Where waitFor looks from: text before it was already matched. */
  private cursor = 0;
  private readonly waiters = new Set<() => void>();
  private closed = false;
  private readonly log: WriteStream | undefined;

  constructor(
    output: Readable,
    private readonly input: Writable | undefined,
    readonly logPath?: string,
  ) {
    this.log = logPath ? createWriteStream(logPath) : undefined;
    output.on('data', (chunk: Buffer) => {
      const s = chunk.toString('utf8');
      this.text += s;
      this.log?.write(chunk);
      for (const w of this.waiters) w();
    });
    output.on('close', () => {
      this.closed = true;
      for (const w of this.waiters) w();
    });
  }

  /** All output so far. */
  get output(): string {
    return this.text;
  }

  /** Resolves with the match once `pattern` appears after the cursor; moves the cursor past it. */
  waitFor(pattern: string | RegExp, timeoutMs: number, what = String(pattern)): Promise<RegExpExecArray> {
    const re = typeof pattern === 'string' ? new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : pattern;
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const rest = this.text.slice(this.cursor);
        const m = re.exec(rest);
        if (m) {
          this.cursor += m.index + m[0].length;
          done();
          resolve(m);
          return true;
        }
        if (this.closed) {
          done();
          reject(this.failure(`the guest stopped before printing ${what}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(this.failure(`no ${what} on the serial console within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      const waiter = () => void check();
      this.waiters.add(waiter);
      check();
    });
  }

  send(text: string): void {
    if (!this.input) throw new BootforgeError('BF_INTERNAL', 'this console has no input');
    this.input.write(text);
  }

  private failure(message: string): BootforgeError {
    const tail = this.text.split('\n').slice(-15).join('\n');
    return new BootforgeError('BF_QEMU_TIMEOUT', message, {
      hint: `${this.logPath ? `serial log: ${this.logPath}\n` : ''}last lines:\n${tail}`,
    });
  }

  close(): void {
    this.log?.end();
  }
}
