// The service's endpoints and its answers to bad input, over a fake model with known answers (no sockets: inject).
import type { FastifyInstance } from "fastify";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createServer, type ServerOptions } from "../lib/serve";
import { createFakeModel, FAKE_EVENT_COLUMNS, type FakeModel } from "./helpers/serve-fake-model";

const event = (city_id: unknown, checkin: unknown = "2016-08-13") => ({ city_id, checkin });

let app: FastifyInstance | undefined;
let model: FakeModel;

function serve(options: ServerOptions = {}): FastifyInstance {
  model = createFakeModel();
  app = createServer(model, { eventColumns: FAKE_EVENT_COLUMNS, ...options });
  return app;
}

afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function post(server: FastifyInstance, url: string, payload: unknown) {
  const response = await server.inject({ method: "POST", url, payload: payload as object });
  return { status: response.statusCode, body: response.json() as Record<string, unknown> };
}

describe("POST /v1/recommend", () => {
  it("answers the model's top-k for the last event, with the model name and version", async () => {
    const { status, body } = await post(serve(), "/v1/recommend", {
      session: [event(120), event(130, "2016-08-15")],
      k: 3,
    });
    expect(status).toBe(200);
    expect(body).toEqual({
      items: [131, 132, 133],
      scores: [1, 0.5, 1 / 3],
      model: "fake-gru",
      version: "2024-05-01T12:00:00.000Z",
    });
  });

  it("uses k = 10 when the request gives none, and never more than the catalogue", async () => {
    const server = serve();
    expect(((await post(server, "/v1/recommend", { session: [event(100)] })).body.items as number[]).length).toBe(10);
    // 50 known items (cardinality 52 less padding and OOV): k = 51 is out of range even though maxK defaults to 100.
    const { status, body } = await post(server, "/v1/recommend", { session: [event(100)], k: 51 });
    expect(status).toBe(400);
    expect(body.message).toBe("body/k must be <= 50");
  });

  it("accepts extra event fields and leaves out the session id column", async () => {
    const { status, body } = await post(serve(), "/v1/recommend", {
      session: [{ ...event(140), user_id: 7, device_class: "mobile" }],
      k: 1,
    });
    expect(status).toBe(200);
    expect(body.items).toEqual([141]);
  });

  it("carries string items as strings", async () => {
    const server = serve();
    model.recommendBatch = async (sessions) =>
      sessions.map(() => ({ items: ["Paris", 3, "Rome"], scores: [0.75, 0.5, -2] }));
    const { status, body } = await post(server, "/v1/recommend", { session: [event(100)], k: 3 });
    expect(status).toBe(200);
    expect(body).toMatchObject({ items: ["Paris", 3, "Rome"], scores: [0.75, 0.5, -2] });
  });

  it("never sends a non-finite score: a model that gives one answers 500", async () => {
    const server = serve();
    model.recommendBatch = async (sessions) =>
      sessions.map((_, s) => ({ items: [1, 2], scores: s === 1 ? [0.5, NaN] : [Infinity, 0.5] }));
    const message = "the model gave a non-finite score (Infinity): it is not fit to serve (see the server log)";
    expect(await post(server, "/v1/recommend", { session: [event(100)], k: 2 })).toEqual({
      status: 500,
      body: { statusCode: 500, error: "Internal Server Error", message },
    });
    model.recommendBatch = async (sessions) =>
      sessions.map((_, s) => ({ items: [1, 2], scores: s === 1 ? [0.5, NaN] : [1, 0.5] }));
    const batch = await post(server, "/v1/recommend/batch", { sessions: [[event(100)], [event(101)]], k: 2 });
    expect(batch).toEqual({
      status: 500,
      body: { statusCode: 500, error: "Internal Server Error", message: message.replace("Infinity", "NaN") },
    });
  });
});

describe("POST /v1/recommend/batch", () => {
  it("answers every session in order, in one recommendBatch call", async () => {
    const server = serve();
    const { status, body } = await post(server, "/v1/recommend/batch", {
      sessions: [[event(100)], [event(110), event(140)], [event(120)]],
      k: 2,
    });
    expect(status).toBe(200);
    expect(body).toEqual({
      results: [
        { items: [101, 102], scores: [1, 0.5] },
        { items: [141, 142], scores: [1, 0.5] },
        { items: [121, 122], scores: [1, 0.5] },
      ],
      model: "fake-gru",
      version: "2024-05-01T12:00:00.000Z",
    });
    expect(model.calls).toEqual([3]);
  });

  it("names the session the encoder rejects, and the other requests of its micro-batch still succeed", async () => {
    const server = serve({ batching: { maxWaitMs: 20 } });
    const [bad, good] = await Promise.all([
      post(server, "/v1/recommend/batch", { sessions: [[event(100)], [event(666)]], k: 1 }),
      post(server, "/v1/recommend", { session: [event(105)], k: 1 }),
    ]);
    expect(bad.status).toBe(400);
    expect(bad.body.message).toBe('sessions[1], event 0, "city_id": cannot read 666 as INTEGER');
    expect(good).toEqual({ status: 200, body: expect.objectContaining({ items: [106] }) });
    // One call for the three sessions together, then one per session to find the bad one.
    expect(model.calls).toEqual([3, 1, 1, 1]);
  });

  it("refuses more sessions than maxBatchSessions", async () => {
    const { status, body } = await post(serve({ maxBatchSessions: 2 }), "/v1/recommend/batch", {
      sessions: [[event(100)], [event(101)], [event(102)]],
    });
    expect(status).toBe(400);
    expect(body.message).toBe("body/sessions must NOT have more than 2 items");
  });
});

