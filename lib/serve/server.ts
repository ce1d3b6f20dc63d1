// The recommendation service as a Fastify instance over any RecommenderModel (a loaded model folder, or a
// hand-made fake in tests):
//   POST /v1/recommend        { session: [event, …], k? }      → { items, scores, model, version }
//   POST /v1/recommend/batch  { sessions: [[event, …], …], k? } → { results: [{ items, scores }, …], model, version }
//   GET  /healthz             liveness and queue depth
//   GET  /v1/models           what is served: name, kind, schema, vocabulary size, trained at, metrics, limits
//   GET  /model/<file>        the model folder's files the demo page fetches (ServerOptions.modelFolder), nothing else
// Every request goes through one MicroBatcher, so concurrent requests share forward passes; a full queue, or a wait
// in it past maxQueueWaitMs, is a 503 with Retry-After. Bad input is a 4xx whose message names the field; a 500
// means a bug or a model unfit to serve (a non-finite score), never a client's mistake. A known route asked with
// another method is a 405 with Allow.
import fastifyStatic from "@fastify/static";
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from "fastify";
import { createReadStream, promises as fs, realpathSync } from "fs";
import { STATUS_CODES } from "http";
import type { AddressInfo } from "net";
import * as path from "path";
import type { Recommendation, RecommenderModel } from "../model-folder/types";
import {
  BatcherClosedError,
  MicroBatcher,
  type MicroBatcherOptions,
  QueueFullError,
  QueueTimeoutError,
  SessionScoreError,
} from "./batcher";
import type { EventColumn } from "./events";
import { type RecommendBatchBody, type RecommendBody, type RequestLimits, requestSchemas } from "./schemas";

export interface ServerOptions {
  /** The workflow's input columns (see `readEventColumns`): each event is checked against them. Default: events
   *  are only checked to be non-empty objects, and the encoder's error on a bad one is the 400's message. */
  eventColumns?: readonly EventColumn[];
  /** k when a request gives none. Default 10 (at most `maxK`). */
  defaultK?: number;
  /** Largest k a request may ask. Default 100, and never more than the catalogue's known items. */
  maxK?: number;
  /** Most events in one session. Default 100 (the model reads only the last `schema.maxLength` of them). */
  maxSessionLength?: number;
  /** Most sessions in one batch request. Default 64. */
  maxBatchSessions?: number;
  /** Largest request body in bytes. Default 1 MiB. */
  bodyLimit?: number;
  /** Micro-batching (see MicroBatcherOptions for the defaults). */
  batching?: MicroBatcherOptions;
  /** A folder served at / (the demo page, index.html). Default: none. */
  staticDir?: string;
  /** The model folder, whose `files` (paths relative to `dir`, see `modelFolderFiles`) are served read-only under
   *  /model/ so the demo page can run the same model in the browser. Nothing else of the folder is: no other file,
   *  no dotfile, nothing reached through a link leading out of it. Default: none. */
  modelFolder?: { dir: string; files: readonly string[] };
  /** Fastify's logger option. Default false. */
  logger?: FastifyServerOptions["logger"];
}

const DEFAULTS = { defaultK: 10, maxK: 100, maxSessionLength: 100, maxBatchSessions: 64, bodyLimit: 2 ** 20 };

/** Ids 0 (padding) and 1 (out-of-vocabulary) are never recommended: the catalogue is the rest. */
const RESERVED_ITEM_IDS = 2;

