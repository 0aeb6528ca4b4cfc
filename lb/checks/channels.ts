// Observability contract (DESIGN principle 8): tests and the stats/runtime views subscribe to these
// channels instead of sleeping or polling. Messages are published synchronously, in order.
import { channel } from 'node:diagnostics_channel';
import type { CheckResult } from './status.ts';

/** Every operational or administrative state change of a server (with its HAProxy log line). */
export const SERVER_STATE_CHANNEL = 'lb:server:state';
/** Every finished check (health or agent), with the health counter after it. */
export const CHECK_RESULT_CHANNEL = 'lb:check:result';
/** "backend X has no server available!" */
export const BACKEND_DOWN_CHANNEL = 'lb:backend:down';

export type OpState = 'STOPPED' | 'STARTING' | 'RUNNING' | 'STOPPING';

export interface ServerStateMessage {
  backend: string;
  server: string;
  /** Operational state before and after (HAProxy's SRV_ST_*). */
  from: OpState;
  to: OpState;
  /** Admin flags after the change (see ADMIN in server-state.ts). */
  admin: number;
  /** Stats-style status after the change: "UP", "DOWN", "NOLB", "MAINT", "DRAIN", "UP 1/3"... */
  status: string;
  /** The log line exactly as HAProxy prints it, or '' when HAProxy logs nothing. */
  line: string;
  /** The check that caused the change, if any. */
  cause: CheckResult | undefined;
}

export interface CheckResultMessage {
  backend: string;
  server: string;
  kind: 'check' | 'agent';
  result: CheckResult;
  /** Health counter after the result, 0..rise+fall-1, and the thresholds. */
  health: number;
  rise: number;
  fall: number;
  status: string;
}

export interface BackendDownMessage {
  backend: string;
  line: string;
}

export const serverStateChannel = channel(SERVER_STATE_CHANNEL);
export const checkResultChannel = channel(CHECK_RESULT_CHANNEL);
export const backendDownChannel = channel(BACKEND_DOWN_CHANNEL);
