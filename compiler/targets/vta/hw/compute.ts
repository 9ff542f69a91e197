/**
 * The compute module: LOAD of uop/acc (through its own 2D loader), GEMM, ALU, FINISH.
 * It owns the micro-op and accumulator buffers, reads inp/wgt through registered SRAM
 * ports and writes the int8 output buffer. One micro-op iteration takes four cycles
 * (read micro-op; form indices; read buffers; compute and write back) — slow, simple, and
 * sequential in exactly the order isa.ts specifies, so back-to-back updates of the same
 * accumulator entry see each other.
 */
import {
  type Item, type Stmt, type VModule, always, assign, cases, comb, forLoop, iff, input, localparam, nb, output, reg, set, wire,
} from "../../../codegen/verilog/ast.ts";
import { type HwConfig, field } from "./config.ts";
import { loaderBufferWidth } from "./loader.ts";

export function computeModule(c: HwConfig): VModule {
  const { batch, blockIn: BI, blockOut: BO } = c.p;
  const ACCW = c.E.acc * 8, OUTW = c.E.out * 8;
  const BUFW = loaderBufferWidth(c, [c.E.uop, c.E.acc]);
  const g = (n: string): string => field("gemm", n);
  const a = (n: string): string => field("alu", n);
  const l = (n: string): string => field("load", n);
  const datapath: Stmt[] = [
    set("result", 0),
    forLoop("cb", batch, [forLoop("co", BO, [
      set("lane_a", `acc_a_q[(cb * ${BO} + co) * 32 +: 32]`),
      set("lane_b", `${a("useImm")} ? {{16{insn[${fieldHi("alu", "imm")}]}}, ${a("imm")}} : acc_s_q[(cb * ${BO} + co) * 32 +: 32]`),
      iff("is_gemm", [
        iff(g("reset"), [set("sum", 0)], [
          set("sum", "lane_a"),
          forLoop("ck", BI, [
            set("sum", `sum + $signed(inp_rdata[(cb * ${BI} + ck) * 8 +: 8]) * $signed(wgt_rdata[(co * ${BI} + ck) * 8 +: 8])`),
          ]),
        ]),
      ], [
        cases(a("aluOp"), {
          "3'd0": [set("sum", "(lane_a < lane_b) ? lane_a : lane_b")],
          "3'd1": [set("sum", "(lane_a > lane_b) ? lane_a : lane_b")],
          "3'd2": [set("sum", "lane_a + lane_b")],
          "3'd3": [set("sum", "lane_a >>> lane_b[4:0]")],
          "3'd4": [set("sum", "lane_a * lane_b")],
        }, [set("sum", "lane_a")]),
      ]),
      set("result[(cb * " + BO + " + co) * 32 +: 32]", "sum"),
    ])]),
  ];
  const truncate = Array.from({ length: c.lanes }, (_, i) => `result[${i * 32 + 7}:${i * 32}]`).reverse().join(", ");
  const advance: Stmt[] = [
    iff(`u == ${g("uopEnd")} - 14'd1`, [
      nb("u", `{1'b0, ${g("uopBegin")}}`),
      iff(`i1 == ${g("iterIn")} - 14'd1`, [
        nb("i1", 0),
        iff(`i0 == ${g("iterOut")} - 14'd1`, [nb("st", "S_DONE")], [nb("i0", "i0 + 1"), nb("st", "S_UOP")]),
      ], [nb("i1", "i1 + 1"), nb("st", "S_UOP")]),
    ], [nb("u", "u + 1"), nb("st", "S_UOP")]),
  ];
  const items: Item[] = [
    localparam("S_IDLE", "4'd0"), localparam("S_WAIT", "4'd1"), localparam("S_LOADING", "4'd2"), localparam("S_UOP", "4'd3"),
    localparam("S_ADDR", "4'd4"), localparam("S_READ", "4'd5"), localparam("S_EXEC", "4'd6"), localparam("S_DONE", "4'd7"),
    reg("st", 4), reg("insn", 128), reg("start"), reg("finished_q"),
    reg("uop_mem", 32, c.p.uopBufferEntries), reg("acc_mem", ACCW, c.p.accBufferEntries),
    reg("u", 14), reg("i0", 14), reg("i1", 14), reg("uop_q", 32),
    reg("a_q", c.accAW), reg("s_q", 32), reg("acc_a_q", ACCW), reg("acc_s_q", ACCW),
    reg("result", ACCW), { k: "reg", name: "lane_a", width: 32, signed: true }, { k: "reg", name: "lane_b", width: 32, signed: true },
    { k: "reg", name: "sum", width: 32, signed: true }, { k: "integer", name: "cb" }, { k: "integer", name: "co" }, { k: "integer", name: "ck" },
    wire("ready"), wire("opcode", 3), wire("is_gemm"), wire("empty_loop"), wire("is_acc"),
    wire("a_idx", 32), wire("s_idx", 32), wire("w_idx", 32),
    wire("ld_done"), wire("ld_we"), wire("ld_waddr", 16), wire("ld_wdata", BUFW),
    assign("opcode", "insn[2:0]"),
    assign("ready", `(!${g("popPrev")} || l2c_nonempty) && (!${g("popNext")} || s2c_nonempty)`),
    assign("is_gemm", "opcode == 3'd2"),
    assign("is_acc", `${l("memType")} == 3'd3`),
    assign("empty_loop", `${g("uopBegin")} >= ${g("uopEnd")} || ${g("iterOut")} == 14'd0 || ${g("iterIn")} == 14'd0`),
    assign("q_pop", "st == S_IDLE && !q_empty"),
    assign("l2c_pop", `st == S_WAIT && ready && ${g("popPrev")}`),
    assign("s2c_pop", `st == S_WAIT && ready && ${g("popNext")}`),
    assign("c2l_push", `st == S_DONE && ${g("pushPrev")}`),
    assign("c2s_push", `st == S_DONE && ${g("pushNext")}`),
    assign("a_idx", `uop_q[10:0] + i0 * ${g("dstFactorOut")} + i1 * ${g("dstFactorIn")}`),
    assign("s_idx", `uop_q[21:11] + i0 * ${g("srcFactorOut")} + i1 * ${g("srcFactorIn")}`),
    assign("w_idx", `uop_q[31:22] + i0 * ${g("wgtFactorOut")} + i1 * ${g("wgtFactorIn")}`),
    assign("gemm_busy", `is_gemm && !${g("reset")} && (st == S_UOP || st == S_ADDR || st == S_READ || st == S_EXEC)`),
    assign("alu_busy", `opcode == 3'd3 && (st == S_UOP || st == S_ADDR || st == S_READ || st == S_EXEC)`),
    assign("finished", "finished_q"),
    assign("idle", "st == S_IDLE"),
    assign("active", "(st == S_IDLE && !q_empty) || (st == S_WAIT && ready) || st > S_WAIT"),
    {
      k: "inst", module: "vta_loader_compute", name: "loader", conns: {
        clk: "clk", rst: "rst", start: "start", sel: "is_acc",
        sram_base: l("sramBase"), dram_base: l("dramBase"), y_size: l("ySize"), x_size: l("xSize"), x_stride: l("xStride"),
        y_pad0: l("yPad0"), y_pad1: l("yPad1"), x_pad0: l("xPad0"), x_pad1: l("xPad1"),
        done: "ld_done", rd_req: "rd_req", rd_addr: "rd_addr", rd_ack: "rd_ack", rd_data: "rd_data",
        we: "ld_we", waddr: "ld_waddr", wdata: "ld_wdata",
      },
    },
    comb(datapath),
    always([
      nb("start", 0), nb("out_we", 0),
      iff("ld_we", [iff("is_acc", [nb(`acc_mem[ld_waddr[${c.accAW - 1}:0]]`, `ld_wdata[${ACCW - 1}:0]`)], [nb(`uop_mem[ld_waddr[${c.uopAW - 1}:0]]`, "ld_wdata[31:0]")])]),
      iff("rst", [nb("st", "S_IDLE"), nb("finished_q", 0)], [
        cases("st", {
          S_IDLE: [iff("!q_empty", [nb("insn", "q_dout"), nb("st", "S_WAIT")])],
          S_WAIT: [iff("ready", [
            cases("opcode", {
              "3'd0": [nb("start", 1), nb("st", "S_LOADING")],
              "3'd4": [nb("finished_q", 1), nb("st", "S_DONE")],
            }, [
              nb("u", `{1'b0, ${g("uopBegin")}}`), nb("i0", 0), nb("i1", 0),
              iff("empty_loop", [nb("st", "S_DONE")], [nb("st", "S_UOP")]),
            ]),
          ])],
          S_LOADING: [iff("ld_done", [nb("st", "S_DONE")])],
          S_UOP: [nb("uop_q", `uop_mem[u[${c.uopAW - 1}:0]]`), nb("st", "S_ADDR")],
          S_ADDR: [
            nb("a_q", `a_idx[${c.accAW - 1}:0]`), nb("s_q", "s_idx"),
            nb("inp_raddr", `s_idx[${c.inpAW - 1}:0]`), nb("wgt_raddr", `w_idx[${c.wgtAW - 1}:0]`), nb("st", "S_READ"),
          ],
          S_READ: [nb("acc_a_q", "acc_mem[a_q]"), nb("acc_s_q", `acc_mem[s_q[${c.accAW - 1}:0]]`), nb("st", "S_EXEC")],
          S_EXEC: [
            nb("acc_mem[a_q]", "result"),
            nb("out_we", 1), nb("out_waddr", "a_q"), nb("out_wdata", `{${truncate}}`),
            ...advance,
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
      output("rd_req"), output("rd_addr", 32), input("rd_ack"), input("rd_data", c.W),
      output("inp_raddr", c.inpAW, true), input("inp_rdata", c.E.inp * 8),
      output("wgt_raddr", c.wgtAW, true), input("wgt_rdata", c.E.wgt * 8),
      output("out_we", 1, true), output("out_waddr", c.accAW, true), output("out_wdata", OUTW, true),
      output("finished"), output("gemm_busy"), output("alu_busy"), output("idle"), output("active"),
    ],
    items,
  };
}

function fieldHi(op: "alu", name: string): number {
  const m = /\[(\d+):/.exec(field(op, name));
  return Number(m![1]);
}