/** An error with the HTTP status and message the client should get. */
class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** The service for `model`; call `listen` (or `inject` in tests). Closing it answers what is queued first. */
export function createServer(model: RecommenderModel, options: ServerOptions = {}): FastifyInstance {
  const { manifest } = model;
  const limits = resolveLimits(model, options);
  const batcher = new MicroBatcher((sessions, k) => model.recommendBatch(sessions, k), options.batching);
  if (limits.maxBatchSessions > batcher.capacity) {
    throw new Error(
      `createServer: maxBatchSessions (${limits.maxBatchSessions}) exceeds the batcher's maxQueuedSessions (${batcher.capacity}): such a request could never be queued`,
    );
  }
  const bodyLimit = options.bodyLimit ?? DEFAULTS.bodyLimit;
  const app = Fastify({
    bodyLimit,
    logger: options.logger ?? false,
    // Strict validation: "10" is not a k and an unknown field is an error, not silently dropped.
    // allowUnionTypes: an event value may be text or a number (the encoder reads it as DuckDB would).
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allowUnionTypes: true } },
  });
  const servedBy = { model: manifest.name, version: manifest.trainedAt };
  const schemas = requestSchemas(limits, options.eventColumns);

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { statusCode, message } = toHttpError(error, bodyLimit);
    if (statusCode >= 500 && !isBusy(error)) request.log.error({ err: error }, "request failed");
    if (error instanceof QueueFullError || error instanceof QueueTimeoutError)
      void reply.header("retry-after", String(RETRY_AFTER_S));
    void reply.status(statusCode).send({ statusCode, error: STATUS_CODES[statusCode], message });
  });

  // The methods of each fixed route, so that a known route asked with another method is a 405, not a 404.
  const methodsOf = new Map<string, Set<string>>();
  app.addHook("onRoute", (route) => {
    if (/[*:]/.test(route.url)) return; // a wildcard or parameter matches many paths: those stay 404
    const methods = methodsOf.get(route.url) ?? new Set<string>();
    for (const method of [route.method].flat()) methods.add(method);
    methodsOf.set(route.url, methods);
  });
  app.setNotFoundHandler((request, reply) => {
    const url = request.url.split("?")[0];
    const allowed = methodsOf.get(url);
    // A route that takes this method and still found nothing (a model file gone or leading out) is a 404 too.
    if (allowed === undefined || allowed.has(request.method)) {
      return reply
        .status(404)
        .send({ statusCode: 404, error: STATUS_CODES[404], message: `no such route: ${request.method} ${url}` });
    }
    const allow = [...allowed].join(", ");
    return reply
      .status(405)
      .header("allow", allow)
      .send({
        statusCode: 405,
        error: STATUS_CODES[405],
        message: `${request.method} is not allowed on ${url} (allowed: ${allow})`,
      });
  });

  app.get("/healthz", async () => ({
    status: "ok",
    model: manifest.name,
    queuedSessions: batcher.queuedSessions,
    queueCapacity: batcher.capacity,
  }));

  app.get("/v1/models", async () => ({
    models: [
      {
        name: manifest.name,
        kind: manifest.kind,
        version: servedBy.version,
        trainedAt: manifest.trainedAt,
        metrics: manifest.metrics,
        vocabularySize: catalogueSize(model),
        schema: manifest.schema,
        eventColumns: options.eventColumns ?? null,
        limits,
      },
    ],
  }));

  // A full queue refuses a request before its body is read and checked: under overload, parsing what is refused
  // anyway would take the time the served requests need.
  const refuseWhenFull = async (): Promise<void> => {
    if (batcher.queuedSessions >= batcher.capacity) throw new QueueFullError(batcher.capacity);
  };
  // The wait a request may have in the queue counts from its arrival (reply.elapsedTime): reading and checking it
  // took some already.
  app.post<{ Body: RecommendBody }>(
    "/v1/recommend",
    { schema: schemas.recommend, onRequest: refuseWhenFull },
    async (request, reply) => {
      const [result] = await scored(
        batcher.submit([request.body.session], request.body.k, reply.elapsedTime),
        "session",
      );
      return { ...finite(result), ...servedBy };
    },
  );

  app.post<{ Body: RecommendBatchBody }>(
    "/v1/recommend/batch",
    { schema: schemas.recommendBatch, onRequest: refuseWhenFull },
    async (request, reply) => {
      const results = await scored(
        batcher.submit(request.body.sessions, request.body.k, reply.elapsedTime),
        "sessions",
      );
      return { results: results.map(finite), ...servedBy };
    },
  );

  if (options.modelFolder !== undefined) serveModelFiles(app, options.modelFolder.dir, options.modelFolder.files);
  // Anything else under /model/ is a 404, even where the static folder has such a path.
  app.all("/model/*", (_request, reply) => reply.callNotFound());
  // Dotfiles of the static folder are not served either (@fastify/static allows them by default).
  if (options.staticDir !== undefined)
    void app.register(fastifyStatic, { root: path.resolve(options.staticDir), prefix: "/", dotfiles: "ignore" });

  app.addHook("onClose", async () => batcher.close());
  return app;
}

export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_PORT = 8080;

export interface ListenOptions {
  /** Address to bind. Default 127.0.0.1: only this machine can connect unless asked otherwise. */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
}

/**
 * Starts `app` listening and returns the URL of the address it bound (for --host 0.0.0.0, http://0.0.0.0:PORT, not
 * one of the addresses that reach it); a port in use or an unknown address is a one-line error.
 */
export async function listen(app: FastifyInstance, options: ListenOptions = {}): Promise<string> {
  const { host = DEFAULT_HOST, port = DEFAULT_PORT } = options;
  try {
    await app.listen({ host, port });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === "EADDRINUSE"
        ? "the port is in use"
        : code === "EADDRNOTAVAIL" || code === "ENOTFOUND"
          ? "no such address on this machine"
          : (error as Error).message;
    throw new Error(`cannot listen on ${host}:${port}: ${reason}`);
  }
  const bound = app.server.address() as AddressInfo;
  return `http://${bound.family === "IPv6" ? `[${bound.address}]` : bound.address}:${bound.port}`;
}

/** Whether the URL `listen` returned is on a loopback address (127.0.0.0/8 or ::1), which only this machine reaches. */
export function isLoopback(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
  // An IPv4-mapped 127.x.y.z reads ::ffff:7fxx:yyzz once in a URL.
  return /^127\./.test(host) || host === "::1" || /^::ffff:7f[0-9a-f]{2}:/.test(host);
}

/** Seconds a client told "busy" (503) should wait before trying again. */
const RETRY_AFTER_S = 1;

const isBusy = (error: unknown): boolean =>
  error instanceof QueueFullError || error instanceof QueueTimeoutError || error instanceof BatcherClosedError;

