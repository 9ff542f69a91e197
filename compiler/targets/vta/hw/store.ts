/**
 * The store module: STORE of the int8 output buffer to DRAM, one entry at a time
 * (a registered SRAM read, then one DRAM write per beat with byte strobes). Addresses are
 * running sums (SRAM: one entry per element; DRAM: the row base steps by xStride), not products.
 */
import { type Stmt, type VModule, always, assign, cases, iff, input, localparam, nb, output, reg, wire } from "../../../codegen/verilog/ast.ts";
import { type HwConfig, beats, field } from "./config.ts";

export function storeModule(c: HwConfig): VModule {
  const NB = beats(c, c.E.out);
  const BUFW = NB * c.W;
  const strbBytes = Math.min(c.E.out, c.WB);
  const strb = c.WB === strbBytes ? `{${c.WB}{1'b1}}` : `${c.WB}'d${2 ** strbBytes - 1}`;
  const f = (n: string): string => field("store", n);
  const advance: Stmt[] = [
    nb("sa", "sa + 16'd1"),
    iff(`x == ${f("xSize")} - 16'd1`, [
      nb("x", 0),
      iff(`y == ${f("ySize")} - 16'd1`, [nb("st", "S_DONE")], [
        nb("y", "y + 1"), nb("st", "S_ELEM"), nb("row_dram", `row_dram + {16'd0, ${f("xStride")}}`),
      ]),
    ], [nb("x", "x + 1"), nb("st", "S_ELEM")]),
  ];
  return {
    name: "vta_store",
    doc: "Store module (out → DRAM).",
    ports: [
      input("clk"), input("rst"),
      input("q_empty"), input("q_dout", 128), output("q_pop"),
      input("c2s_nonempty"), output("c2s_pop"), output("s2c_push"),
      output("out_raddr", c.accAW, true), input("out_rdata", c.E.out * 8),
      output("wr_req"), output("wr_addr", 32), output("wr_data", c.W), output("wr_strb", c.WB), input("wr_ack"),
      output("idle"), output("active"),
    ],
    items: [
      localparam("S_IDLE", "3'd0"), localparam("S_WAIT", "3'd1"), localparam("S_ELEM", "3'd2"), localparam("S_RD1", "3'd3"),
      localparam("S_RD2", "3'd4"), localparam("S_WRITE", "3'd5"), localparam("S_DONE", "3'd6"),
      reg("st", 3), reg("insn", 128), reg("x", 16), reg("y", 16), reg("beat", 16), reg("addr", 32), reg("buffer", BUFW),
      reg("sa", 16), reg("row_dram", 32),
      wire("ready"),
      assign("ready", `!${f("popPrev")} || c2s_nonempty`),
      assign("q_pop", "st == S_IDLE && !q_empty"),
      assign("c2s_pop", `st == S_WAIT && ready && ${f("popPrev")}`),
      assign("s2c_push", `st == S_DONE && ${f("pushPrev")}`),
      assign("wr_req", "st == S_WRITE"), assign("wr_addr", "addr"),
      assign("wr_data", `buffer[${c.W - 1}:0]`), assign("wr_strb", strb),
      assign("idle", "st == S_IDLE"),
      assign("active", "(st == S_IDLE && !q_empty) || (st == S_WAIT && ready) || st > S_WAIT"),
      always([
        iff("rst", [nb("st", "S_IDLE"), nb("out_raddr", 0)], [
          cases("st", {
            S_IDLE: [iff("!q_empty", [nb("insn", "q_dout"), nb("st", "S_WAIT")])],
            S_WAIT: [iff("ready", [
              nb("x", 0), nb("y", 0), nb("sa", f("sramBase")), nb("row_dram", f("dramBase")),
              iff(`${f("ySize")} == 16'd0 || ${f("xSize")} == 16'd0`, [nb("st", "S_DONE")], [nb("st", "S_ELEM")]),
            ])],
            S_ELEM: [nb("out_raddr", `sa[${c.accAW - 1}:0]`), nb("st", "S_RD1")],
            S_RD1: [nb("st", "S_RD2")],
            S_RD2: [
              nb("buffer", "out_rdata"), nb("beat", 0),
              nb("addr", `(row_dram + {16'd0, x}) << ${c.log2E.out}`),
              nb("st", "S_WRITE"),
            ],
            S_WRITE: [iff("wr_ack", [
              // The next beat shifts down (no beat-indexed read mux).
              ...(NB > 1 ? [nb("buffer", `buffer >> ${c.W}`)] : []),
              nb("beat", "beat + 1"), nb("addr", `addr + ${c.WB}`),
              iff(`beat == 16'd${NB - 1}`, advance),
            ])],
            S_DONE: [nb("st", "S_IDLE")],
          }),
        ]),
      ]),
    ],
  };
}
