// Entry of every training worker thread: Node cannot load TypeScript by itself, so register tsx (as `tsx` and
// vitest do for the main thread) and then import the worker's module, named by workerData.entry.
import { register } from "tsx/esm/api";
import { workerData } from "node:worker_threads";

register();
await import(workerData.entry);
