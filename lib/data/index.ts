// The data-preparation toolkit in one import: `import { Database, readEvents, Workflow, prepareBooking, prepareEvents } from "../lib/data"`.
export * from "./categorify";
export * from "./database";
export * from "./dataset";
export * from "./features";
export * from "./files";
export * from "./io";
export * from "./loader";
export * from "./recipes/booking";
export * from "./recipes/events";
export * from "./relation";
export * from "./schema";
export * from "./sessionize";
export * from "./sessions";
export * from "./split";
export * from "./steps";
export * from "./workflow";
export * from "./synthetic";
