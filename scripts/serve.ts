// `npm run serve -- --model build/models/gru [--host 127.0.0.1] [--port 8080] [--static DIR] [--max-queue-wait MS]
// [--log]`: serves a saved model folder over HTTP (see lib/serve/server.ts for the endpoints). Prints the address
// bound once listening, and a warning on stderr when it is not loopback; a missing or corrupt folder, a bad flag
// or a port in use is one line on stderr and a non-zero exit.
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { initBackend } from "../lib/compute/backend";
import { DEFAULT_HOST, DEFAULT_PORT, isLoopback, listen } from "../lib/serve";
import { DEFAULT_BATCHER_OPTIONS } from "../lib/serve/batcher";
import { serveModelFolder } from "../lib/serve/load";

const USAGE =
  "usage: npm run serve -- --model <model folder> [--host 127.0.0.1] [--port 8080] [--static <folder served at />, default build/demo when built] " +
  `[--max-queue-wait <ms a request may wait in the queue before a 503, default ${DEFAULT_BATCHER_OPTIONS.maxQueueWaitMs}>] [--log]`;
const DEMO_DIR = "build/demo";

interface CliOptions {
  model: string;
  host: string;
  port: number;
  staticDir?: string;
  maxQueueWaitMs: number;
  log: boolean;
}

/** Thrown for a bad command line: printed with the usage line, exit status 2. */
class UsageError extends Error {}

function parseCommandLine(argv: string[]): CliOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        model: { type: "string" },
        host: { type: "string", default: DEFAULT_HOST },
        port: { type: "string", default: String(DEFAULT_PORT) },
        static: { type: "string" },
        "max-queue-wait": { type: "string", default: String(DEFAULT_BATCHER_OPTIONS.maxQueueWaitMs) },
        log: { type: "boolean", default: false },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.model === undefined) throw new UsageError("--model is required");
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port) || port > 65535) throw new UsageError(`--port must be an integer in 0..65535 (0: any free port), got "${values.port}"`);
  const maxQueueWaitMs = Number(values["max-queue-wait"]);
  if (!/^\d+$/.test(values["max-queue-wait"]) || maxQueueWaitMs < 1) throw new UsageError(`--max-queue-wait must be a whole number of milliseconds >= 1, got "${values["max-queue-wait"]}"`);
  const staticDir = values.static ?? (existsSync(DEMO_DIR) ? DEMO_DIR : undefined);
  return { model: values.model, host: values.host, port, staticDir, maxQueueWaitMs, log: values.log };
}

async function main(): Promise<void> {
  const options = parseCommandLine(process.argv.slice(2));
  await initBackend();
  const { app, model } = await serveModelFolder(options.model, {
    staticDir: options.staticDir,
    batching: { maxQueueWaitMs: options.maxQueueWaitMs },
    // Warnings and 500s always; one line per request only with --log (it costs throughput).
    logger: { level: options.log ? "info" : "warn" },
  });
  let address: string;
  try {
    address = await listen(app, { host: options.host, port: options.port });
  } catch (error) {
    model.dispose();
    throw error;
  }
  const { name, kind } = model.manifest;
  console.log(`serve: ${name} (${kind}) at ${address}  (POST /v1/recommend, POST /v1/recommend/batch, GET /v1/models, GET /healthz)`);
  console.log(options.staticDir === undefined ? "serve: no demo page (npm run demo:build, then restart)" : `serve: demo page ${address}/ (from ${options.staticDir})`);
  if (!isLoopback(address)) {
    console.error(
      `serve: warning: listening on ${address}, which other machines can reach: the service has no authentication, so anyone ` +
        `who reaches this address can use it and fetch the model folder (bind 127.0.0.1, the default, to keep it local)`,
    );
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) process.exit(1); // a second Ctrl-C: do not wait any longer
    stopping = true;
    console.log(`serve: ${signal}, answering queued requests and stopping`);
    await app.close();
    model.dispose();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof UsageError) {
    console.error(`serve: ${message}\n${USAGE}`);
    process.exit(2);
  }
  console.error(`serve: ${message}`);
  process.exit(1);
});
