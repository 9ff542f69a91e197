/**
 * The compute module: LOAD of uop/acc (through its own 2D loader), GEMM, ALU, FINISH.
 * GEMM and ALU micro-op iterations run through a four-stage pipeline that issues one per
 * cycle: F (advance the loop counters, present the micro-op address), A (form the indices
 * from the micro-op, present the buffer addresses), R (block-RAM reads in flight), E
 * (compute and write back). An instruction's body is iterations + 3 cycles (timing.ts).
 * Updates happen in exactly the order isa.ts specifies: E's write lands at the same edge
 * as the next micro-op's accumulator reads, which therefore return the old entry, so the
 * written row is kept one cycle (fwd_*) and replaces the read data when the addresses
 * match; reads further back already see the write. ALU MUL holds the whole pipeline for
 * nine more cycles in E (a 4-bit-per-cycle shift-and-add multiplier); while held, every
 * stage's addresses stay put (the micro-op buffer rereads A's address) so the reads the
 * held stages need are still there when it moves on.
 *
 * Written for FPGA inference (see synth.ts):
 *  - the micro-op and accumulator buffers are `vta_sram_*` instances (one write port, one
 *    registered read port), which map to block RAM; the accumulator is two copies written
 *    together, one per read operand (destination and ALU source);
 *  - each int8 × int8 product is its own 16-bit multiply, which maps to a DSP block
 *    (SB_MAC16 / DSP48E1); nothing else multiplies: the loop indices are running sums,
 *    and the ALU's 32-bit MUL is the iterative one above, so it takes no DSPs.
 */
import {
  type Item, type Stmt, type VModule, always, assign, cases, comb, forLoop, iff, input, localparam, nb, output, reg, set, wire,
} from "../../../codegen/verilog/ast.ts";
import { type HwConfig, field } from "./config.ts";
import { loaderBufferWidth } from "./loader.ts";
import { ALU_MUL_EXTRA_CYCLES } from "../timing.ts";


