/**
 * A four-pin top level for place and route: the accelerator's DRAM ports and control need
 * hundreds of pins, more than an iCE40 package has. Every input of vta_top (but clk and
 * rst) is driven from a shift register fed by pin `sin` (inputs of one width share bits);
 * every output bit is XOR-reduced
 * into the registered pin `sout`. Nothing becomes constant, so Yosys keeps all the logic,
 * and the wrapper's own cost (one flip-flop per input bit, a XOR tree) is stated in the report.
 */
import { type Item, type VModule, always, input, nb, output, reg, wire } from "../../../codegen/verilog/ast.ts";
import type { HwConfig } from "./config.ts";
import { top } from "./top.ts";

export const WRAPPER_TOP = "vta_fpga_top";

export function scanWrapper(c: HwConfig): { module: VModule; scanBits: number; observedBits: number } {
  const core = top(c);
  const ins = core.ports.filter((p) => p.dir === "input" && p.name !== "clk" && p.name !== "rst");
  const outs = core.ports.filter((p) => p.dir === "output");
  // Inputs of one width share scan bits (the DRAM read ports all see the same data word,
  // insn_base and insn_count the same value): still not constant, and the chain stays short.
  const widths = [...new Set(ins.map((p) => p.width))].sort((x, y) => x - y);
  const offset = new Map<number, number>();
  let scanBits = 0;
  for (const w of widths) {
    offset.set(w, scanBits);
    scanBits += w;
  }
  const conns: Record<string, string> = { clk: "clk", rst: "rst" };
  for (const p of ins) {
    const at = offset.get(p.width)!;
    conns[p.name] = p.width === 1 ? `scan[${at}]` : `scan[${at + p.width - 1}:${at}]`;
  }
  const items: Item[] = [reg("scan", scanBits)];
  for (const p of outs) {
    items.push(wire(`o_${p.name}`, p.width));
    conns[p.name] = `o_${p.name}`;
  }
  items.push(
    { k: "inst", module: core.name, name: "core", conns },
    always([nb("scan", `{scan[${scanBits - 2}:0], sin}`), nb("sout", `^{${outs.map((p) => `o_${p.name}`).join(", ")}}`)]),
  );
  return {
    module: { name: WRAPPER_TOP, doc: "Place-and-route top: vta_top behind a serial scan chain (synth.ts).", ports: [input("clk"), input("rst"), input("sin"), output("sout", 1, true)], items },
    scanBits,
    observedBits: outs.reduce((s, p) => s + p.width, 0),
  };
}

