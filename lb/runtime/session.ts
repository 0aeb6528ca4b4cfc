// One CLI connection's protocol, without sockets (so it is tested byte for byte), as HAProxy 2.6
// speaks it on a stats socket:
//  - input is lines ('\n', an optional '\r' before it is dropped); a line holds commands separated
//    by ';'; words are separated by spaces or tabs; a backslash makes the next character literal
//    (`\;`, `\ `, `\\`). Quotes are NOT special (HAProxy 2.6 passes them through).
//  - every answer is followed by an empty line; in prompt (interactive) mode the empty line is
//    followed by "> ".
//  - non-interactive: every complete line received so far is answered, then the connection closes
//    (so `echo "show stat" | socat stdio unix-connect:...` works, and so does a pipelined batch).
//    Interactive (after `prompt`): the connection stays until `quit`, the client closing it, or
//    `stats timeout` of idleness (enforced by lb/runtime/server.ts).
//  - `quit` closes at once, without answer, and the rest of the line is not run.
//  - an incomplete last line when the client closes is dropped, unanswered.
import { StringDecoder } from 'node:string_decoder';
import type { Level, RuntimeContext } from './context.ts';
import { runCommand, type CliSession } from './commands.ts';

/** Longest line accepted; HAProxy's limit is its buffer size (16 kB), lb is more lenient. */
export const MAX_LINE = 1 << 20;

export interface FeedResult {
  /** Text to write back (may be ''). */
  output: string;
  /** Close the connection after writing `output`. */
  close: boolean;
}

/** Splits one input line into commands, each a list of words, applying backslash escapes. */
export function splitCommands(line: string): string[][] {
  const commands: string[][] = [];
  let words: string[] = [];
  let word = '';
  let inWord = false;
  const endWord = (): void => {
    if (inWord) words.push(word);
    word = '';
    inWord = false;
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i] ?? '';
    if (c === '\\' && i + 1 < line.length) {
      word += line[++i] ?? '';
      inWord = true;
    } else if (c === ';') {
      endWord();
      commands.push(words);
      words = [];
    } else if (c === ' ' || c === '\t') {
      endWord();
    } else {
      word += c;
      inWord = true;
    }
  }
  endWord();
  commands.push(words);
  return commands;
}

export interface CommandEvent {
  readonly level: Level;
  readonly args: readonly string[];
}

export class CliProtocol {
  readonly #ctx: RuntimeContext;
  readonly #session: CliSession;
  readonly #decoder = new StringDecoder('utf8');
  readonly #onCommand: ((e: CommandEvent) => void) | undefined;
  #buf = '';
  #closed = false;

  constructor(level: Level, ctx: RuntimeContext, onCommand?: (e: CommandEvent) => void) {
    this.#ctx = ctx;
    this.#session = { level, prompt: false, quit: false };
    this.#onCommand = onCommand;
  }

  get level(): Level {
    return this.#session.level;
  }

  get interactive(): boolean {
    return this.#session.prompt;
  }

  /** Bytes received from the client. */
  feed(chunk: Buffer | string): FeedResult {
    if (this.#closed) return { output: '', close: true };
    this.#buf += typeof chunk === 'string' ? chunk : this.#decoder.write(chunk);
    let output = '';
    let answered = false;
    for (let nl = this.#buf.indexOf('\n'); nl >= 0; nl = this.#buf.indexOf('\n')) {
      let line = this.#buf.slice(0, nl);
      this.#buf = this.#buf.slice(nl + 1);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      for (const args of splitCommands(line)) {
        this.#onCommand?.({ level: this.#session.level, args });
        const answer = runCommand(args, this.#ctx, this.#session);
        if (this.#session.quit) {
          this.#closed = true;
          return { output, close: true };
        }
        output += answer + '\n' + (this.#session.prompt ? '> ' : '');
      }
      answered = true;
    }
    if (this.#buf.length > MAX_LINE) {
      this.#closed = true;
      return { output, close: true };
    }
    if (answered && !this.#session.prompt) {
      this.#closed = true;
      return { output, close: true };
    }
    return { output, close: false };
  }

  /** The client closed its side: an unfinished line is dropped and the connection ends. */
  end(): FeedResult {
    this.#closed = true;
    return { output: '', close: true };
  }
}