export function computeModule(c: HwConfig): VModule {
  const { batch, blockIn: BI, blockOut: BO } = c.p;
  const ACCW = c.E.acc * 8, OUTW = c.E.out * 8;
  const BUFW = loaderBufferWidth(c, [c.E.uop, c.E.acc]);
  const g = (n: string): string => field("gemm", n);
  const a = (n: string): string => field("alu", n);
  const l = (n: string): string => field("load", n);
  const lane = (v: string, i: string): string => `${v}[(${i}) * 32 +: 32]`;
  const imm32 = `{{16{insn[${fieldHi("alu", "imm")}]}}, ${a("imm")}}`;
  const datapath: Stmt[] = [
    set("result", 0), set("prod", 0), set("mx", 0), set("my", 0), set("mul_next", 0),
    forLoop("cb", batch, [forLoop("co", BO, [
      set("lane_a", lane("acc_a_in", `cb * ${BO} + co`)),
      set("lane_b", `${a("useImm")} ? ${imm32} : ${lane("acc_s_in", `cb * ${BO} + co`)}`),
      iff("is_gemm", [
        iff(g("reset"), [set("sum", 0)], [
          set("sum", "lane_a"),
          forLoop("ck", BI, [
            set("prod", `$signed(inp_rdata[(cb * ${BI} + ck) * 8 +: 8]) * $signed(wgt_rdata[(co * ${BI} + ck) * 8 +: 8])`),
            set("sum", "sum + prod"),
          ]),
        ]),
      ], [
        cases(a("aluOp"), {
          "3'd0": [set("sum", "(lane_a < lane_b) ? lane_a : lane_b")],
          "3'd1": [set("sum", "(lane_a > lane_b) ? lane_a : lane_b")],
          "3'd2": [set("sum", "lane_a + lane_b")],
          "3'd3": [set("sum", "lane_a >>> lane_b[4:0]")],
          "3'd4": [set("sum", lane("mul_p", `cb * ${BO} + co`))],
        }, [set("sum", "lane_a")]),
      ]),
      set(lane("result", `cb * ${BO} + co`), "sum"),
    ])]),
    // One step of the iterative multiplier: p += x · (low 4 bits of y), per lane, mod 2^32.
    forLoop("cb", c.lanes, [
      set("mx", lane("mul_x", "cb")), set("my", lane("mul_y", "cb")),
      set(lane("mul_next", "cb"), `${lane("mul_p", "cb")} + (my[0] ? mx : 32'd0) + (my[1] ? {mx[30:0], 1'b0} : 32'd0)` +
        ` + (my[2] ? {mx[29:0], 2'b0} : 32'd0) + (my[3] ? {mx[28:0], 3'b0} : 32'd0)`),
    ]),
  ];
  const truncate = Array.from({ length: c.lanes }, (_, i) => `result[${i * 32 + 7}:${i * 32}]`).reverse().join(", ");
  // The micro-op loop's indices are running sums (o: i0 · factorOut; b: o + i1 · factorIn), not products.
  const bases = ["acc", "src", "wgt"] as const;
  const factor = { acc: "dst", src: "src", wgt: "wgt" } as const;
  const zext16 = (f: string, width: number): string => `{${16 - width}'d0, ${f}}`;
  const fOut = (k: (typeof bases)[number]): string => zext16(g(`${factor[k]}FactorOut`), k === "wgt" ? 10 : 11);
  const fIn = (k: (typeof bases)[number]): string => zext16(g(`${factor[k]}FactorIn`), k === "wgt" ? 10 : 11);
  const advance: Stmt[] = [
    iff(`u == ${g("uopEnd")} - 14'd1`, [
      nb("u", `{1'b0, ${g("uopBegin")}}`),
      iff(`i1 == ${g("iterIn")} - 14'd1`, [
        nb("i1", 0),
        iff(`i0 == ${g("iterOut")} - 14'd1`, [nb("f_done", 1)], [
          nb("i0", "i0 + 1"),
          ...bases.flatMap((k) => [nb(`${k}_o`, `${k}_o + ${fOut(k)}`), nb(`${k}_b`, `${k}_o + ${fOut(k)}`)]),
        ]),
      ], [nb("i1", "i1 + 1"), ...bases.map((k) => nb(`${k}_b`, `${k}_b + ${fIn(k)}`))]),
    ], [nb("u", "u + 1")]),
  ];
  const items: Item[] = [
    localparam("S_IDLE", "4'd0"), localparam("S_WAIT", "4'd1"), localparam("S_LOADING", "4'd2"), localparam("S_RUN", "4'd3"),
    localparam("S_DONE", "4'd7"),
    reg("st", 4), reg("insn", 128), reg("start"), reg("finished_q"),
    reg("u", 14), reg("i0", 14), reg("i1", 14), reg("f_done"),
    ...bases.flatMap((k) => [reg(`${k}_o`, 16), reg(`${k}_b`, 16)]),
    // Stage valids and the registers each stage carries: A the bases and micro-op address,
    // R the accumulator read addresses (a_q, s_q; inp_raddr and wgt_raddr are ports), E its own copies.
    reg("v1"), reg("v2"), reg("v3"), reg("u_a", 14), ...bases.map((k) => reg(`${k}_b1`, 16)),
    reg("a_q", c.accAW), reg("s_q", c.accAW), reg("a3", c.accAW), reg("s3", c.accAW),
    reg("fwd_v"), reg("fwd_a", c.accAW), reg("fwd_d", ACCW),
    reg("mul_step", 4), reg("mul_p", ACCW), reg("mul_x", ACCW), reg("mul_y", ACCW), reg("mul_next", ACCW),
    reg("mx", 32), reg("my", 32),
    reg("result", ACCW), { k: "reg", name: "lane_a", width: 32, signed: true }, { k: "reg", name: "lane_b", width: 32, signed: true },
    { k: "reg", name: "sum", width: 32, signed: true }, { k: "reg", name: "prod", width: 16, signed: true },
    { k: "integer", name: "cb" }, { k: "integer", name: "co" }, { k: "integer", name: "ck" },
    wire("ready"), wire("opcode", 3), wire("is_gemm"), wire("is_mul"), wire("empty_loop"), wire("is_acc"),
    wire("a_idx", 16), wire("s_idx", 16), wire("w_idx", 16),
    wire("ld_done"), wire("ld_we"), wire("ld_waddr", 16), wire("ld_wdata", BUFW),
    wire("uop_rdata", 32), wire("acc_we"), wire("acc_waddr", c.accAW), wire("acc_wdata", ACCW),
    wire("acc_a_rdata", ACCW), wire("acc_s_rdata", ACCW), wire("acc_a_in", ACCW), wire("acc_s_in", ACCW),
    wire("stall"), wire("e_we"),
    assign("opcode", "insn[2:0]"),
    assign("ready", `(!${g("popPrev")} || l2c_nonempty) && (!${g("popNext")} || s2c_nonempty)`),
    assign("is_gemm", "opcode == 3'd2"),
    assign("is_mul", `opcode == 3'd3 && ${a("aluOp")} == 3'd4`),
    assign("is_acc", `${l("memType")} == 3'd3`),
    assign("empty_loop", `${g("uopBegin")} >= ${g("uopEnd")} || ${g("iterOut")} == 14'd0 || ${g("iterIn")} == 14'd0`),
    assign("q_pop", "st == S_IDLE && !q_empty"),
    assign("l2c_pop", `st == S_WAIT && ready && ${g("popPrev")}`),
    assign("s2c_pop", `st == S_WAIT && ready && ${g("popNext")}`),
    assign("c2l_push", `st == S_DONE && ${g("pushPrev")}`),
    assign("c2s_push", `st == S_DONE && ${g("pushNext")}`),
    assign("a_idx", "{5'd0, uop_rdata[10:0]} + acc_b1"),
    assign("s_idx", "{5'd0, uop_rdata[21:11]} + src_b1"),
    assign("w_idx", "{6'd0, uop_rdata[31:22]} + wgt_b1"),
    // E holds everything while ALU MUL iterates; it writes back in the cycle it lets go.
    assign("stall", `v3 && is_mul && mul_step != 4'd${ALU_MUL_EXTRA_CYCLES}`),
    assign("e_we", "v3 && !stall"),
    // The row E wrote in the previous cycle, where the reads that E now uses missed it.
    assign("acc_a_in", "fwd_v && fwd_a == a3 ? fwd_d : acc_a_rdata"),
    assign("acc_s_in", "fwd_v && fwd_a == s3 ? fwd_d : acc_s_rdata"),
    // One write port for the accumulator: the loader (LOAD acc) and write-back never overlap.
    assign("acc_we", "(ld_we && is_acc) || e_we"),
    assign("acc_waddr", `e_we ? a3 : ld_waddr[${c.accAW - 1}:0]`),
    assign("acc_wdata", `e_we ? result : ld_wdata[${ACCW - 1}:0]`),
    // The multipliers fire once per non-reset GEMM micro-op, in E.
    assign("gemm_busy", `is_gemm && !${g("reset")} && v3`),
    assign("alu_busy", "opcode == 3'd3 && st == S_RUN"),
    assign("finished", "finished_q"),
    assign("idle", "st == S_IDLE"),
    assign("active", "(st == S_IDLE && !q_empty) || (st == S_WAIT && ready) || st > S_WAIT"),
    {
      k: "inst", module: "vta_loader_compute", name: "loader", conns: {
        clk: "clk", rst: "rst", start: "start", sel: "is_acc",
        sram_base: l("sramBase"), dram_base: l("dramBase"), y_size: l("ySize"), x_size: l("xSize"), x_stride: l("xStride"),
        y_pad0: l("yPad0"), y_pad1: l("yPad1"), x_pad0: l("xPad0"), x_pad1: l("xPad1"),
        done: "ld_done", rd_req: "rd_req", rd_addr: "rd_addr", rd_len: "rd_len", rd_size: "rd_size", rd_ack: "rd_ack", rd_data: "rd_data",
        we: "ld_we", waddr: "ld_waddr", wdata: "ld_wdata",
      },
    },
    // The micro-op buffer reads F's u (A's u_a while held): uop_rdata is A's micro-op.
    {
      k: "inst", module: "vta_sram_uop", name: "uop_buf", conns: {
        clk: "clk", we: "ld_we && !is_acc", waddr: `ld_waddr[${c.uopAW - 1}:0]`, wdata: "ld_wdata[31:0]",
        raddr: `stall ? u_a[${c.uopAW - 1}:0] : u[${c.uopAW - 1}:0]`, rdata: "uop_rdata",
      },
    },
    // Both accumulator copies read R's addresses: the data is E's (before fwd_*).
    {
      k: "inst", module: "vta_sram_acc", name: "acc_a_buf", conns: {
        clk: "clk", we: "acc_we", waddr: "acc_waddr", wdata: "acc_wdata", raddr: "a_q", rdata: "acc_a_rdata",
      },
    },
    {
      k: "inst", module: "vta_sram_acc", name: "acc_s_buf", conns: {
        clk: "clk", we: "acc_we", waddr: "acc_waddr", wdata: "acc_wdata", raddr: "s_q", rdata: "acc_s_rdata",
      },
    },
    comb(datapath),
    always([
      nb("start", 0), nb("out_we", 0), nb("fwd_v", "e_we"), nb("fwd_a", "a3"), nb("fwd_d", "result"),
      iff("rst", [nb("st", "S_IDLE"), nb("finished_q", 0), nb("v1", 0), nb("v2", 0), nb("v3", 0)], [
        cases("st", {
          S_IDLE: [iff("!q_empty", [nb("insn", "q_dout"), nb("st", "S_WAIT")])],
          S_WAIT: [iff("ready", [
            cases("opcode", {
              "3'd0": [nb("start", 1), nb("st", "S_LOADING")],
              "3'd4": [nb("finished_q", 1), nb("st", "S_DONE")],
            }, [
              nb("u", `{1'b0, ${g("uopBegin")}}`), nb("i0", 0), nb("i1", 0), nb("f_done", 0), nb("v1", 0), nb("v2", 0), nb("v3", 0),
              ...bases.flatMap((k) => [nb(`${k}_o`, 0), nb(`${k}_b`, 0)]),
              iff("empty_loop", [nb("st", "S_DONE")], [nb("st", "S_RUN")]),
            ]),
          ])],
          S_LOADING: [iff("ld_done", [nb("st", "S_DONE")])],
          S_RUN: [
            iff("!stall", [
              // F → A
              nb("v1", "!f_done"), nb("u_a", "u"), ...bases.map((k) => nb(`${k}_b1`, `${k}_b`)),
              iff("!f_done", advance),
              // A → R
              nb("v2", "v1"), nb("a_q", `a_idx[${c.accAW - 1}:0]`), nb("s_q", `s_idx[${c.accAW - 1}:0]`),
              nb("inp_raddr", `s_idx[${c.inpAW - 1}:0]`), nb("wgt_raddr", `w_idx[${c.wgtAW - 1}:0]`),
              // R → E
              nb("v3", "v2"), nb("a3", "a_q"), nb("s3", "s_q"), nb("mul_step", 0),
              iff("f_done && !v1 && !v2 && v3", [nb("st", "S_DONE")]),
            ], [
              // ALU MUL in E: latch the operands, then 4 bits of y per cycle.
              iff("mul_step == 4'd0", [
                nb("mul_p", 0), nb("mul_x", "acc_a_in"),
                nb("mul_y", `${a("useImm")} ? {${c.lanes}{${imm32}}} : acc_s_in`),
              ], [
                nb("mul_p", "mul_next"),
                nb("mul_x", shiftLanes(c.lanes, "mul_x", "<<")), nb("mul_y", shiftLanes(c.lanes, "mul_y", ">>")),
              ]),
              nb("mul_step", "mul_step + 4'd1"),
            ]),
            iff("e_we", [nb("out_we", 1), nb("out_waddr", "a3"), nb("out_wdata", `{${truncate}}`)]),
          ],
          S_DONE: [nb("st", "S_IDLE")],
        }),
      ]),
    ]),
  ];
  return {
    name: "vta_compute",
    doc: "Compute module (LOAD uop/acc, GEMM, ALU, FINISH).",
    ports: [
      input("clk"), input("rst"),
      input("q_empty"), input("q_dout", 128), output("q_pop"),
      input("l2c_nonempty"), output("l2c_pop"), input("s2c_nonempty"), output("s2c_pop"), output("c2l_push"), output("c2s_push"),
      output("rd_req"), output("rd_addr", 32), output("rd_len", 32), output("rd_size", 4), input("rd_ack"), input("rd_data", c.W),
      output("inp_raddr", c.inpAW, true), input("inp_rdata", c.E.inp * 8),
      output("wgt_raddr", c.wgtAW, true), input("wgt_rdata", c.E.wgt * 8),
      output("out_we", 1, true), output("out_waddr", c.accAW, true), output("out_wdata", OUTW, true),
      output("finished"), output("gemm_busy"), output("alu_busy"), output("idle"), output("active"),
    ],
    items,
  };
}

/** Every 32-bit lane of `v` shifted by 4 (`<<` or logical `>>`). */
function shiftLanes(lanes: number, v: string, dir: "<<" | ">>"): string {
  const parts = Array.from({ length: lanes }, (_, i) => dir === "<<"
    ? `${v}[${i * 32 + 27}:${i * 32}], 4'd0`
    : `4'd0, ${v}[${i * 32 + 31}:${i * 32 + 4}]`);
  return `{${parts.reverse().join(", ")}}`;
}

function fieldHi(op: "alu", name: string): number {
  const m = /\[(\d+):/.exec(field(op, name));
  return Number(m![1]);
}
