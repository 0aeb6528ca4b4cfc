// The running proxy, with Caddy's lifecycle (DESIGN.md principle 7):
//   provision  parse the configuration files into the model (every diagnostic collected)
//   validate   refuse what the running lb does not enforce yet (pending keywords: stick tables,
//              track-sc, peers), then build the runtime structures (lb/proxy/build.ts)
//   start      bind every listener (a failure leaves the group so that stop() cleans up)
//   stop       close listeners, destroy sessions, close pooled server connections and loggers;
//              safe after a partial start and safe twice.
// Each step returns errors as text lines (file:line first) for the CLI to print.
import net from 'node:net';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import type { ConfigModel } from '../config/model.ts';
import { parseConfig, type ConfigSource } from '../config/parser.ts';
import { formatDiagnostic } from '../config/diagnostics.ts';
import { LB_ERROR_CODES } from '../errors.ts';
import { Logger } from '../log/targets.ts';
import { txnFromConn, Next } from '../rules/engine.ts';
import { buildConfig, type BuiltConfig, type BuiltListener } from './build.ts';
import { closeIdleConnections, handleHttpConnection } from './http.ts';
import { ListenerGroup } from './listener.ts';
import { handleTcpConnection } from './tcp.ts';
import type { Listener } from './types.ts';

export interface RuntimeOptions {
  /** Where lb's own messages go (stderr with -d). */
  readonly log: (line: string) => void;
}

const NO_SINK = { deny(): void {}, respond(): void {} };

export class ProxyRuntime {
  readonly #opts: RuntimeOptions;
  #model: ConfigModel | undefined;
  #built: BuiltConfig | undefined;
  #group: ListenerGroup | undefined;
  #logger: Logger | undefined;
  #stopping: Promise<void> | undefined;

  constructor(opts: RuntimeOptions) {
    this.#opts = opts;
  }

  get built(): BuiltConfig | undefined {
    return this.#built;
  }

  /** Reads and parses the files. Returns error lines (empty = ok); warnings go to the log. */
  provision(files: readonly string[]): string[] {
    const sources: ConfigSource[] = [];
    const errors: string[] = [];
    for (const f of files) {
      try {
        sources.push({ file: f, text: readFileSync(f, 'utf8') });
      } catch (e) {
        errors.push(`[ALERT] config : Could not open configuration file ${f} : ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    if (errors.length > 0) return errors;
    const { model, diagnostics } = parseConfig(sources);
    const pending: string[] = [];
    for (const d of diagnostics.list) {
      if (d.severity === 'diag') continue;
      if (d.code === LB_ERROR_CODES.ERR_LB_CONFIG_PENDING) {
        // `lb -c` warns about these; a running lb must not pretend to enforce them.
        pending.push(`[ALERT] config : ${d.file !== undefined ? `parsing [${d.file}:${d.line ?? 0}] : ` : ''}${d.message.replace(/is parsed but not yet enforced by this lb\.?$/, 'is not supported yet by the running lb: refusing to start.')}`);
        continue;
      }
      if (d.severity === 'alert') errors.push(formatDiagnostic(d));
      else this.#opts.log(formatDiagnostic(d));
    }
    if (errors.length > 0) return [...errors, ...pending, '[ALERT] config : Fatal errors found in configuration.'];
    if (pending.length > 0) return pending;
    this.#model = model;
    return [];
  }

  /** Builds the runtime structures from the provisioned model. */
  validate(): string[] {
    if (this.#model === undefined) return ['[ALERT] internal : validate() before provision()'];
    const r = buildConfig(this.#model, { http: true });
    if (!r.ok) return r.errors.map((e) => `[ALERT] config : ${e}`);
    for (const w of r.value.warnings) this.#opts.log(`[WARNING] config : ${w}`);
    this.#built = r.value;
    return [];
  }

  /** Binds the listeners. On failure, call stop() to release what did bind. */
  async start(): Promise<string[]> {
    const b = this.#built;
    if (b === undefined) return ['[ALERT] internal : start() before validate()'];
    if (b.logTargets.length > 0) this.#logger = new Logger(b.logTargets);
    this.#group = new ListenerGroup(b.listeners, { maxconn: b.maxconn, onConnection: onConnection });
    try {
      await this.#group.start();
    } catch (e) {
      return [`[ALERT] ${e instanceof Error ? e.message : String(e)}`];
    }
    for (const fe of b.frontends.values()) this.#notice(`Proxy ${fe.name} started.`);
    return [];
  }

  /** The bound address of listener i (tests). */
  address(i: number): net.AddressInfo | undefined {
    return this.#group?.address(i);
  }

  /** Stops everything. Idempotent; works after a partial start. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const g = this.#group;
    if (g !== undefined) await g.stop();
    const b = this.#built;
    if (b !== undefined) {
      for (const be of b.backends.values()) if (be.mode === 'http') closeIdleConnections(be.servers);
      for (const fe of b.frontends.values()) this.#notice(`Proxy ${fe.name} stopped.`);
    }
    await this.#logger?.close();
  }

  #notice(msg: string): void {
    this.#opts.log(`[NOTICE] ${msg}`);
    this.#logger?.log(5, msg);
  }
}

/** Admitted connection: tcp-request connection rules, TLS termination, then the data path. */
function isBuilt(l: Listener): l is BuiltListener {
  return 'mode' in l && 'where' in l;
}

function onConnection(sock: net.Socket, bl: Listener): void {
  if (!isBuilt(bl)) {
    handleTcpConnection(sock, bl.frontend);
    return;
  }
  if (bl.connRules !== undefined || bl.contentRulesAtAccept !== undefined) {
    const info = { src: sock.remoteAddress ?? '', srcPort: sock.remotePort ?? 0, dst: sock.localAddress ?? '', dstPort: sock.localPort ?? 0, hello: undefined };
    const t = txnFromConn(info);
    if (bl.connRules?.run(t, NO_SINK) === Next.DONE || bl.contentRulesAtAccept?.run(t, NO_SINK) === Next.DONE) {
      sock.destroy();
      return;
    }
  }
  if (bl.tls === undefined) {
    dispatch(sock, bl);
    return;
  }
  const ts = new tls.TLSSocket(sock, { isServer: true, ...bl.tls.options });
  const client = bl.frontend.timeouts.client;
  if (client > 0) ts.setTimeout(client);
  ts.on('error', onTlsError);
  ts.on('timeout', onTlsTimeout);
  ts.once('secure', () => {
    ts.off('timeout', onTlsTimeout);
    ts.setTimeout(0);
    ts.pause();
    dispatch(ts, bl);
  });
  sock.resume();
}

function dispatch(sock: net.Socket, l: BuiltListener): void {
  if (l.mode === 'http') handleHttpConnection(sock, l.frontend);
  else handleTcpConnection(sock, l.frontend);
}

function onTlsError(this: tls.TLSSocket): void {
  this.destroy();
}

function onTlsTimeout(this: tls.TLSSocket): void {
  this.destroy();
}