describe("bad input is a 4xx with a clear message", () => {
  const cases: [string, unknown, string][] = [
    ["no session", { k: 3 }, "body must have required property 'session'"],
    ["an empty session", { session: [] }, "body/session must NOT have fewer than 1 items"],
    ["a session that is not a list", { session: { city_id: 1 } }, "body/session must be array"],
    ["an event that is not an object", { session: [5] }, "body/session/0 must be object"],
    [
      "an event without its item",
      { session: [{ checkin: "2016-08-13" }] },
      "body/session/0 must have required property 'city_id'",
    ],
    [
      "an object where a value belongs",
      { session: [event({ id: 8183 })] },
      "body/session/0/city_id must be string,number,null",
    ],
    [
      "a number where a date belongs",
      { session: [event(100, 20160813)] },
      "body/session/0/checkin must be string,null",
    ],
    ["k of 0", { session: [event(100)], k: 0 }, "body/k must be >= 1"],
    ["k that is not an integer", { session: [event(100)], k: 2.5 }, "body/k must be integer"],
    ["k as a string", { session: [event(100)], k: "10" }, "body/k must be integer"],
    ["an unknown field", { session: [event(100)], K: 10 }, "body must NOT have additional properties"],
    [
      "a session longer than the limit",
      { session: Array.from({ length: 4 }, (_, i) => event(100 + i)) },
      "body/session must NOT have more than 3 items",
    ],
  ];
  it.each(cases)("%s → 400", async (_, payload, message) => {
    const { status, body } = await post(serve({ maxSessionLength: 3 }), "/v1/recommend", payload);
    expect({ status, message: body.message }).toEqual({ status: 400, message });
    expect(model.calls).toEqual([]);
  });

  it("malformed JSON → 400, a body over the limit → 413, a body of another type → 415", async () => {
    const server = serve({ bodyLimit: 200 });
    const malformed = await server.inject({
      method: "POST",
      url: "/v1/recommend",
      headers: { "content-type": "application/json" },
      payload: '{"session": [',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().message).toMatch(/JSON/);
    const large = await post(server, "/v1/recommend", {
      session: Array.from({ length: 10 }, (_, i) => event(100 + i)),
    });
    expect(large).toEqual({
      status: 413,
      body: {
        statusCode: 413,
        error: "Payload Too Large",
        message: "request body is larger than the limit of 200 bytes",
      },
    });
    const xml = await server.inject({
      method: "POST",
      url: "/v1/recommend",
      headers: { "content-type": "application/xml" },
      payload: "<session/>",
    });
    expect(xml.statusCode).toBe(415);
    expect(xml.json().message).toBe("unsupported content type: send application/json");
  });

  it("an encoder error is a 400 with its message; a bug in the model is a 500 that reveals nothing", async () => {
    const server = serve();
    const rejected = await post(server, "/v1/recommend", { session: [event(666)] });
    expect(rejected).toEqual({
      status: 400,
      body: {
        statusCode: 400,
        error: "Bad Request",
        message: 'session, event 0, "city_id": cannot read 666 as INTEGER',
      },
    });
    const bug = await post(server, "/v1/recommend", { session: [event(999)] });
    expect(bug).toEqual({
      status: 500,
      body: { statusCode: 500, error: "Internal Server Error", message: "internal error (see the server log)" },
    });
  });

  it("an unknown route is a 404", async () => {
    const response = await serve().inject({ method: "GET", url: "/v1/nothing" });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ statusCode: 404, error: "Not Found", message: "no such route: GET /v1/nothing" });
  });

  it("a known route asked with another method is a 405 that says which methods it takes", async () => {
    const server = serve();
    const cases: [string, string, string][] = [
      ["GET", "/v1/recommend", "POST"],
      ["PUT", "/v1/recommend/batch?x=1", "POST"],
      ["POST", "/healthz", "GET, HEAD"],
      ["DELETE", "/v1/models", "GET, HEAD"],
    ];
    for (const [method, url, allow] of cases) {
      const response = await server.inject({ method: method as "GET", url });
      const path = url.split("?")[0];
      expect({ status: response.statusCode, allow: response.headers.allow, body: response.json() }).toEqual({
        status: 405,
        allow,
        body: {
          statusCode: 405,
          error: "Method Not Allowed",
          message: `${method} is not allowed on ${path} (allowed: ${allow})`,
        },
      });
    }
    expect(model.calls).toEqual([]);
  });
});

