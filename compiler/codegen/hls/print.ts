/**
 * Prints the VTA-style accelerator as HLS C++ (Vivado/Vitis pragmas; checked only by C-simulation
 * with g++ against Lathe's stream header in this folder — no HLS tool has synthesized it), from a
 * description the target's generator fills in (compiler/targets/vta/hw/hls.ts): sizes and
 * the instruction fields' bit positions. It decides nothing about the machine.
 *
 * Structure: each module is a resumable process `*_step` that executes at most one
 * instruction per call and returns whether it made progress; `vta()` runs the fetch unit
 * and the three modules round-robin until FINISH has drained, and reports a deadlock when
 * a whole round makes no progress. Instruction queues and dependency-token queues are
 * hls::stream. Inside GEMM/ALU, index generation and execution form a DATAFLOW region
 * joined by a stream of indices; the loops are PIPELINEd and the buffers' tile dimensions
 * ARRAY_PARTITIONed so a whole tile is read per cycle.
 * Out-of-range indices wrap to the buffer size, DRAM reads past the end return 0 and
 * writes there are dropped — the RTL and its DRAM model behave the same.
 */

export interface HlsField { readonly op: string; readonly name: string; readonly lo: number; readonly width: number; readonly signed: boolean }

export interface HlsDesign {
  readonly header: string;
  readonly consts: Readonly<Record<string, number>>;
  readonly fields: readonly HlsField[];
  /** Micro-op fields (acc, inp, wgt) of the 32-bit micro-op word. */
  readonly uopFields: readonly HlsField[];
}

const ident = (f: HlsField): string => `F_${f.op.toUpperCase()}_${f.name.replace(/[A-Z]/g, (c) => "_" + c).toUpperCase()}`;

