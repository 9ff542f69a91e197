/** The instruction FIFO and the on-chip SRAMs shared between modules (one write port, one registered read port). */
import { type VModule, always, assign, iff, input, nb, output, reg } from "../../../codegen/verilog/ast.ts";
import type { HwConfig } from "./config.ts";

/** A first-word-fall-through FIFO of 128-bit instructions, `insnQueueDepth` deep. */
export function insnFifo(c: HwConfig): VModule {
  const L = c.qLog2;
  // Depth 1 (the small FPGA configurations): one register and a valid bit.
  if (L === 0) {
    return {
      name: "vta_insn_fifo",
      doc: "Instruction queue: 1 × 128 bits, visible on dout while valid.",
      ports: [input("clk"), input("rst"), input("push"), input("din", 128), output("full"), input("pop"), output("dout", 128), output("empty")],
      items: [
        reg("mem", 128), reg("valid"),
        assign("empty", "!valid"), assign("full", "valid"), assign("dout", "mem"),
        always([
          iff("rst", [nb("valid", 0)], [
            iff("push && !full", [nb("mem", "din"), nb("valid", 1)], [iff("pop && !empty", [nb("valid", 0)])]),
          ]),
        ]),
      ],
    };
  }
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

/**
 * A simple dual-port SRAM: synchronous write, registered read (read-old when both ports
 * touch one entry). Contents start undefined (X). Printed as text because the memory
 * carries Yosys's `no_rw_check`: without it Yosys wraps each block RAM in collision
 * logic (an address comparator and a bypass register per data bit), and no reader here
 * uses data read in the cycle its entry is written: the modules order such accesses
 * with dependency tokens or states (compute.ts).
 */
export function sram(name: string, width: number, depth: number, aw: number): string {
  return [
    `// ${depth} entries × ${width} bits.`,
    `module ${name} (`,
    "  input wire clk,", "  input wire we,", `  input wire [${aw - 1}:0] waddr,`, `  input wire [${width - 1}:0] wdata,`,
    `  input wire [${aw - 1}:0] raddr,`, `  output reg [${width - 1}:0] rdata`,
    ");",
    `  (* no_rw_check *) reg [${width - 1}:0] mem [0:${depth - 1}];`,
    "  always @(posedge clk) begin",
    "    if (we) mem[waddr] <= wdata;",
    "    rdata <= mem[raddr];",
    "  end",
    "endmodule",
    "",
  ].join("\n");
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