/** The model gave a NaN or infinite score: its weights are broken, so it answers nothing (500) rather than nulls. */
class NonFiniteScoreError extends Error {
  constructor(readonly scores: readonly number[]) {
    super(
      `the model gave a non-finite score (${scores.find((score) => !Number.isFinite(score))}): it is not fit to serve`,
    );
    this.name = "NonFiniteScoreError";
  }
}

/** `recommendation` as it is, once its scores are known to be finite (JSON has no NaN or Infinity). */
function finite(recommendation: Recommendation): Recommendation {
  if (!recommendation.scores.every(Number.isFinite)) throw new NonFiniteScoreError(recommendation.scores);
  return recommendation;
}

const CONTENT_TYPES: Record<string, string> = {
  ".json": "application/json; charset=utf-8",
  ".bin": "application/octet-stream",
};

/**
 * GET /model/<file> for each of `files` (paths relative to `dir`; one with a dotfile segment is left out). A file
 * is served only when its real path, links resolved at the time of the request, is a regular file inside the real
 * `dir`: a link leading out of the folder is a 404 like any other path.
 */
function serveModelFiles(app: FastifyInstance, dir: string, files: readonly string[]): void {
  const root = realpathSync(dir);
  for (const file of files) {
    const segments = file.split("/");
    if (segments.some((segment) => segment === "" || segment.startsWith("."))) continue;
    app.get(`/model/${segments.map(encodeURIComponent).join("/")}`, async (_request, reply) => {
      const real = await fs.realpath(path.join(root, ...segments)).catch(() => null);
      const inside = real !== null && real.startsWith(root + path.sep) && (await fs.stat(real)).isFile();
      if (!inside) return reply.callNotFound();
      return reply.type(CONTENT_TYPES[path.extname(file)] ?? "application/octet-stream").send(createReadStream(real));
    });
  }
}

/** Known items of the catalogue: the item column's cardinality less the padding and OOV ids. */
function catalogueSize(model: RecommenderModel): number {
  const { schema } = model.manifest;
  const item = schema.columns.find((column) => column.name === schema.item);
  return Math.max(0, (item?.cardinality ?? 0) - RESERVED_ITEM_IDS);
}

function resolveLimits(model: RecommenderModel, options: ServerOptions): RequestLimits {
  const catalogue = catalogueSize(model);
  if (catalogue < 1)
    throw new Error(
      `createServer: model "${model.manifest.name}" has no known items to recommend (item column "${model.manifest.schema.item}")`,
    );
  for (const key of ["defaultK", "maxK", "maxSessionLength", "maxBatchSessions", "bodyLimit"] as const) {
    const value = options[key];
    if (value !== undefined && (!Number.isInteger(value) || value < 1))
      throw new Error(`createServer: ${key} must be an integer >= 1, got ${value}`);
  }
  const maxK = Math.min(options.maxK ?? DEFAULTS.maxK, catalogue);
  return {
    maxK,
    defaultK: Math.min(options.defaultK ?? DEFAULTS.defaultK, maxK),
    maxSessionLength: options.maxSessionLength ?? DEFAULTS.maxSessionLength,
    maxBatchSessions: options.maxBatchSessions ?? DEFAULTS.maxBatchSessions,
  };
}

/** Awaits the batcher, turning a session's failure into a 400 that says which session (`where`) and why. */
async function scored<T>(pending: Promise<T>, where: "session" | "sessions"): Promise<T> {
  try {
    return await pending;
  } catch (error) {
    if (error instanceof SessionScoreError && isInputError(error.reason)) {
      throw new HttpError(400, located(error.message, where === "session" ? "session" : `sessions[${error.index}]`));
    }
    throw error;
  }
}

/** The live encoder names a session by its index in the call ("live session 0, event 2, …"); the batcher's calls
 *  are not the request's, so the request's own name for it replaces that. */
const ENCODER_SESSION = /^live session \d+(?=[:,])/;

function located(message: string, session: string): string {
  return ENCODER_SESSION.test(message) ? message.replace(ENCODER_SESSION, session) : `${session}: ${message}`;
}

/**
 * Whether a model error is about its input: the encoder reports bad values (a date it cannot read, …) with a
 * plain Error; TypeError, RangeError and the like are bugs, answered 500.
 */
function isInputError(error: unknown): boolean {
  return error instanceof Error && error.constructor === Error;
}

function toHttpError(error: FastifyError, bodyLimit: number): { statusCode: number; message: string } {
  if (isBusy(error)) return { statusCode: 503, message: error.message };
  if (error instanceof NonFiniteScoreError)
    return { statusCode: 500, message: `${error.message} (see the server log)` };
  if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE")
    return { statusCode: 413, message: `request body is larger than the limit of ${bodyLimit} bytes` };
  if (error.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE")
    return { statusCode: 415, message: "unsupported content type: send application/json" };
  const statusCode = error.statusCode ?? 500;
  if (statusCode >= 400 && statusCode < 500) return { statusCode, message: error.message };
  return { statusCode: 500, message: "internal error (see the server log)" };
}
