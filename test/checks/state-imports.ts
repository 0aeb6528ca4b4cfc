// Re-exports for the state tests (keeps their import list short).
export { BackendHealth, checkResult, type Clock, type ServerStateMessage, type StateSink } from '../../lb/checks/index.ts';
export { collect } from './helpers.ts';
