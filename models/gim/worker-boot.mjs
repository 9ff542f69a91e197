// Loads a TypeScript worker module through tsx's ESM loader (as bin/lathe.mjs does for the CLI).
import { register } from "tsx/esm/api";
import { workerData } from "node:worker_threads";

register();
await import(workerData.module);