describe("concurrency", () => {
  it("batches concurrent requests into one call, and answers 503 when the queue is full", async () => {
    const server = serve({
      maxBatchSessions: 4,
      batching: { maxWaitMs: 5, maxBatchSessions: 4, maxQueuedSessions: 4 },
    });
    await server.ready();
    model.hold = true;
    // The first four fill one batch, which the model holds; the next four wait in the queue; the ninth is refused.
    const first = Array.from({ length: 4 }, (_, i) =>
      post(server, "/v1/recommend", { session: [event(100 + i)], k: 1 }),
    );
    await until(() => model.calls.length === 1);
    const queued = Array.from({ length: 4 }, (_, i) =>
      post(server, "/v1/recommend", { session: [event(110 + i)], k: 1 }),
    );
    await until(async () => (await server.inject({ method: "GET", url: "/healthz" })).json().queuedSessions === 4);
    const refused = await server.inject({ method: "POST", url: "/v1/recommend", payload: { session: [event(120)] } });
    expect(refused.statusCode).toBe(503);
    expect(refused.headers["retry-after"]).toBe("1");
    expect(refused.json().message).toBe("the service is busy (4 sessions already queued): retry later");
    // Refused before its body is read: not even parsed.
    const unread = await server.inject({
      method: "POST",
      url: "/v1/recommend/batch",
      headers: { "content-type": "application/json" },
      payload: "{ not json",
    });
    expect([unread.statusCode, unread.headers["retry-after"]]).toEqual([503, "1"]);
    model.hold = false;
    model.release();
    const answers = await Promise.all([...first, ...queued]);
    expect(answers.map((answer) => (answer.body.items as number[])[0])).toEqual([
      101, 102, 103, 104, 111, 112, 113, 114,
    ]);
    expect(model.calls).toEqual([4, 4]);
  });
});

describe("the static folder", () => {
  it("serves its pages but not its dotfiles, and never a path under /model/", async () => {
    const site = mkdtempSync(join(tmpdir(), "sessionrec-static-"));
    try {
      writeFileSync(join(site, "index.html"), "<h1>demo</h1>");
      writeFileSync(join(site, ".env"), "SECRET=1");
      mkdirSync(join(site, "model"));
      writeFileSync(join(site, "model", "model.json"), "{}");
      const server = serve({ staticDir: site });
      expect((await server.inject({ method: "GET", url: "/" })).body).toBe("<h1>demo</h1>");
      for (const url of ["/.env", "/model/model.json"])
        expect([url, (await server.inject({ method: "GET", url })).statusCode]).toEqual([url, 404]);
    } finally {
      rmSync(site, { recursive: true, force: true });
    }
  });
});

describe("a request that waits too long in the queue", () => {
  it("is answered 503 with Retry-After once it has waited maxQueueWaitMs, and is never scored", async () => {
    const server = serve({ maxBatchSessions: 1, batching: { maxWaitMs: 0, maxBatchSessions: 1, maxQueueWaitMs: 100 } });
    await server.ready();
    model.hold = true; // a slow model: the first call does not end until released
    const first = post(server, "/v1/recommend", { session: [event(100)], k: 1 });
    await until(() => model.calls.length === 1);
    const waiting = await server.inject({
      method: "POST",
      url: "/v1/recommend",
      payload: { session: [event(110)], k: 1 },
    });
    expect(waiting.statusCode).toBe(503);
    expect(waiting.headers["retry-after"]).toBe("1");
    expect(waiting.json().message).toMatch(/^the service is busy \(waited \d+ ms in the queue\): retry later$/);
    model.hold = false;
    model.release();
    expect((await first).body.items).toEqual([101]);
    expect(model.calls).toEqual([1]);
    expect((await server.inject({ method: "GET", url: "/healthz" })).json().queuedSessions).toBe(0);
  });
});

describe("GET /healthz and /v1/models", () => {
  it("report the model, its catalogue and the limits", async () => {
    const server = serve({ maxK: 20 });
    const health = await server.inject({ method: "GET", url: "/healthz" });
    expect(health.json()).toEqual({ status: "ok", model: "fake-gru", queuedSessions: 0, queueCapacity: 1024 });
    const [described] = (await server.inject({ method: "GET", url: "/v1/models" })).json().models;
    expect(described).toMatchObject({
      name: "fake-gru",
      kind: "gru",
      version: "2024-05-01T12:00:00.000Z",
      trainedAt: "2024-05-01T12:00:00.000Z",
      metrics: { "recall@10": 0.5 },
      vocabularySize: 50,
      limits: { maxK: 20, defaultK: 10, maxSessionLength: 100, maxBatchSessions: 64 },
      eventColumns: FAKE_EVENT_COLUMNS,
    });
    expect(described.schema.item).toBe("city_id_list");
  });
});

describe("createServer", () => {
  it("refuses limits that cannot work", () => {
    expect(() => createServer(createFakeModel(), { maxK: 0 })).toThrow(
      "createServer: maxK must be an integer >= 1, got 0",
    );
    expect(() => createServer(createFakeModel(), { maxBatchSessions: 10, batching: { maxQueuedSessions: 5 } })).toThrow(
      /maxBatchSessions \(10\) exceeds/,
    );
  });
});

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!(await condition())) {
    if (Date.now() - start > timeoutMs) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
