// The facts a finished stream (TCP connection or HTTP request) hands to the logger. The proxy fills
// one of these per stream; the log-format renderer (format.ts) only reads it. Every field is always
// present (create with createLogRecord()) so V8 keeps one hidden class for all records, and a proxy
// may reuse one object per connection instead of allocating per request.
//
// Conventions, taken from HAProxy's log fields (configuration manual 8.2.2, 8.2.3, 8.4):
// - timers are in milliseconds; -1 means "this step never happened" and is logged as -1;
// - a null string is logged as '-' (or '""' under the Q flag), exactly as HAProxy logs absent values;
// - ports < 0 mean "no such connection" and are logged like a null string.

export interface LogRecord {
  /** Client (source) address as text, e.g. '127.0.0.1' or '::1' (%ci). */
  clientIp: string;
  /** Client source port (%cp). */
  clientPort: number;
  /** Address and port the client connected to (%fi %fp). */
  frontendIp: string | null;
  frontendPort: number;
  /** Source address and port of the connection to the server (%bi %bp), null/-1 if none. */
  backendSourceIp: string | null;
  backendSourcePort: number;
  /** Server address and port (%si %sp), null/-1 when no server was reached. */
  serverIp: string | null;
  serverPort: number;

  /** Accept date in ms since the epoch (%t %T %Tl %Ts %ms). */
  acceptDate: number;
  /** Date the first byte of the HTTP request arrived, ms since the epoch (%tr %trg %trl). */
  requestDate: number;

  /** Frontend name (%f); %ft adds '~' when `tls` is true. */
  frontend: string;
  tls: boolean;
  /** Backend name (%b): the frontend's name when no backend was selected (HAProxy does so). */
  backend: string;
  /** Server name (%s): '<NOSRV>' when none was reached, '<STATS>' for the stats applet. */
  server: string;

  /** Timers (8.4): handshake, idle, request, queue, connect, response, active, total. */
  Th: number;
  Ti: number;
  TR: number;
  Tw: number;
  Tc: number;
  Tr: number;
  Ta: number;
  Tt: number;

  /** HTTP status returned to the client (%ST). */
  status: number;
  /** Bytes sent to the client (%B) and received from it (%U). */
  bytesRead: number;
  bytesUploaded: number;

  /** `capture cookie` values (%CC %CS), null when not captured. */
  requestCookie: string | null;
  responseCookie: string | null;
  /** `capture request/response header` slots in declaration order (%hr %hs %hrl %hsl); null = no capture configured. A missing header is null inside the array. */
  requestHeaders: Array<string | null> | null;
  responseHeaders: Array<string | null> | null;

  /** Termination state, 4 characters in HTTP ('----', 'sC--', 'PR--') or 2 in TCP ('--', 'cD'). %ts logs the first two, %tsc all four. */
  termState: string;

  /** Concurrent connections: process, frontend, backend, server (%ac %fc %bc %sc). */
  actconn: number;
  feconn: number;
  beconn: number;
  srvConn: number;
  /** Connection retries (%rc), and whether a redispatch happened ('+' prefix). */
  retries: number;
  redispatched: boolean;
  /** Positions in the server and backend queues (%sq %bq). */
  srvQueue: number;
  backendQueue: number;

  /** Full HTTP request line as received (%r); null means the request could not be parsed (<BADREQ>). */
  requestLine: string | null;
  method: string;
  /** Request target as received, e.g. '/a/b?x=1' or 'http://host/p?q' (%HU). */
  uri: string;
  version: string;

  /** unique-id (%ID), null when no unique-id-format. */
  uniqueId: string | null;
  /** Request counter (%rt) and frontend log counter (%lc). */
  requestCounter: number;
  logCounter: number;

  /** TLS facts for %sslv %sslc and the httpslog fetches; null/0 when the frontend is not TLS. */
  sslVersion: string | null;
  sslCipher: string | null;
  sni: string | null;
  /** Connection-level error code (fc_err), TLS error codes (ssl_fc_err, ssl_c_err, ssl_c_ca_err). */
  fcErr: number;
  sslFcErr: number;
  sslCErr: number;
  sslCaErr: number;
  sslResumed: boolean;
}

/** A record with every field at its "nothing happened" value. Fill what the stream knows. */
export function createLogRecord(): LogRecord {
  return {
    clientIp: '-',
    clientPort: 0,
    frontendIp: null,
    frontendPort: -1,
    backendSourceIp: null,
    backendSourcePort: -1,
    serverIp: null,
    serverPort: -1,
    acceptDate: 0,
    requestDate: 0,
    frontend: '-',
    tls: false,
    backend: '-',
    server: '<NOSRV>',
    Th: 0,
    Ti: 0,
    TR: -1,
    Tw: -1,
    Tc: -1,
    Tr: -1,
    Ta: 0,
    Tt: 0,
    status: 0,
    bytesRead: 0,
    bytesUploaded: 0,
    requestCookie: null,
    responseCookie: null,
    requestHeaders: null,
    responseHeaders: null,
    termState: '----',
    actconn: 0,
    feconn: 0,
    beconn: 0,
    srvConn: 0,
    retries: 0,
    redispatched: false,
    srvQueue: 0,
    backendQueue: 0,
    requestLine: null,
    method: '',
    uri: '',
    version: '',
    uniqueId: null,
    requestCounter: 0,
    logCounter: 0,
    sslVersion: null,
    sslCipher: null,
    sni: null,
    fcErr: 0,
    sslFcErr: 0,
    sslCErr: 0,
    sslCaErr: 0,
    sslResumed: false,
  };
}
