/** Every ONNX converter family; importing this registers them. */
import "./elementwise.ts";
import "./shape.ts";
import "./reduce.ts";
import "./nn.ts";
import "./einsum.ts";
import "./resize.ts";
import "./loss.ts";
import "./sequence.ts";
import "./indexing.ts";
import "./rnn.ts";
import "./training.ts";
import "./scan-loop.ts";
