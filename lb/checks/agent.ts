// `agent-check`: connect to the agent (agent-addr:agent-port), optionally send `agent-send`, read
// one line and act on its words, separated by spaces, tabs or commas, case-insensitive:
//   up                      → L7OK, info "via agent : up"
//   down | stopped | fail   → L7STS, info "via agent : down" (these are the only agent results
//                             that can take a server DOWN; a connection failure never does)
//   ready | drain | maint   → admin state (forced READY, DRAIN, MAINT)
//   N%                      → weight = configured weight × N / 100 (integer division, max 256)
//   maxconn:N               → server maxconn
//   # text                  → description, shown as "via agent : down (text)"
// A reply without a health word is "CHECKED" (no change to the counter). Observed on haproxy 2.6:
// `down #broken disk` → `info: "via agent : down (broken disk)"`, `code: 0`; agents use rise = fall = 1.
import { CheckConn, connectFailureResult, isConn, socketErrorResult, type CheckEndpoint, type CheckTimeouts } from './conn.ts';
import { checkResult, type CheckResult, type CheckStatus } from './status.ts';

export interface AgentReply {
  /** The health word as written ("up", "DOWN"...), and the status it stands for. */
  health?: { word: string; status: CheckStatus };
  admin?: 'ready' | 'drain' | 'maint';
  weightPercent?: number;
  maxconn?: number;
  /** Text after '#', leading blanks removed. */
  description?: string;
}

/** Parses the first line of an agent reply (stops at CR or LF). Unknown words are ignored. */
export function parseAgentReply(text: string): AgentReply {
  const reply: AgentReply = {};
  const eol = text.search(/[\r\n]/);
  const line = eol >= 0 ? text.slice(0, eol) : text;
  const hash = line.indexOf('#');
  const words = (hash >= 0 ? line.slice(0, hash) : line).split(/[ \t,]+/).filter((w) => w !== '');
  if (hash >= 0) reply.description = line.slice(hash + 1).replace(/^[ \t]+/, '');
  for (const w of words) {
    const lw = w.toLowerCase();
    if (lw === 'up') reply.health = { word: w, status: 'L7OK' };
    else if (lw === 'down' || lw === 'stopped' || lw === 'fail') reply.health = { word: w, status: 'L7STS' };
    else if (lw === 'ready' || lw === 'drain' || lw === 'maint') reply.admin = lw;
    else if (w.endsWith('%') && /^[0-9]+%$/.test(w)) reply.weightPercent = Number(w.slice(0, -1));
    else if (lw.startsWith('maxconn:') && /^[0-9]+$/.test(w.slice(8))) reply.maxconn = Number(w.slice(8));
  }
  return reply;
}

/** An agent check's outcome: the check result plus what the reply asks of the server. */
export interface AgentOutcome {
  result: CheckResult;
  reply: AgentReply | undefined;
  /** New user weight from `N%`, when valid. */
  weight: number | undefined;
}

/** Weight from a percentage as HAProxy's server_parse_weight_change_request(): relative to the configured weight. */
export function agentWeight(percent: number, initialWeight: number): { weight?: number; error?: string } {
  const w = Math.floor((initialWeight * percent) / 100);
  if (w > 256) return { error: 'Relative weight too large.' };
  return { weight: w };
}

/** Builds the result (status and info text) for a parsed reply. */
export function agentOutcome(reply: AgentReply, initialWeight: number, durationMs: number): AgentOutcome {
  let weight: number | undefined;
  let err = '';
  if (reply.weightPercent !== undefined) {
    const w = agentWeight(reply.weightPercent, initialWeight);
    weight = w.weight;
    err = w.error ?? '';
  }
  if (reply.health !== undefined) {
    let msg = reply.description ?? '';
    if (msg === '' && reply.health.status === 'L7OK') msg = err;
    const info = `via agent : ${reply.health.word}${msg === '' ? '' : ` (${msg})`}`;
    return { result: checkResult(reply.health.status, info, 0, durationMs), reply, weight };
  }
  const info = err === '' ? '' : `agent reports an error : ${err}`;
  return { result: checkResult('CHECKED', info, 0, durationMs), reply, weight };
}

export interface AgentCheckOptions {
  /** `agent-send`: a string sent once connected. */
  send?: string;
}

export async function runAgentCheck(
  ep: CheckEndpoint,
  timeouts: CheckTimeouts,
  opts: AgentCheckOptions,
  initialWeight: number,
): Promise<AgentOutcome> {
  const start = performance.now();
  const c = await CheckConn.open(ep, timeouts, start);
  if (!isConn(c)) return { result: connectFailureResult(c, Math.floor(performance.now() - start)), reply: undefined, weight: undefined };
  try {
    if (opts.send !== undefined && opts.send !== '') c.write(Buffer.from(opts.send, 'latin1'));
    const outcome = await c.waitFor((input, last) => last || input.includes(0x0a) || input.includes(0x0d));
    if (outcome === 'timeout') return { result: checkResult('L7TOUT', '', 0, c.elapsed()), reply: undefined, weight: undefined };
    if (outcome === 'error' && c.input().length === 0) return { result: socketErrorResult(c), reply: undefined, weight: undefined };
    return agentOutcome(parseAgentReply(c.input().toString('latin1')), initialWeight, c.elapsed());
  } finally {
    c.close();
  }
}
