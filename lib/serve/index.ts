// The HTTP recommendation service over a saved model folder (see server.ts for the endpoints).
export {
  createServer,
  DEFAULT_HOST,
  DEFAULT_PORT,
  isLoopback,
  listen,
  type ListenOptions,
  type ServerOptions,
} from "./server";
export {
  MicroBatcher,
  type MicroBatcherOptions,
  QueueFullError,
  QueueTimeoutError,
  BatcherClosedError,
  SessionScoreError,
  type RawSession,
  type ScoreBatch,
} from "./batcher";
export { type EventColumn, eventColumnsOf, eventSchema, readEventColumns, valueSchema } from "./events";
