#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's ESM loader, so no build step is needed.
import { register } from "tsx/esm/api";

register();
const { main } = await import(new URL("../cli/main.ts", import.meta.url).href);
await main(process.argv);
