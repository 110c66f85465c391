import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A command on a real terminal: a tmux session on its own server (socket), so a test
 * sees what a person would and types as they would, without touching anyone's tmux.
 */
export class TmuxTerminal {
  private readonly socket: string;
  private readonly config: string;

  constructor(dir: string, name = 'bf') {
    this.socket = join(dir, `${name}.tmux`);
    this.config = join(dir, `${name}.tmux.conf`);
    // The whole output stays readable; a finished command's pane stays for the test to read.
    writeFileSync(this.config, 'set -g history-limit 100000\nset -g remain-on-exit on\n');
  }

  private tmux(...args: string[]): string {
    return execFileSync('tmux', ['-S', this.socket, '-f', this.config, ...args], { encoding: 'utf8' });
  }

  /** Runs `argv` (through sh) in a new 200x50 session, then prints `exit=<status>`. */
  start(session: string, argv: readonly string[], cwd: string): void {
    const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    this.tmux('new-session', '-d', '-s', session, '-x', '200', '-y', '50', '-c', cwd, `${quoted}; echo "exit=$?"`);
  }

  /** Everything the session's pane shows and has scrolled away, blank lines dropped. */
  screen(session: string): string {
    return this.tmux('capture-pane', '-p', '-J', '-S', '-', '-t', session)
      .split('\n')
      .filter((l) => l.trim() !== '')
      .join('\n');
  }

  /** Types keys as tmux names them (`C-a`, `x`, `Enter`). */
  keys(session: string, ...keys: string[]): void {
    this.tmux('send-keys', '-t', session, ...keys);
  }

  /** Polls the pane until `pattern` shows, or throws with the screen after `timeoutMs`. */
  async waitFor(session: string, pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = this.screen(session);
      const m = pattern.exec(text);
      if (m) return m;
      if (Date.now() > deadline) {
        throw new Error(`no ${pattern} on the terminal within ${timeoutMs / 1000} s; it shows:\n${text.slice(-3000)}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** Ends this test's tmux server and every process in its sessions. */
  close(): void {
    try {
      this.tmux('kill-server');
    } catch {
      // Already gone.
    }
  }
}
