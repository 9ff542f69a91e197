/**
 * The store module: STORE of the int8 output buffer to DRAM. A row is contiguous in DRAM, so
 * it goes out in one write burst (entries smaller than a beat as a narrow burst: one entry
 * per beat, in its low bytes, with byte strobes): the burst request (wr_req, wr_addr, wr_len,
 * wr_size) is held from the row's first entry to its last beat; each entry is a registered
 * SRAM read (3 cycles, wr_valid low) and then its beats, one per cycle while the DRAM model
 * holds wr_ack (ready) high (harness.ts). Addresses are running sums (SRAM: one entry per
 * element; DRAM: the row base steps by xStride), not products.
 */
import { type Stmt, type VModule, always, assign, cases, iff, input, localparam, nb, output, reg, wire } from "../../../codegen/verilog/ast.ts";
import { type HwConfig, beats, field, log2 } from "./config.ts";

export function storeModule(c: HwConfig): VModule {
  const NB = beats(c, c.E.out);
  const BUFW = NB * c.W;
  const strbBytes = Math.min(c.E.out, c.WB);
  const strb = c.WB === strbBytes ? `{${c.WB}{1'b1}}` : `${c.WB}'d${2 ** strbBytes - 1}`;
  const f = (n: string): string => field("store", n);
  const lastX = `x == ${f("xSize")} - 16'd1`;
  const advance: Stmt[] = [
    nb("sa", "sa + 16'd1"),
    iff(lastX, [
      nb("x", 0), nb("burst", 0),
      iff(`y == ${f("ySize")} - 16'd1`, [nb("st", "S_DONE")], [
        nb("y", "y + 1"), nb("st", "S_ELEM"), nb("row_dram", `row_dram + {16'd0, ${f("xStride")}}`),
      ]),
    ], [nb("x", "x + 1"), nb("st", "S_ELEM")]),
  ];
  return {
    name: "vta_store",
    doc: "Store module (out → DRAM, write bursts).",
    ports: [
      input("clk"), input("rst"),
      input("q_empty"), input("q_dout", 128), output("q_pop"),
      input("c2s_nonempty"), output("c2s_pop"), output("s2c_push"),
      output("out_raddr", c.accAW, true), input("out_rdata", c.E.out * 8),
      output("wr_req"), output("wr_addr", 32), output("wr_len", 32), output("wr_size", 4), output("wr_valid"), output("wr_data", c.W), output("wr_strb", c.WB), input("wr_ack"),
      output("idle"), output("active"),
    ],
    items: [
      localparam("S_IDLE", "3'd0"), localparam("S_WAIT", "3'd1"), localparam("S_ELEM", "3'd2"), localparam("S_RD1", "3'd3"),
      localparam("S_RD2", "3'd4"), localparam("S_WRITE", "3'd5"), localparam("S_DONE", "3'd6"),
      reg("st", 3), reg("insn", 128), reg("x", 16), reg("y", 16), reg("beat", 16), reg("addr", 32), reg("buffer", BUFW),
      reg("sa", 16), reg("row_dram", 32), reg("burst"),
      wire("ready"),
      assign("ready", `!${f("popPrev")} || c2s_nonempty`),
      assign("q_pop", "st == S_IDLE && !q_empty"),
      assign("c2s_pop", `st == S_WAIT && ready && ${f("popPrev")}`),
      assign("s2c_push", `st == S_DONE && ${f("pushPrev")}`),
      assign("wr_req", "burst"), assign("wr_addr", "addr"),
      assign("wr_len", `{16'd0, ${f("xSize")}} << ${log2(NB)}`), assign("wr_size", `4'd${log2(strbBytes)}`),
      assign("wr_valid", "st == S_WRITE"),
      assign("wr_data", `buffer[${c.W - 1}:0]`), assign("wr_strb", strb),
      assign("idle", "st == S_IDLE"),
      assign("active", "(st == S_IDLE && !q_empty) || (st == S_WAIT && ready) || st > S_WAIT"),
      always([
        iff("rst", [nb("st", "S_IDLE"), nb("out_raddr", 0), nb("burst", 0)], [
          cases("st", {
            S_IDLE: [iff("!q_empty", [nb("insn", "q_dout"), nb("st", "S_WAIT")])],
            S_WAIT: [iff("ready", [
              nb("x", 0), nb("y", 0), nb("sa", f("sramBase")), nb("row_dram", f("dramBase")),
              iff(`${f("ySize")} == 16'd0 || ${f("xSize")} == 16'd0`, [nb("st", "S_DONE")], [nb("st", "S_ELEM")]),
            ])],
            S_ELEM: [nb("out_raddr", `sa[${c.accAW - 1}:0]`), nb("st", "S_RD1")],
            S_RD1: [nb("st", "S_RD2")],
            S_RD2: [
              nb("buffer", "out_rdata"), nb("beat", 0), nb("st", "S_WRITE"),
              // The first entry of a burst opens it at its DRAM address.
              iff("x == 16'd0", [nb("burst", 1), nb("addr", `row_dram << ${c.log2E.out}`)]),
            ],
            S_WRITE: [iff("wr_ack", [
              // The next beat shifts down (no beat-indexed read mux).
              ...(NB > 1 ? [nb("buffer", `buffer >> ${c.W}`)] : []),
              nb("beat", "beat + 1"),
              iff(`beat == 16'd${NB - 1}`, advance),
            ])],
            S_DONE: [nb("st", "S_IDLE")],
          }),
        ]),
      ]),
    ],
  };
}
