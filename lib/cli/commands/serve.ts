// `sessionrec serve <model-folder>`: serves a model folder (a neural model or a baseline) over HTTP (see
// lib/serve/server.ts for the endpoints) until SIGINT or SIGTERM. Prints the address bound once listening, and a
// warning on stderr when it is not loopback; a missing or corrupt folder or a port in use is one line and exit 1, a
// bad flag exit 2. `npm run serve -- --model <folder>` runs it (--model is the argument's other spelling).
import { existsSync } from "node:fs";
import { Command, InvalidArgumentError } from "commander";
import { initBackend } from "../../compute/backend";
import { DEFAULT_HOST, DEFAULT_PORT, isLoopback, listen } from "../../serve/server";
import { DEFAULT_BATCHER_OPTIONS } from "../../serve/batcher";
import { serveModelFolder } from "../../serve/load";
import { UsageError } from "../errors";
import { positiveInteger } from "./recommend";

const DEMO_DIR = "build/demo";
const DEFAULT_MAX_BATCH = 64;

const EXAMPLES = `
Examples:
  $ sessionrec serve build/models/gru                        # http://127.0.0.1:8080
  $ sessionrec serve build/models/v-sknn --port 9000 --log
  $ curl -s localhost:8080/v1/recommend -H 'content-type: application/json' -d '{"session": [{"city_id": 8183, ...}], "k": 5}'`;

interface ServeOptions {
  model?: string;
  host: string;
  port: number;
  static?: string;
  maxQueueWait: number;
  maxBatch: number;
  log?: boolean;
}

/** At most the queue's capacity: a larger batch request could never be queued. */
function maxBatch(value: string): number {
  const sessions = positiveInteger(value);
  const capacity = DEFAULT_BATCHER_OPTIONS.maxQueuedSessions;
  if (sessions > capacity)
    throw new InvalidArgumentError(`expected at most ${capacity} (the sessions the queue holds)`);
  return sessions;
}

function port(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535)
    throw new InvalidArgumentError("expected an integer in 0..65535 (0: any free port)");
  return Number(value);
}

export function serveCommand(): Command {
  return new Command("serve")
    .description(
      "serve a model folder (a neural model or a baseline) over HTTP: POST /v1/recommend, POST /v1/recommend/batch, GET /v1/models, GET /healthz",
    )
    .argument("[model-folder]", "a folder written by `sessionrec train` or saveModelFolder")
    .option("--model <folder>", "the model folder, as a flag (`npm run serve -- --model <folder>`)")
    .option(
      "--host <address>",
      "address to bind; anything but loopback lets other machines in, without authentication",
      DEFAULT_HOST,
    )
    .option("--port <port>", "port to listen on (0: any free port)", port, DEFAULT_PORT)
    .option("--static <folder>", `a folder served at / (default ${DEMO_DIR} when built: the demo page)`)
    .option(
      "--max-queue-wait <ms>",
      "longest a request waits in the queue before a 503",
      positiveInteger,
      DEFAULT_BATCHER_OPTIONS.maxQueueWaitMs,
    )
    .option("--max-batch <sessions>", "most sessions in one /v1/recommend/batch request", maxBatch, DEFAULT_MAX_BATCH)
    .option("--log", "one log line per request (costs throughput)")
    .addHelpText("after", EXAMPLES)
    .action(async (folder: string | undefined, options: ServeOptions) => {
      if (folder !== undefined && options.model !== undefined && folder !== options.model) {
        throw new UsageError(`two model folders given (${folder} and --model ${options.model}): give one`);
      }
      const dir = folder ?? options.model;
      if (dir === undefined) throw new UsageError("no model folder: sessionrec serve <model-folder> (see --help)");
      await serve(dir, options);
    });
}

async function serve(dir: string, options: ServeOptions): Promise<void> {
  const staticDir = options.static ?? (existsSync(DEMO_DIR) ? DEMO_DIR : undefined);
  await initBackend();
  const { app, model } = await serveModelFolder(dir, {
    staticDir,
    maxBatchSessions: options.maxBatch,
    batching: { maxQueueWaitMs: options.maxQueueWait },
    // Warnings and 500s always; one line per request only with --log (it costs throughput).
    logger: { level: options.log ? "info" : "warn" },
  });
  let address: string;
  try {
    address = await listen(app, { host: options.host, port: options.port });
  } catch (error) {
    await app.close();
    model.dispose();
    throw error;
  }
  const { name, kind } = model.manifest;
  console.log(
    `serve: ${name} (${kind}) at ${address}  (POST /v1/recommend, POST /v1/recommend/batch, GET /v1/models, GET /healthz)`,
  );
  console.log(
    staticDir === undefined
      ? "serve: no demo page (npm run demo:build, then restart)"
      : `serve: demo page ${address}/ (from ${staticDir})`,
  );
  if (!isLoopback(address)) {
    console.error(
      `serve: warning: listening on ${address}, which other machines can reach: the service has no authentication, so anyone ` +
        `who reaches this address can use it and fetch the model folder (bind 127.0.0.1, the default, to keep it local)`,
    );
  }

  // Serves until the first SIGINT or SIGTERM, then answers what is queued and returns; a second one exits at once.
  const signal = await new Promise<string>((resolve) => {
    const stop = (name: string) => {
      process.off("SIGINT", onInt).off("SIGTERM", onTerm);
      process.once("SIGINT", () => process.exit(1)).once("SIGTERM", () => process.exit(1));
      resolve(name);
    };
    const onInt = () => stop("SIGINT");
    const onTerm = () => stop("SIGTERM");
    process.on("SIGINT", onInt).on("SIGTERM", onTerm);
  });
  console.log(`serve: ${signal}, answering queued requests and stopping`);
  await app.close();
  model.dispose();
}
