/**
 * Run by host.test.ts in a child process with LATHE_CPU_ISA set: compiles a small graph
 * (matmul + bias + relu, and a blocked convolution) and prints its flags, vector width and
 * largest difference from the interpreter as one JSON line.
 */
import { compile } from "../../driver/compile.ts";
import { GraphBuilder } from "../../graph/builder.ts";
import { interpret } from "../../graph/interpret.ts";
import { Rng } from "../../../runtime/random.ts";
import { Tensor } from "../../../runtime/tensor.ts";
import { hostVectorBytes } from "./host.ts";

const rng = new Rng(7);
const rand = (n: number) => Float32Array.from({ length: n }, () => rng.uniform(-1, 1));
const b = new GraphBuilder();
const x = b.input("x", [5, 3, 12, 12]);
const w = b.constant("w", rand(8 * 3 * 3 * 3), [8, 3, 3, 3]);
const conv = b.op1("relu", [b.op1("conv2d", [x, w], { pads: [1, 1, 1, 1] })]);
const a = b.input("a", [37, 64]);
const m = b.constant("m", rand(64 * 40), [64, 40]);
const mm = b.op1("relu", [b.op1("matmul", [a, m])]);
const g = b.build([conv, mm]);

const compiled = await compile(g, "cpu");
const inputs = [rand(5 * 3 * 12 * 12), rand(37 * 64)];
const got = compiled.run([Tensor.fromArray(inputs[0]!, [5, 3, 12, 12], "f32"), Tensor.fromArray(inputs[1]!, [37, 64], "f32")]);
const want = interpret(g, [{ data: inputs[0]!, shape: [5, 3, 12, 12] }, { data: inputs[1]!, shape: [37, 64] }]).outputs;
let maxErr = 0;
got.forEach((t, k) => t.toArray().forEach((v, i) => { maxErr = Math.max(maxErr, Math.abs(v - want[k]!.data[i]!)); }));
console.log(JSON.stringify({ flags: compiled.flags, vectorBytes: hostVectorBytes(), maxErr, source: compiled.source }));
