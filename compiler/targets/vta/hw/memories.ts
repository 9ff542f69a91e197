/** The instruction FIFO and the on-chip SRAMs shared between modules (one write port, one registered read port). */
import { type VModule, always, assign, iff, input, nb, output, reg } from "../../../codegen/verilog/ast.ts";
import type { HwConfig } from "./config.ts";

/** A first-word-fall-through FIFO of 128-bit instructions, `insnQueueDepth` deep. */
export function insnFifo(c: HwConfig): VModule {
  const L = c.qLog2;
  return {
    name: "vta_insn_fifo",
    doc: `Instruction queue: ${c.p.insnQueueDepth} × 128 bits, first word visible on dout.`,
    ports: [input("clk"), input("rst"), input("push"), input("din", 128), output("full"), input("pop"), output("dout", 128), output("empty")],
    items: [
      reg("mem", 128, c.p.insnQueueDepth),
      reg("wp", L + 1), reg("rp", L + 1),
      assign("empty", "wp == rp"),
      assign("full", `(wp[${L}] != rp[${L}]) && (wp[${L - 1}:0] == rp[${L - 1}:0])`),
      assign("dout", `mem[rp[${L - 1}:0]]`),
      always([
        iff("rst", [nb("wp", 0), nb("rp", 0)], [
          iff("push && !full", [nb(`mem[wp[${L - 1}:0]]`, "din"), nb("wp", "wp + 1'b1")]),
          iff("pop && !empty", [nb("rp", "rp + 1'b1")]),
        ]),
      ]),
    ],
  };
}

/** A simple dual-port SRAM: synchronous write, registered read. Contents start undefined (X). */
export function sram(name: string, width: number, depth: number, aw: number): VModule {
  return {
    name,
    doc: `${depth} entries × ${width} bits.`,
    ports: [input("clk"), input("we"), input("waddr", aw), input("wdata", width), input("raddr", aw), output("rdata", width, true)],
    items: [
      reg("mem", width, depth),
      always([iff("we", [nb("mem[waddr]", "wdata")]), nb("rdata", "mem[raddr]")]),
    ],
  };
}

/** A token queue: tokens carry no data, so it is a counter. */
export function tokenCounter(): VModule {
  return {
    name: "vta_token_counter",
    doc: "Dependency-token queue between two modules (a counter).",
    ports: [input("clk"), input("rst"), input("push"), input("pop"), output("nonempty")],
    items: [
      reg("count", 16),
      assign("nonempty", "count != 16'd0"),
      always([iff("rst", [nb("count", 0)], [nb("count", "count + {15'd0, push} - {15'd0, pop}")])]),
    ],
  };
}

