// The few parts of tfjs-backend-webgpu's internals that the kernels here use, declared locally: the package is an
// optional dependency, so nothing here may import it (not even its types), and it exports neither WebGPUBackend's
// program API nor the WebGPUProgram interface from its entry point.
import type * as tf from '@tensorflow/tfjs';

/** One uniform value as runWebGPUProgram takes it: 1–4 numbers become i32 / vec2 / vec3 / vec4 in WGSL. */
export interface ProgramUniform {
  type: 'int32' | 'uint32' | 'float32';
  data: number[];
}

/**
 * What tfjs-backend-webgpu's makeShader and runWebGPUProgram read from a program (webgpu_program.ts, 4.22). The
 * generated shader declares `result` (the output), one `array<f32>` per variable name, and a `uniforms` struct with
 * NAN, INFINITY, `<name>Shape` / `<name>ShapeStrides` per input, outShape / outShapeStrides, then `uniforms` below.
 * Its entry point `_start` calls `main()` when dispatchLayout has y or z dimensions, else `main(getGlobalIndex())`.
 */
export interface WebGPUProgramLike {
  variableNames: string[];
  outputShape: number[];
  /** a prefix of the pipeline-cache key: everything getUserCode bakes in must show in it */
  shaderKey: string;
  dispatchLayout: { x: number[]; y?: number[]; z?: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms?: string;
  size?: boolean;
  getUserCode(): string;
}

/** The WebGPUBackend methods used here. */
export interface WebGPUBackendLike {
  runWebGPUProgram(
    program: WebGPUProgramLike,
    inputs: tf.TensorInfo[],
    outputDtype: tf.DataType,
    programDefinedUniform?: ProgramUniform[],
    output?: tf.TensorInfo,
  ): tf.TensorInfo;
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
  numDataIds(): number;
  device: { limits: { maxComputeWorkgroupsPerDimension: number; maxStorageBufferBindingSize: number } };
}
