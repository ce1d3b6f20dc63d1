// Saved model folders in one import (node): `import { saveModelFolder, loadModelFolder } from "./lib/model-folder/index"`.
// A web page imports ./core instead (no file system): `readModelFolder(reader)` or `recommenderFromParts(parts)`.
export * from "./types";
export * from "./core";
export * from "./node";
export { liveBatch } from "./batch";
export { loadTrained, loadTrainedModel, schemaMismatch, type TrainedBaseline, type TrainedModel } from "./trained";
