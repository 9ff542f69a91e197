/**
 * The fetch unit: reads `insn_count` instructions from DRAM at `insn_base`, in order, and
 * pushes each onto its module's queue (load: LOAD inp/wgt; store: STORE; compute: the rest),
 * stalling while that queue is full. Each instruction is one burst of ⌈16 / beat bytes⌉ beats.
 */
import { type VModule, always, assign, cases, iff, input, localparam, nb, output, reg, wire } from "../../../codegen/verilog/ast.ts";
import { type HwConfig, beats, log2 } from "./config.ts";

export function fetch(c: HwConfig): VModule {
  const NB = beats(c, 16);
  return {
    name: "vta_fetch",
    doc: "Fetch unit: DRAM → instruction queues.",
    ports: [
      input("clk"), input("rst"), input("start"), input("insn_base", 32), input("insn_count", 32),
      output("rd_req"), output("rd_addr", 32), output("rd_len", 32), output("rd_size", 4), input("rd_ack"), input("rd_data", c.W),
      output("lq_push"), input("lq_full"), output("cq_push"), input("cq_full"), output("sq_push"), input("sq_full"),
      output("insn", 128), output("idle"), output("active"),
    ],
    items: [
      localparam("S_IDLE", "2'd0"), localparam("S_READ", "2'd1"), localparam("S_DISPATCH", "2'd2"),
      reg("st", 2), reg("pc", 32), reg("count", 32), reg("addr", 32), reg("beat", 16), reg("buffer", NB * c.W),
      wire("to_load"), wire("to_store"), wire("target_full"),
      assign("insn", "buffer[127:0]"),
      // LOAD (opcode 0) of wgt (1) or inp (2) goes to load; STORE (opcode 1) to store.
      assign("to_load", "insn[2:0] == 3'd0 && (insn[9:7] == 3'd1 || insn[9:7] == 3'd2)"),
      assign("to_store", "insn[2:0] == 3'd1"),
      assign("target_full", "to_load ? lq_full : to_store ? sq_full : cq_full"),
      assign("lq_push", "st == S_DISPATCH && to_load && !lq_full"),
      assign("sq_push", "st == S_DISPATCH && to_store && !sq_full"),
      assign("cq_push", "st == S_DISPATCH && !to_load && !to_store && !cq_full"),
      assign("rd_req", "st == S_READ"),
      assign("rd_addr", "addr"),
      // One burst per instruction (a fuller queue could take more, but fetch is rarely the limit).
      assign("rd_len", `32'd${NB}`), assign("rd_size", `4'd${log2(c.WB)}`),
      assign("idle", "st == S_IDLE"),
      assign("active", "start || st == S_READ || (st == S_DISPATCH && !target_full)"),
      always([
        iff("rst", [nb("st", "S_IDLE"), nb("pc", 0)], [
          cases("st", {
            S_IDLE: [iff("start", [
              nb("pc", 0), nb("count", "insn_count"), nb("addr", "insn_base"), nb("beat", 0),
              iff("insn_count != 32'd0", [nb("st", "S_READ")]),
            ])],
            S_READ: [iff("rd_ack", [
              nb("buffer", NB === 1 ? "rd_data" : `{rd_data, buffer[${NB * c.W - 1}:${c.W}]}`), nb("beat", "beat + 1"),
              iff(`beat == 16'd${NB - 1}`, [nb("st", "S_DISPATCH")]),
            ])],
            S_DISPATCH: [iff("!target_full", [
              nb("pc", "pc + 1"), nb("beat", 0),
              // Instructions are 16 bytes apart whatever the beat width.
              nb("addr", "insn_base + ((pc + 1) << 4)"),
              iff("pc + 1 == count", [nb("st", "S_IDLE")], [nb("st", "S_READ")]),
            ])],
          }),
        ]),
      ]),
    ],
  };
}
