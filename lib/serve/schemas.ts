// JSON schemas of the service's requests and replies. Requests are validated strictly (no type coercion, no
// unknown top-level fields), so every malformed request is a 400 that names the field; reply schemas let Fastify
// serialize the hot path without JSON.stringify's generic walk.
import { eventSchema, type EventColumn } from "./events";

export interface RequestLimits {
  /** k when a request gives none. */
  defaultK: number;
  maxK: number;
  maxSessionLength: number;
  /** Most sessions in one batch request. */
  maxBatchSessions: number;
}

export interface RecommendBody {
  session: Record<string, unknown>[];
  k: number;
}

export interface RecommendBatchBody {
  sessions: Record<string, unknown>[][];
  k: number;
}

const recommendationProperties = {
  items: { type: "array", items: { type: ["string", "number"] } },
  // Always finite: the server answers 500 rather than send a NaN or infinite score (see server.ts).
  scores: { type: "array", items: { type: "number" } },
};

const servedBy = { model: { type: "string" }, version: { type: "string" } };

export function requestSchemas(limits: RequestLimits, columns: readonly EventColumn[] | undefined) {
  const session = { type: "array", minItems: 1, maxItems: limits.maxSessionLength, items: eventSchema(columns) };
  const k = { type: "integer", minimum: 1, maximum: limits.maxK, default: limits.defaultK };
  return {
    recommend: {
      body: { type: "object", required: ["session"], additionalProperties: false, properties: { session, k } },
      response: { 200: { type: "object", properties: { ...recommendationProperties, ...servedBy } } },
    },
    recommendBatch: {
      body: {
        type: "object",
        required: ["sessions"],
        additionalProperties: false,
        properties: { sessions: { type: "array", minItems: 1, maxItems: limits.maxBatchSessions, items: session }, k },
      },
      response: {
        200: {
          type: "object",
          properties: {
            results: { type: "array", items: { type: "object", properties: recommendationProperties } },
            ...servedBy,
          },
        },
      },
    },
  };
}