export function printHls(d: HlsDesign): string {
  const consts = Object.entries(d.consts).map(([k, v]) => `constexpr uint32_t ${k} = ${v}u;`).join("\n");
  const fields = d.fields.map((f) => `#define ${ident(f)}(x) ${f.signed ? `sext(field(x, ${f.lo}, ${f.width}), ${f.width})` : `uint32_t(field(x, ${f.lo}, ${f.width}))`}`).join("\n");
  const uops = d.uopFields.map((f) => `#define UOP_${f.name.toUpperCase()}(w) (((w) >> ${f.lo}) & ${2 ** f.width - 1}u)`).join("\n");
  return `// ${d.header}
#include <cstdint>
#include <cstring>
#include "hls_stream.h"

namespace vta {

${consts}

struct insn_t { uint64_t lo, hi; };
struct idx_t { uint32_t a, s, w; };

static inline uint64_t field(const insn_t& x, unsigned lo, unsigned w) {
  uint64_t v = lo >= 64 ? x.hi >> (lo - 64) : lo + w <= 64 ? x.lo >> lo : (x.lo >> lo) | (x.hi << (64 - lo));
  return w >= 64 ? v : v & ((uint64_t(1) << w) - 1);
}
static inline int32_t sext(uint64_t v, unsigned w) { return int32_t(uint32_t(v << (32 - w))) >> (32 - w); }

// Instruction and micro-op fields (compiler/targets/vta/isa.ts is the specification).
${fields}
${uops}

struct Buffers {
  int8_t inp[INP_DEPTH][BATCH][BLOCK_IN];
  int8_t wgt[WGT_DEPTH][BLOCK_OUT][BLOCK_IN];
  int32_t acc[ACC_DEPTH][BATCH][BLOCK_OUT];
  int8_t out[ACC_DEPTH][BATCH][BLOCK_OUT];
  uint32_t uop[UOP_DEPTH];
};

struct Dram {
  uint8_t* bytes;
  uint64_t size;
  uint64_t bus_read, bus_written;
  // One DRAM_WB-byte beat at \`addr\`. The RTL's read ports request bursts of consecutive beats
  // (hw/harness.ts states the protocol); a loop over a burst's beats is what HLS turns into one.
  // Reads past the end return 0.
  void beat(uint64_t addr, uint8_t* dst) {
    for (uint32_t i = 0; i < DRAM_WB; i++) dst[i] = addr + i < size ? bytes[addr + i] : 0;
    bus_read += DRAM_WB;
  }
  void write(uint64_t addr, const uint8_t* src, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) if (addr + i < size) { bytes[addr + i] = src[i]; bus_written++; }
  }
};

// LOAD: 2D strided DRAM → SRAM with zero padding; entries of \`bytes\` bytes, \`depth\` entries.
// A data row is contiguous in DRAM: one burst per row, as the RTL reads it (entries smaller
// than a beat as a narrow burst: each beat advances one entry and holds it in its low bytes).
static void load_2d(const insn_t& in, Dram& dram, uint8_t* sram, uint32_t bytes, uint32_t log2_bytes, uint32_t depth) {
  const uint32_t rows = F_LOAD_Y_PAD0(in) + F_LOAD_Y_SIZE(in) + F_LOAD_Y_PAD1(in);
  const uint32_t cols = F_LOAD_X_PAD0(in) + F_LOAD_X_SIZE(in) + F_LOAD_X_PAD1(in);
  const uint32_t x0 = F_LOAD_X_PAD0(in), x1 = F_LOAD_X_PAD0(in) + F_LOAD_X_SIZE(in);
  const uint32_t step = bytes < DRAM_WB ? bytes : DRAM_WB, entry_beats = bytes / step;
  uint8_t line[DRAM_WB * MAX_ENTRY_BEATS];  // one entry's beats
  // SRAM entry (r, c), wrapping around the buffer.
  auto dst = [&](uint32_t r, uint32_t c) { return sram + uint64_t(uint16_t(F_LOAD_SRAM_BASE(in) + r * cols + c) & (depth - 1)) * bytes; };
  for (uint32_t r = 0; r < rows; r++) {
    const bool data_row = r >= F_LOAD_Y_PAD0(in) && r < F_LOAD_Y_PAD0(in) + F_LOAD_Y_SIZE(in);
    const uint32_t row = (F_LOAD_DRAM_BASE(in) + uint32_t(uint16_t(r - F_LOAD_Y_PAD0(in))) * F_LOAD_X_STRIDE(in)) << log2_bytes;
    for (uint32_t c = 0; c < cols; c++) {
      if (!data_row || c < x0 || c >= x1) {
        std::memset(dst(r, c), 0, bytes);
        continue;
      }
      // The row's burst: its beats in order, each entry placed when its last beat is in.
      for (uint32_t k = 0; k < (x1 - x0) * entry_beats; k++) {
#pragma HLS PIPELINE II=1
        dram.beat(uint64_t(row) + uint64_t(k) * step, line + (k % entry_beats) * DRAM_WB);
        if (k % entry_beats == entry_beats - 1) std::memcpy(dst(r, x0 + k / entry_beats), line, bytes);
      }
      c = x1 - 1;
    }
  }
}

static void uop_indices(const insn_t& in, const uint32_t* uop, hls::stream<idx_t>& idx) {
  for (uint32_t i0 = 0; i0 < F_GEMM_ITER_OUT(in); i0++) {
    for (uint32_t i1 = 0; i1 < F_GEMM_ITER_IN(in); i1++) {
      for (uint32_t u = F_GEMM_UOP_BEGIN(in); u < F_GEMM_UOP_END(in); u++) {
#pragma HLS PIPELINE II=1
        const uint32_t w = uop[u & (UOP_DEPTH - 1)];
        idx_t t;
        t.a = (UOP_ACC(w) + i0 * F_GEMM_DST_FACTOR_OUT(in) + i1 * F_GEMM_DST_FACTOR_IN(in)) & (ACC_DEPTH - 1);
        t.s = UOP_INP(w) + i0 * F_GEMM_SRC_FACTOR_OUT(in) + i1 * F_GEMM_SRC_FACTOR_IN(in);
        t.w = (UOP_WGT(w) + i0 * F_GEMM_WGT_FACTOR_OUT(in) + i1 * F_GEMM_WGT_FACTOR_IN(in)) & (WGT_DEPTH - 1);
        idx.write(t);
      }
    }
  }
}

static inline int32_t alu_lane(uint32_t op, int32_t a, int32_t b) {
  switch (op) {
    case 0: return a < b ? a : b;
    case 1: return a > b ? a : b;
    case 2: return int32_t(uint32_t(a) + uint32_t(b));
    case 3: return a >> (uint32_t(b) & 31);
    case 4: return int32_t(uint32_t(a) * uint32_t(b));
    default: return a;
  }
}

static void uop_execute(const insn_t& in, Buffers& m, hls::stream<idx_t>& idx, uint64_t n) {
  const bool gemm = (in.lo & 7) == 2;
  for (uint64_t it = 0; it < n; it++) {
#pragma HLS PIPELINE II=1
    const idx_t t = idx.read();
    for (uint32_t b = 0; b < BATCH; b++) {
      for (uint32_t o = 0; o < BLOCK_OUT; o++) {
        int32_t v;
        if (gemm) {
          if (F_GEMM_RESET(in)) {
            v = 0;
          } else {
            uint32_t sum = uint32_t(m.acc[t.a][b][o]);
            const uint32_t s = t.s & (INP_DEPTH - 1);
            for (uint32_t k = 0; k < BLOCK_IN; k++) sum += uint32_t(int32_t(m.inp[s][b][k]) * int32_t(m.wgt[t.w][o][k]));
            v = int32_t(sum);
          }
        } else {
          const int32_t rhs = F_ALU_USE_IMM(in) ? F_ALU_IMM(in) : m.acc[t.s & (ACC_DEPTH - 1)][b][o];
          v = alu_lane(F_ALU_ALU_OP(in), m.acc[t.a][b][o], rhs);
        }
        m.acc[t.a][b][o] = v;
        m.out[t.a][b][o] = int8_t(uint8_t(uint32_t(v) & 0xff));
      }
    }
  }
}

// GEMM and ALU: index generation and execution as a dataflow region.
static void uop_loop(const insn_t& in, Buffers& m) {
#pragma HLS DATAFLOW
  hls::stream<idx_t> idx("uop_indices");
  const uint64_t n = F_GEMM_UOP_END(in) > F_GEMM_UOP_BEGIN(in)
      ? uint64_t(F_GEMM_UOP_END(in) - F_GEMM_UOP_BEGIN(in)) * F_GEMM_ITER_OUT(in) * F_GEMM_ITER_IN(in) : 0;
  uop_indices(in, m.uop, idx);
  uop_execute(in, m, idx, n);
}

static void store_2d(const insn_t& in, Dram& dram, const Buffers& m) {
  for (uint32_t y = 0; y < F_STORE_Y_SIZE(in); y++) {
    for (uint32_t x = 0; x < F_STORE_X_SIZE(in); x++) {
#pragma HLS PIPELINE II=1
      const uint32_t idx = (F_STORE_SRAM_BASE(in) + y * F_STORE_X_SIZE(in) + x) & (ACC_DEPTH - 1);
      const uint32_t entry = F_STORE_DRAM_BASE(in) + y * F_STORE_X_STRIDE(in) + x;
      dram.write(uint32_t(entry << LOG2_OUT_BYTES), reinterpret_cast<const uint8_t*>(m.out[idx]), OUT_BYTES);
    }
  }
}

struct Machine {
  hls::stream<insn_t> load_q{"load_q", INSN_QUEUE_DEPTH}, compute_q{"compute_q", INSN_QUEUE_DEPTH}, store_q{"store_q", INSN_QUEUE_DEPTH};
  hls::stream<bool> l2c{"l2c"}, c2l{"c2l"}, c2s{"c2s"}, s2c{"s2c"};
  insn_t load_cur{}, compute_cur{}, store_cur{};
  bool load_busy = false, compute_busy = false, store_busy = false, finished = false;
  uint32_t pc = 0;
  uint64_t gemm_iterations = 0;
};

static inline bool flag(const insn_t& x, unsigned bit) { return (x.lo >> bit) & 1; }
constexpr unsigned POP_PREV = 3, POP_NEXT = 4, PUSH_PREV = 5, PUSH_NEXT = 6;

// Fetch: as many instructions as fit into their queues.
static bool fetch_step(Machine& s, Dram& dram, uint32_t base, uint32_t count) {
  bool progress = false;
  while (s.pc < count) {
    uint8_t raw[16];
    for (uint32_t i = 0; i < 16; i++) { const uint64_t a = uint64_t(base) + 16ull * s.pc + i; raw[i] = a < dram.size ? dram.bytes[a] : 0; }
    insn_t in;
    std::memcpy(&in.lo, raw, 8);
    std::memcpy(&in.hi, raw + 8, 8);
    const uint32_t op = in.lo & 7, mem = F_LOAD_MEM_TYPE(in);
    hls::stream<insn_t>& q = op == 0 && (mem == 1 || mem == 2) ? s.load_q : op == 1 ? s.store_q : s.compute_q;
    if (q.full()) break;
    q.write(in);
    s.pc++;
    progress = true;
  }
  return progress;
}

// A module takes its next instruction when idle, then runs it once its pops are available.
static bool take(hls::stream<insn_t>& q, insn_t& cur, bool& busy) {
  if (busy || q.empty()) return false;
  cur = q.read();
  busy = true;
  return true;
}

static bool load_step(Machine& s, Dram& dram, Buffers& m) {
  bool progress = take(s.load_q, s.load_cur, s.load_busy);
  const insn_t& in = s.load_cur;
  if (!s.load_busy || (flag(in, POP_NEXT) && s.c2l.empty())) return progress;
  if (flag(in, POP_NEXT)) s.c2l.read();
  if (F_LOAD_MEM_TYPE(in) == 2) load_2d(in, dram, reinterpret_cast<uint8_t*>(m.inp), INP_BYTES, LOG2_INP_BYTES, INP_DEPTH);
  else load_2d(in, dram, reinterpret_cast<uint8_t*>(m.wgt), WGT_BYTES, LOG2_WGT_BYTES, WGT_DEPTH);
  if (flag(in, PUSH_NEXT)) s.l2c.write(true);
  s.load_busy = false;
  return true;
}

static bool compute_step(Machine& s, Dram& dram, Buffers& m) {
  bool progress = take(s.compute_q, s.compute_cur, s.compute_busy);
  const insn_t& in = s.compute_cur;
  if (!s.compute_busy || (flag(in, POP_PREV) && s.l2c.empty()) || (flag(in, POP_NEXT) && s.s2c.empty())) return progress;
  if (flag(in, POP_PREV)) s.l2c.read();
  if (flag(in, POP_NEXT)) s.s2c.read();
  switch (in.lo & 7) {
    case 0:
      if (F_LOAD_MEM_TYPE(in) == 3) load_2d(in, dram, reinterpret_cast<uint8_t*>(m.acc), ACC_BYTES, LOG2_ACC_BYTES, ACC_DEPTH);
      else load_2d(in, dram, reinterpret_cast<uint8_t*>(m.uop), 4, 2, UOP_DEPTH);
      break;
    case 2: case 3:
      uop_loop(in, m);
      break;
    case 4:
      s.finished = true;
      break;
  }
  if (flag(in, PUSH_PREV)) s.c2l.write(true);
  if (flag(in, PUSH_NEXT)) s.c2s.write(true);
  s.compute_busy = false;
  return true;
}

static bool store_step(Machine& s, Dram& dram, Buffers& m) {
  bool progress = take(s.store_q, s.store_cur, s.store_busy);
  const insn_t& in = s.store_cur;
  if (!s.store_busy || (flag(in, POP_PREV) && s.c2s.empty())) return progress;
  if (flag(in, POP_PREV)) s.c2s.read();
  store_2d(in, dram, m);
  if (flag(in, PUSH_PREV)) s.s2c.write(true);
  s.store_busy = false;
  return true;
}

enum Status { OK = 0, DEADLOCK = 3 };

// The accelerator: runs \`insn_count\` instructions at byte \`insn_base\` of DRAM.
static Status vta(uint32_t insn_base, uint32_t insn_count, Dram& dram, Buffers& m) {
#pragma HLS INTERFACE m_axi port=dram offset=slave bundle=data
#pragma HLS ARRAY_PARTITION variable=m.inp complete dim=2
#pragma HLS ARRAY_PARTITION variable=m.inp complete dim=3
#pragma HLS ARRAY_PARTITION variable=m.wgt complete dim=2
#pragma HLS ARRAY_PARTITION variable=m.wgt complete dim=3
#pragma HLS ARRAY_PARTITION variable=m.acc complete dim=2
#pragma HLS ARRAY_PARTITION variable=m.acc complete dim=3
#pragma HLS ARRAY_PARTITION variable=m.out complete dim=2
#pragma HLS ARRAY_PARTITION variable=m.out complete dim=3
  Machine s;
  for (;;) {
    bool progress = fetch_step(s, dram, insn_base, insn_count);
    progress |= load_step(s, dram, m);
    progress |= compute_step(s, dram, m);
    progress |= store_step(s, dram, m);
    const bool drained = s.pc == insn_count && !s.load_busy && !s.compute_busy && !s.store_busy
                      && s.load_q.empty() && s.compute_q.empty() && s.store_q.empty();
    if (s.finished && drained) return OK;
    if (!progress) return DEADLOCK;
  }
}

}  // namespace vta
`;
}
