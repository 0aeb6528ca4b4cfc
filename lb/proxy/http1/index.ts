// Public surface of the HTTP/1 parsing core used by the L7 proxy.
export { ChunkedDecoder, LengthCounter } from './chunked.ts';
export type { ChunkedOptions } from './chunked.ts';
export { H1E, H1Error, h1ErrorInfo } from './errors.ts';
export type { H1ErrorId, H1ErrorInfo } from './errors.ts';
export { Body, H1Head, NEED_MORE } from './head.ts';
export type { BodyKind, H1Options } from './head.ts';
export { Method, RequestHead } from './request.ts';
export type { MethodId } from './request.ts';
export { REASONS, ResponseHead } from './response.ts';
export { serializeRequest, serializeResponse, serializeResponseWith } from './serialize.ts';
